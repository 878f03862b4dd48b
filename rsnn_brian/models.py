"""Neuron models as values: Brian2 equations and their linear system (spec section 7).

A :class:`NeuronModel` is the Brian2 text of a model (equations, ``on_pre``,
threshold, reset) together with what the engine needs from it, in plain
Python: the state variables (``v`` first), the coefficient matrix ``M`` of
``dX/dt = M X`` as expressions of the parameters (what Brian2's
``brian2.stateupdaters.exact.get_linear_system`` extracts from the
equations), the jump of every state variable per unit weight at a
presynaptic spike, and the variables the reset sets to 0. Nothing here
imports Brian2: a model written by a user is turned into a value by
:func:`rsnn_brian.brian.linear.linear_model` (Brian2's extraction, with the
checks of the supported family); the shipped models below are written out
and checked against that extraction by the tests.

The supported family (spec 7): constant coefficients, no constant drive,
synaptic input as jumps of state variables other than v, threshold
``v > v_th``, reset of v (and optionally other variables) to 0, v held
while refractory, v feeding no other variable, and no variable that is not
reset depending on one that is.

Coefficients are evaluated with every parameter in steps of dt (so ``M``
is per step): parameters must be times (or pure numbers).
"""

from __future__ import annotations

import ast
import hashlib
import math
import operator
from dataclasses import dataclass

import numpy as np

__all__ = ["NeuronModel", "EXPONENTIAL", "ALPHA", "DUAL_EXPONENTIAL", "SHIPPED", "get_model", "model_names",
           "register_model", "evaluate"]

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_FUNCS = {"exp": math.exp, "sqrt": math.sqrt, "log": math.log}


