"""Network structure in plain NumPy: architectures, layer parameters, weights.

Everything here is dimensionless and in time steps of ``dt``; the Brian2 wing
converts physical units to these numbers in one place
(:mod:`rsnn_brian.brian.model`). Weight matrices are (n_post, n_pre)
everywhere.

Architecture strings follow the paper: ``784-400-R400-10`` is 784 inputs, a
feed-forward hidden layer of 400, a recurrent layer of 400 and an output
layer of 10 with fixed lateral inhibition.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from .defaults import NEURON_DEFAULTS
from .models import EXPONENTIAL, NeuronModel, get_model
from .units import parse_time, to_steps, whole_steps

__all__ = [
    "LayerSpec", "LayerParams", "LayerWeights", "Architecture", "NetworkWeights",
    "parse_architecture", "with_params", "layer_params_in_steps", "LATERAL_WEIGHT", "trained_array_names",
    "parse_array_names", "parse_lambdas", "lambdas_text",
]

#: Fixed lateral inhibition between output neurons (spec section 1).
LATERAL_WEIGHT = -1.0

_TOKEN = re.compile(r"^(R?)(\d+)$")


@dataclass(frozen=True)
class LayerSpec:
    """One layer: ``kind`` is 'input', 'hidden', 'recurrent' or 'output'."""

    size: int
    kind: str

    def __post_init__(self):
        if self.kind not in ("input", "hidden", "recurrent", "output"):
            raise ValueError(f"unknown layer kind {self.kind!r}")
        if int(self.size) != self.size or self.size < 1:
            raise ValueError(f"layer size must be a positive integer, got {self.size!r}")

    @property
    def token(self) -> str:
        return f"R{self.size}" if self.kind == "recurrent" else str(self.size)


@dataclass(frozen=True)
class Architecture:
    """The layers of a network, input first, output last."""

    layers: tuple[LayerSpec, ...]

    def __post_init__(self):
        layers = tuple(self.layers)
        object.__setattr__(self, "layers", layers)
        if len(layers) < 2:
            raise ValueError("an architecture needs at least an input and an output layer")
        if layers[0].kind != "input":
            raise ValueError("the first layer must be the input layer")
        if layers[-1].kind != "output":
            raise ValueError("the last layer must be the output layer")
        for lay in layers[1:-1]:
            if lay.kind not in ("hidden", "recurrent"):
                raise ValueError(f"a middle layer must be hidden or recurrent, got {lay.kind!r}")

    @classmethod
    def parse(cls, text: str) -> Architecture:
        return parse_architecture(text)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(lay.size for lay in self.layers)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].size

    @property
    def n_classes(self) -> int:
        return self.layers[-1].size

    @property
    def trained(self) -> tuple[LayerSpec, ...]:
        """The layers with incoming weights (all but the input)."""
        return self.layers[1:]

    def __str__(self) -> str:
        return "-".join(lay.token for lay in self.layers)


def parse_architecture(text: str) -> Architecture:
    """Parse the paper's notation, e.g. ``784-400-R400-10``.

    The first number is the input size, the last the number of classes
    (output layer with lateral inhibition); ``R`` marks a recurrent layer.
    """
    if not isinstance(text, str):
        raise TypeError(f"architecture must be a string like '784-400-R400-10', got {type(text).__name__}")
    tokens = [t.strip() for t in text.strip().split("-")]
    if len(tokens) < 2 or any(t == "" for t in tokens):
        raise ValueError(
            f"invalid architecture {text!r}: expected sizes separated by '-', "
            "e.g. '784-400-R400-10' (input, hidden layers, R = recurrent, output)")
    layers = []
    for k, tok in enumerate(tokens):
        m = _TOKEN.match(tok)
        if not m:
            raise ValueError(
                f"invalid architecture {text!r}: token {tok!r} is not a layer size "
                "(a positive integer, 'R' in front for a recurrent layer)")
        rec, size = m.group(1) == "R", int(m.group(2))
        if size < 1:
            raise ValueError(f"invalid architecture {text!r}: layer {k} has size 0")
        if k == 0 or k == len(tokens) - 1:
            if rec:
                where = "input" if k == 0 else "output"
                raise ValueError(f"invalid architecture {text!r}: the {where} layer cannot be recurrent")
            layers.append(LayerSpec(size, "input" if k == 0 else "output"))
        else:
            layers.append(LayerSpec(size, "recurrent" if rec else "hidden"))
    return Architecture(tuple(layers))


@dataclass(frozen=True)
class LayerParams:
    """Dimensionless neuron parameters of one layer, times in steps of dt.

    Defaults: :data:`rsnn_brian.defaults.NEURON_DEFAULTS` in steps of its dt
    (the paper's image settings, spec section 1: tau_m = 64 ms, tau_s = 8 ms,
    refractory 2 ms, dt = 1 ms). ``refractory`` counts the firing
    step, as in Brian2; how a discretisation steps the neuron with these
    numbers (propagators, held steps, PSP kernel) is
    :class:`rsnn_brian.engine.neuron.Discretisation`.

    ``model``: None for today's model in closed form (spec 2.2), or a
    :class:`rsnn_brian.models.NeuronModel` (or a shipped model's name),
    stepped by its matrix exponential (spec 7); ``constants``: the values (in
    steps) of the model's parameters other than tau_m and tau_s, e.g.
    ``{"tau_r": 2.0}``.
    """

    v_th: float = NEURON_DEFAULTS["v_th"]
    tau_m: float = to_steps(parse_time(NEURON_DEFAULTS["tau_m"]), parse_time(NEURON_DEFAULTS["dt"]))
    tau_s: float = to_steps(parse_time(NEURON_DEFAULTS["tau_s"]), parse_time(NEURON_DEFAULTS["dt"]))
    refractory: int = whole_steps(parse_time(NEURON_DEFAULTS["refractory"]), parse_time(NEURON_DEFAULTS["dt"]))
    model: NeuronModel | None = None
    constants: tuple = ()

    def __post_init__(self):
        for name in ("v_th", "tau_m", "tau_s"):
            val = getattr(self, name)
            if not (isinstance(val, (int, float, np.floating, np.integer)) and math.isfinite(val) and val > 0):
                raise ValueError(f"LayerParams.{name} must be a positive finite number, got {val!r}")
        if self.model is not None:
            object.__setattr__(self, "model", get_model(self.model))
        consts = tuple(sorted((str(k), float(v)) for k, v in dict(self.constants).items()))
        object.__setattr__(self, "constants", consts)
        for name, val in consts:
            if not (math.isfinite(val) and val > 0):
                raise ValueError(f"LayerParams.constants[{name!r}] must be a positive finite number, got {val!r}")
        if self.model is None and abs(self.tau_m - self.tau_s) < 1e-9 * self.tau_m:
            raise ValueError("LayerParams: tau_m and tau_s must differ in the closed form (the PSP kernel is "
                             "singular); model=rsnn_brian.models.EXPONENTIAL integrates equal ones exactly")
        if self.model is not None:
            missing = [p for p in self.model.parameters if p not in self.values()]
            if missing:
                raise ValueError(f"LayerParams: model {self.model.name!r} needs constants for {', '.join(missing)}")
        if int(self.refractory) != self.refractory or self.refractory < 0:
            raise ValueError("LayerParams.refractory must be a non-negative whole number of steps, "
                             f"got {self.refractory!r}")
        object.__setattr__(self, "refractory", int(self.refractory))

    def values(self) -> dict:
        """Every parameter value of the model, in steps: tau_m, tau_s and the constants."""
        return {"tau_m": float(self.tau_m), "tau_s": float(self.tau_s), **dict(self.constants)}

    @property
    def neuron_model(self) -> NeuronModel:
        """The model (the exponential one when ``model`` is None)."""
        return EXPONENTIAL if self.model is None else self.model

    def dynamics_key(self) -> tuple:
        """What determines the subthreshold dynamics and refractoriness (not the threshold)."""
        if self.model is None:
            return (self.tau_m, self.tau_s, self.refractory)
        return (self.tau_m, self.tau_s, self.refractory, self.model, self.constants)


# ---------------------------------------------------------------------------
# weights

@dataclass
class LayerWeights:
    """Incoming weights of one layer, all (n_post, n_pre).

    ``ff``: from the layer below. ``rec``: within the layer (recurrent
    synapses, or the fixed lateral inhibition of the output layer), zero
    where ``rec_mask`` is False. ``rec_trainable`` is False for lateral
    inhibition.
    """

    ff: np.ndarray
    rec: np.ndarray | None = None
    rec_mask: np.ndarray | None = None
    rec_trainable: bool = False

    def copy(self) -> LayerWeights:
        return LayerWeights(self.ff.copy(), None if self.rec is None else self.rec.copy(),
                            None if self.rec_mask is None else self.rec_mask.copy(), self.rec_trainable)


@dataclass
class NetworkWeights:
    """Weights of every non-input layer, bottom to top.

    ``allow_autapses``: recurrent layers may have self-connections (the
    authors' reservoir loop includes a == b); off by default (spec 1). The
    output layer's lateral inhibition never has them.
    """

    arch: Architecture
    layers: list[LayerWeights] = field(default_factory=list)
    allow_autapses: bool = False

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Check shapes, masks and finiteness; raise ValueError naming the problem."""
        arch = self.arch
        if len(self.layers) != len(arch.layers) - 1:
            raise ValueError(f"weights for {len(self.layers)} layers, architecture {arch} has "
                             f"{len(arch.layers) - 1} layers with incoming weights")
        for k, (lw, spec) in enumerate(zip(self.layers, arch.layers[1:]), start=1):
            n_pre = arch.layers[k - 1].size
            name = f"layer {k} ({spec.token})"
            if np.shape(lw.ff) != (spec.size, n_pre):
                raise ValueError(f"{name}: feed-forward weights must have shape (n_post, n_pre) = "
                                 f"({spec.size}, {n_pre}), got {np.shape(lw.ff)}")
            if not np.all(np.isfinite(lw.ff)):
                raise ValueError(f"{name}: feed-forward weights contain NaN or inf")
            needs_rec = spec.kind in ("recurrent", "output")
            if needs_rec:
                if lw.rec is None or lw.rec_mask is None:
                    raise ValueError(f"{name}: needs recurrent/lateral weights and a mask")
                if np.shape(lw.rec) != (spec.size, spec.size) or np.shape(lw.rec_mask) != (spec.size, spec.size):
                    raise ValueError(f"{name}: recurrent weights and mask must have shape "
                                     f"({spec.size}, {spec.size}), got {np.shape(lw.rec)} and {np.shape(lw.rec_mask)}")
                if not np.all(np.isfinite(lw.rec)):
                    raise ValueError(f"{name}: recurrent weights contain NaN or inf")
                if np.any(lw.rec[~lw.rec_mask] != 0):
                    raise ValueError(f"{name}: recurrent weights are non-zero where the mask has no synapse")
                if np.any(np.diag(lw.rec_mask)) and not (self.allow_autapses and spec.kind == "recurrent"):
                    raise ValueError(f"{name}: self-connections are not allowed"
                                     + ("" if spec.kind == "output" else " (allow_autapses is False)"))
            elif lw.rec is not None:
                raise ValueError(f"{name}: a feed-forward layer has no recurrent weights")

    def copy(self) -> NetworkWeights:
        return NetworkWeights(self.arch, [lw.copy() for lw in self.layers], self.allow_autapses)

    # flat views, for optimisers and checkpoints
    def trainable(self) -> dict[str, np.ndarray]:
        """The trainable arrays by name: ``ff1``, ``rec2``, ... (views, not copies)."""
        out = {}
        for k, lw in enumerate(self.layers, start=1):
            out[f"ff{k}"] = lw.ff
            if lw.rec is not None and lw.rec_trainable:
                out[f"rec{k}"] = lw.rec
        return out

    def trainable_masks(self) -> dict[str, np.ndarray]:
        """The existing synapses of each trainable recurrent array, by name (``rec2``, ...)."""
        return {f"rec{k}": lw.rec_mask for k, lw in enumerate(self.layers, start=1)
                if lw.rec is not None and lw.rec_trainable}

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every array by name (for ``np.savez``; load with :meth:`from_arrays`)."""
        out = {}
        for k, lw in enumerate(self.layers, start=1):
            out[f"ff{k}"] = lw.ff
            if lw.rec is not None:
                out[f"rec{k}"] = lw.rec
                out[f"mask{k}"] = lw.rec_mask
        return out

    @classmethod
    def from_arrays(cls, arch: Architecture, arrays, allow_autapses: bool = False) -> NetworkWeights:
        layers = []
        for k, spec in enumerate(arch.layers[1:], start=1):
            if f"ff{k}" not in arrays:
                raise ValueError(f"weights file lacks 'ff{k}' for architecture {arch}")
            ff = np.array(arrays[f"ff{k}"], dtype=np.float64)
            if spec.kind in ("recurrent", "output"):
                if f"rec{k}" not in arrays or f"mask{k}" not in arrays:
                    raise ValueError(f"weights file lacks 'rec{k}'/'mask{k}' for architecture {arch}")
                layers.append(LayerWeights(ff, np.array(arrays[f"rec{k}"], dtype=np.float64),
                                           np.array(arrays[f"mask{k}"], dtype=bool),
                                           spec.kind == "recurrent"))
            else:
                layers.append(LayerWeights(ff))
        return cls(arch, layers, allow_autapses)


def layer_params_in_steps(layers: list[dict], dt: float) -> list[LayerParams]:
    """LayerParams from :func:`rsnn_brian.models.layer_neurons` (seconds): today's exponential model
    is ``model=None`` (its closed form, spec 2.2), any other a NeuronModel (spec 7)."""
    out = []
    for lay in layers:
        model = None if lay["model"] == "exponential" else lay["model"]
        consts = {} if model is None else {k: to_steps(v, dt) for k, v in lay["constants"].items()}
        out.append(LayerParams(v_th=lay["v_th"], tau_m=to_steps(lay["tau_m"], dt), tau_s=to_steps(lay["tau_s"], dt),
                               refractory=whole_steps(lay["refractory"], dt, "refractory"), model=model,
                               constants=consts))
    return out


def with_params(params: list[LayerParams] | LayerParams, n_layers: int) -> list[LayerParams]:
    """Expand one LayerParams to every trained layer, or check a list's length."""
    if isinstance(params, LayerParams):
        return [params] * n_layers
    params = list(params)
    if len(params) != n_layers:
        raise ValueError(f"need LayerParams for {n_layers} layers, got {len(params)}")
    return params


def trained_array_names(arch) -> list[str]:
    """The trained weight arrays of ``arch``: ``ff<k>`` for every layer k with incoming weights, ``rec<k>``
    for every recurrent layer k."""
    n = len(arch.layers) - 1
    return [f"ff{k}" for k in range(1, n + 1)] + [f"rec{k}" for k in range(1, n + 1)
                                                  if arch.layers[k].kind == "recurrent"]


def parse_array_names(text: str, arch, what: str) -> list[str]:
    """``'ff1, rec2'`` -> ``['ff1', 'rec2']`` in ``arch``'s order, each a trained array of ``arch``."""
    names = trained_array_names(arch)
    given = [p.strip() for p in str(text).split(",") if p.strip()]
    for name in given:
        if name not in names:
            raise ValueError(f"{what}: {name!r} is not a trained array of {arch}; arrays: {', '.join(names)}")
    return [n for n in names if n in given]


def parse_lambdas(text: str, arch) -> dict[str, float]:
    """``'ff1=0.1,rec2=0'`` -> ``{'ff1': 0.1, 'rec2': 0.0}``, names checked against ``arch``."""
    names = trained_array_names(arch)
    out = {}
    for part in (p.strip() for p in text.split(",")):
        name, sep, value = (x.strip() for x in part.partition("="))
        if not sep or not name or not value:
            raise ValueError(f"regulariser_lambdas: write NAME=LAMBDA pairs separated by commas, got {text!r}")
        if name not in names:
            raise ValueError(f"regulariser_lambdas: {name!r} is not a trained array of {arch}; "
                             f"arrays: {', '.join(names)}")
        if name in out:
            raise ValueError(f"regulariser_lambdas: {name} is given twice in {text!r}")
        try:
            lam = float(value)
        except ValueError:
            raise ValueError(f"regulariser_lambdas: {name}'s lambda must be a number, got {value!r}") from None
        if not (math.isfinite(lam) and lam >= 0):
            raise ValueError(f"regulariser_lambdas: {name}'s lambda must be a number >= 0, got {value!r}")
        out[name] = lam
    return out


def lambdas_text(lambdas) -> str:
    """The canonical text of a name -> lambda mapping (or of a parsed text)."""
    items = lambdas.items() if isinstance(lambdas, dict) else lambdas
    parts = []
    for name, lam in items:
        if isinstance(lam, bool) or not isinstance(lam, (int, float, str)):
            raise ValueError(f"regulariser_lambdas: {name}'s lambda must be a number, got {lam!r}")
        parts.append(f"{name}={lam!r}" if not isinstance(lam, str) else f"{name}={lam}")
    return ",".join(parts)