def evaluate(expr: str, values: dict) -> float:
    """The value of an arithmetic expression of named numbers (+ - * / **, exp, sqrt, log)."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id not in values:
                raise ValueError(f"coefficient {expr!r} uses {node.id!r}, which has no value")
            return float(values[node.id])
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return -ev(node.operand) if isinstance(node.op, ast.USub) else ev(node.operand)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS \
                and len(node.args) == 1:
            return _FUNCS[node.func.id](ev(node.args[0]))
        raise ValueError(f"coefficient {expr!r}: unsupported syntax {ast.dump(node)[:60]}")
    return ev(ast.parse(expr.strip(), mode="eval"))


def _names(expr: str) -> set:
    return {n.id for n in ast.walk(ast.parse(expr.strip(), mode="eval")) if isinstance(n, ast.Name)} - set(_FUNCS)


@dataclass(frozen=True)
class NeuronModel:
    """A linear neuron model: its Brian2 text and its linear system (see the module docstring).

    name : a label; also the model's name in configs once registered.
    equations, on_pre, threshold, reset : Brian2 strings (``on_pre`` of the Synapses, weight ``w``).
    states : state variables, v first.
    matrix : rows of ``M`` (one per state, in ``states`` order) as expressions of the parameters.
    jump : added to each state (per unit weight) at a presynaptic spike.
    reset_states : the variables the reset sets to 0 (v first).
    defaults : ``(name, time)`` default values of parameters other than tau_m and tau_s
        (times with units, e.g. ``("tau_r", "2 ms")``).
    """

    name: str
    equations: str
    on_pre: str
    states: tuple
    matrix: tuple
    jump: tuple
    reset_states: tuple = ("v",)
    threshold: str = "v > v_th"
    reset: str = "v = 0"
    defaults: tuple = ()

    def __post_init__(self):
        states = tuple(self.states)
        n = len(states)
        matrix = tuple(tuple(str(c) for c in row) for row in self.matrix)
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "matrix", matrix)
        object.__setattr__(self, "jump", tuple(float(x) for x in self.jump))
        object.__setattr__(self, "reset_states", tuple(self.reset_states))
        object.__setattr__(self, "defaults", tuple((str(k), str(v)) for k, v in dict(self.defaults).items()))
        where = f"model {self.name!r}"
        if not states or states[0] != "v":
            raise ValueError(f"{where}: the first state variable must be v, got {states}")
        if len(matrix) != n or any(len(row) != n for row in matrix) or len(self.jump) != n:
            raise ValueError(f"{where}: matrix must be {n} x {n} and jump {n} long (one per state)")
        if self.jump[0] != 0:
            raise ValueError(f"{where}: on_pre jumps v ({self.on_pre!r}); synaptic input must jump another "
                             "state variable (v jumps during refractoriness would break the reset)")
        if not any(self.jump):
            raise ValueError(f"{where}: on_pre jumps no state variable ({self.on_pre!r})")
        if "v" not in self.reset_states or any(s not in states for s in self.reset_states):
            raise ValueError(f"{where}: the reset must set v (and only state variables), got {self.reset_states}")
        for i in range(1, n):
            if matrix[i][0].strip() not in ("0", "0.0"):
                raise ValueError(f"{where}: v feeds d{states[i]}/dt (coefficient {matrix[i][0]!r}); models in "
                                 "which v drives another variable (adaptation) are not supported")
        reset = set(self.reset_states)
        for i in range(1, n):
            for j in range(1, n):
                if states[i] not in reset and states[j] in reset and matrix[i][j].strip() not in ("0", "0.0"):
                    raise ValueError(f"{where}: {states[i]} is not reset but depends on {states[j]}, which is "
                                     f"(coefficient {matrix[i][j]!r}); reset it too or not at all")

    @property
    def parameters(self) -> tuple:
        """The parameter names the coefficients use, sorted."""
        return tuple(sorted(set().union(*(_names(c) for row in self.matrix for c in row))))

    def generator(self, values: dict) -> np.ndarray:
        """``M`` per step: the coefficients with ``values`` (parameters in steps of dt)."""
        missing = [p for p in self.parameters if p not in values]
        if missing:
            raise ValueError(f"model {self.name!r} needs a value for {', '.join(missing)}")
        return np.array([[evaluate(c, values) for c in row] for row in self.matrix], dtype=np.float64)

    def propagator(self, values: dict) -> np.ndarray:
        """One-step propagator ``P = expm(M)`` (exact for any M, equal eigenvalues included)."""
        from scipy.linalg import expm
        P = expm(self.generator(values))
        if not np.all(np.isfinite(P)):
            raise ValueError(f"model {self.name!r}: the propagator is not finite with {values}")
        return P

    @property
    def reset_mask(self) -> np.ndarray:
        return np.array([s in self.reset_states for s in self.states])

    def tag(self) -> str:
        """A short digest of everything that determines the dynamics (part of cache keys)."""
        text = repr((self.states, self.matrix, self.jump, self.reset_states))
        return f"{self.name}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"


_V = "dv/dt = -v/tau_m + I/tau_s : 1 (unless refractory)\n"

#: Today's model (the default): first-order synaptic current, ``I(t) = w exp(-t/tau_s)``.
EXPONENTIAL = NeuronModel(
    "exponential", _V + "dI/dt = -I/tau_s : 1\n", "I_post += w", ("v", "I"),
    (("-1/tau_m", "1/tau_s"), ("0", "-1/tau_s")), (0.0, 1.0))
#: Alpha current ``I(t) = w (t/tau_s) exp(-t/tau_s)`` (same charge as the exponential one; any tau_m,
#: tau_m = tau_s included).
ALPHA = NeuronModel(
    "alpha", _V + "dI/dt = (x - I)/tau_s : 1\ndx/dt = -x/tau_s : 1\n", "x_post += w", ("v", "I", "x"),
    (("-1/tau_m", "1/tau_s", "0"), ("0", "-1/tau_s", "1/tau_s"), ("0", "0", "-1/tau_s")), (0.0, 0.0, 1.0))
#: Dual-exponential current: rise tau_r, decay tau_s (same charge; tau_r = tau_s is the alpha current).
DUAL_EXPONENTIAL = NeuronModel(
    "dual-exponential", _V + "dI/dt = x/tau_r - I/tau_s : 1\ndx/dt = -x/tau_r : 1\n", "x_post += w",
    ("v", "I", "x"), (("-1/tau_m", "1/tau_s", "0"), ("0", "-1/tau_s", "1/tau_r"), ("0", "0", "-1/tau_r")),
    (0.0, 0.0, 1.0), defaults=(("tau_r", "2 ms"),))

#: The shipped models by name.
SHIPPED = {m.name: m for m in (EXPONENTIAL, ALPHA, DUAL_EXPONENTIAL)}
_REGISTERED: dict = {}


def register_model(model: NeuronModel) -> NeuronModel:
    """Make a model known by its name to configs and the command line (in this process)."""
    if not isinstance(model, NeuronModel):
        raise TypeError(f"register_model needs a NeuronModel, got {type(model).__name__}")
    known = SHIPPED.get(model.name) or _REGISTERED.get(model.name)
    if known is not None and known != model:
        raise ValueError(f"a different model is already called {model.name!r}")
    _REGISTERED[model.name] = model
    return model


def model_names() -> tuple:
    """Names of the shipped and registered models."""
    return tuple(SHIPPED) + tuple(n for n in _REGISTERED if n not in SHIPPED)


def get_model(name) -> NeuronModel:
    """A model by name (shipped or registered), or the model itself."""
    if isinstance(name, NeuronModel):
        return name
    model = SHIPPED.get(name) or _REGISTERED.get(name)
    if model is None:
        raise ValueError(f"unknown neuron model {name!r}; known: {', '.join(model_names())} "
                         "(rsnn_brian.models.register_model adds one)")
    return model


# -- per-layer settings of a config (rsnn_brian.config.TrainConfig) ------------------------------

#: Config fields that take one value per trained layer (comma-separated or a TOML list; one value: all).
PER_LAYER = ("model", "tau_m", "tau_s", "tau_r", "refractory")


def per_layer_text(value) -> str:
    """A per-layer setting as one string (a TOML list becomes comma-separated)."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(x) for x in value)
    return value


def per_layer(text: str, name: str, n_layers: int) -> list[str]:
    """The values of a per-layer setting, one per trained layer."""
    parts = [x.strip() for x in str(text).split(",")]
    if any(not x for x in parts):
        raise ValueError(f"{name}: empty value in {text!r} (one value, or one per layer separated by commas)")
    if len(parts) == 1:
        return parts * n_layers
    if len(parts) != n_layers:
        raise ValueError(f"{name}: the architecture has {n_layers} layers with incoming weights, got "
                         f"{len(parts)} values ({text!r})")
    return parts


def layer_neurons(cfg, n_layers: int) -> list[dict]:
    """Each trained layer's model and times in seconds: keys model (a name), tau_m, tau_s, refractory,
    v_th and constants (the model's other parameters, ``tau_r`` from the config)."""
    from .units import parse_time, whole_steps
    dt = parse_time(cfg.dt, "dt")
    vals = {name: per_layer(getattr(cfg, name), name, n_layers) for name in PER_LAYER}
    out = []
    for k in range(n_layers):
        lay = {name: parse_time(vals[name][k], name) for name in PER_LAYER if name != "model"}
        for name in ("tau_m", "tau_s", "tau_r"):
            if not lay[name] > 0:
                raise ValueError(f"{name} must be positive, got {getattr(cfg, name)!r}")
        whole_steps(lay["refractory"], dt, "refractory")
        model = get_model(vals["model"][k])
        if model.name == "exponential" and abs(lay["tau_m"] - lay["tau_s"]) <= 1e-9 * lay["tau_m"]:
            raise ValueError(f"tau_m and tau_s must differ (the PSP kernel is singular), both are "
                             f"{vals['tau_m'][k]!r} (the alpha model allows equal ones)")
        consts = {p: parse_time(v, p) for p, v in model.defaults}
        if "tau_r" in model.parameters:
            consts["tau_r"] = lay["tau_r"]
        out.append(dict(model=model.name, tau_m=lay["tau_m"], tau_s=lay["tau_s"], refractory=lay["refractory"],
                        v_th=float(cfg.thresholds[k]), constants=consts))
    return out
