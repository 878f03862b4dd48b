"""The neuron model as Brian2 equations, and the one place units become steps.

The model of the spec (ALGORITHM.md, section 1): a leaky integrate-and-fire
neuron with a first-order synaptic current, all state dimensionless::

    tau_s dI/dt = -I                  (I += w at each presynaptic spike)
    dv/dt       = -v/tau_m + I/tau_s  (v held while refractory)
    spike when v > v_th; then v = 0 (I is not reset)

Neuron parameters come from the config's values with units, converted in
:mod:`rsnn_brian.units` (no Brian2 there); :func:`from_config` makes the
Brian2 quantities of every layer from those same numbers.

The equation strings below carry no numbers: ``tau_m``, ``tau_s`` and
``v_th`` come from a per-layer ``namespace`` dict built by
:func:`layer_namespace`, and the refractory period is the layer's Quantity.
This is today's model (the default, ``NeuronConfig(model=None)``), integrated
by Brian2's ``method='exact'``. Any other linear model is a
``NeuronConfig(model=...)``: a shipped one by name (``"alpha"``,
``"dual-exponential"``, :mod:`rsnn_brian.models`) or one written as Brian2
equations and turned into a model by :func:`linear_model`; the engine, the
reference simulator and the runner all derive its dynamics from the same
equations (spec 7).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from brian2 import Quantity, second
from brian2.units.fundamentalunits import get_dimensions

from ..defaults import NEURON_DEFAULTS
from ..models import NeuronModel, get_model
from ..network import LayerParams
from ..units import parse_time
from .linear import PropagatorUpdater, linear_model

__all__ = ["EQUATIONS", "THRESHOLD", "RESET", "METHOD", "SYNAPSE_MODEL", "ON_PRE",
           "NeuronConfig", "layer_namespace", "neuron_kwargs", "configs_for", "from_config", "DEFAULTS",
           "synapse_on_pre", "sample_reset", "linear_model"]

#: Membrane and synaptic current; v is held while refractory.
EQUATIONS = """
dv/dt = -v/tau_m + I/tau_s : 1 (unless refractory)
dI/dt = -I/tau_s : 1
"""
#: Spike condition and reset (I is not reset, spec section 1).
THRESHOLD = "v > v_th"
RESET = "v = 0"
#: Brian2 picks 'exact' for this linear system anyway; stated explicitly.
METHOD = "exact"
#: Synapses: a dimensionless weight added to the target's current, no delay.
SYNAPSE_MODEL = "w : 1"
ON_PRE = "I_post += w"


def _default_time(name: str) -> Quantity:
    return parse_time(NEURON_DEFAULTS[name], name) * second


def _check_time(name: str, value) -> Quantity:
    if not isinstance(value, Quantity) or get_dimensions(value) != get_dimensions(second):
        got = f"{value!r}" if not isinstance(value, Quantity) else f"{value} (dimensions {get_dimensions(value)})"
        raise ValueError(f"NeuronConfig.{name} must be a time Quantity such as 64*ms, got {got}")
    if value.size != 1:
        raise ValueError(f"NeuronConfig.{name} must be a scalar, got {value}")
    return value


@dataclass(frozen=True)
class NeuronConfig:
    """Neuron parameters of one layer, with units.

    Defaults: :data:`rsnn_brian.defaults.NEURON_DEFAULTS`, the paper's image
    settings (spec section 1 and table 6): tau_m = 64 ms (128 ms for speech),
    tau_s = 8 ms, v_th = 20 (5 to 20 per layer, table in section 6),
    refractory 2 ms.

    Parameters
    ----------
    tau_m, tau_s : time Quantity, > 0, different from each other
    v_th : float, > 0, dimensionless threshold
    refractory : time Quantity, >= 0
    """

    tau_m: Quantity = field(default_factory=lambda: _default_time("tau_m"))
    tau_s: Quantity = field(default_factory=lambda: _default_time("tau_s"))
    v_th: float = NEURON_DEFAULTS["v_th"]
    refractory: Quantity = field(default_factory=lambda: _default_time("refractory"))
    #: None: today's model (EQUATIONS, closed form); else a NeuronModel or a model's name (spec 7).
    model: NeuronModel | None = None
    #: Values of the model's other parameters, ``{"tau_r": 2*ms}``; missing ones take the model's defaults.
    constants: tuple = ()

    def __post_init__(self):
        for name in ("tau_m", "tau_s", "refractory"):
            _check_time(name, getattr(self, name))
        for name in ("tau_m", "tau_s"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"NeuronConfig.{name} must be positive, got {getattr(self, name)}")
        if float(self.refractory) < 0:
            raise ValueError(f"NeuronConfig.refractory must be >= 0, got {self.refractory}")
        if self.model is not None:
            object.__setattr__(self, "model", get_model(self.model))
            consts = {k: parse_time(v, k) * second for k, v in self.model.defaults}
            consts.update(dict(self.constants))
            for k, v in consts.items():
                _check_time(f"constants[{k!r}]", v)
            object.__setattr__(self, "constants", tuple(sorted(consts.items())))
        elif self.constants:
            raise ValueError("NeuronConfig.constants are parameters of a model; today's model (model=None) has none")
        if self.model is None and abs(float(self.tau_m) - float(self.tau_s)) <= 1e-9 * float(self.tau_m):
            raise ValueError("NeuronConfig: tau_m and tau_s must differ in the closed form (the PSP kernel is "
                             f"singular), both are {self.tau_m}; model='exponential' integrates equal ones exactly")
        v_th = self.v_th
        if isinstance(v_th, Quantity):
            if not v_th.is_dimensionless:
                raise ValueError(f"NeuronConfig.v_th is dimensionless (the model's v has unit 1), got {v_th}")
            v_th = float(v_th)
        try:
            v_th = float(v_th)
        except (TypeError, ValueError):
            raise ValueError(f"NeuronConfig.v_th must be a positive number, got {self.v_th!r}") from None
        if not v_th > 0 or v_th == float("inf"):
            raise ValueError(f"NeuronConfig.v_th must be a positive finite number, got {self.v_th!r}")
        object.__setattr__(self, "v_th", v_th)

    def refractory_steps(self, dt: Quantity) -> int:
        """The refractory period in whole steps of dt (error if not a multiple)."""
        dt = _check_dt(dt)
        r = float(self.refractory / dt)
        if abs(r - round(r)) > 1e-9:
            raise ValueError(f"NeuronConfig.refractory ({self.refractory}) must be a whole number of "
                             f"time steps (dt = {dt})")
        return int(round(r))

    def to_params(self, dt: Quantity) -> LayerParams:
        """The dimensionless :class:`~rsnn_brian.network.LayerParams` in steps of dt."""
        dt = _check_dt(dt)
        return LayerParams(v_th=self.v_th, tau_m=float(self.tau_m / dt), tau_s=float(self.tau_s / dt),
                           refractory=self.refractory_steps(dt), model=self.model,
                           constants={k: float(v / dt) for k, v in self.constants})

    @classmethod
    def from_params(cls, p: LayerParams, dt: Quantity) -> NeuronConfig:
        """Inverse of :meth:`to_params`."""
        dt = _check_dt(dt)
        return cls(tau_m=p.tau_m * dt, tau_s=p.tau_s * dt, v_th=p.v_th, refractory=p.refractory * dt,
                   model=p.model, constants=tuple((k, v * dt) for k, v in p.constants))


#: The defaults, one instance.
DEFAULTS = NeuronConfig()


def _check_dt(dt) -> Quantity:
    if not isinstance(dt, Quantity) or get_dimensions(dt) != get_dimensions(second):
        raise ValueError(f"dt must be a time Quantity such as 1*ms, got {dt!r}")
    if not float(dt) > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    return dt


def configs_for(neuron_configs, n_layers: int) -> list[NeuronConfig]:
    """One NeuronConfig per trained layer: a single config is repeated,
    a sequence must have one entry per layer (per-layer overrides), None
    gives the defaults."""
    if neuron_configs is None:
        return [DEFAULTS] * n_layers
    if isinstance(neuron_configs, NeuronConfig):
        return [neuron_configs] * n_layers
    cfgs = list(neuron_configs)
    if len(cfgs) != n_layers:
        raise ValueError(f"need one NeuronConfig per layer with incoming weights ({n_layers}), got {len(cfgs)}")
    for k, c in enumerate(cfgs, start=1):
        if not isinstance(c, NeuronConfig):
            raise TypeError(f"neuron config of layer {k} is a {type(c).__name__}, expected NeuronConfig")
    return cfgs


def from_config(cfg) -> tuple[list[NeuronConfig], Quantity]:
    """The Brian2 neuron parameters of a :class:`~rsnn_brian.config.TrainConfig`.

    Returns ``(neuron_configs, dt)``: one :class:`NeuronConfig` per layer with
    incoming weights and the time step, as Brian2 quantities made from the
    config's values through :mod:`rsnn_brian.units` (so that the engine's
    steps, ``cfg.layer_params()``, and Brian2's quantities are the same numbers).
    Per-layer models and times: :meth:`TrainConfig.layer_neurons`.
    """
    configs = []
    for lay in cfg.layer_neurons():
        model = None if lay["model"] == "exponential" else lay["model"]
        consts = () if model is None else tuple((k, v * second) for k, v in lay["constants"].items())
        configs.append(NeuronConfig(tau_m=lay["tau_m"] * second, tau_s=lay["tau_s"] * second, v_th=lay["v_th"],
                                    refractory=lay["refractory"] * second, model=model, constants=consts))
    return configs, cfg.dt_seconds * second


def layer_namespace(cfg: NeuronConfig) -> dict:
    """The explicit namespace of one layer's NeuronGroup."""
    return {"tau_m": cfg.tau_m, "tau_s": cfg.tau_s, "v_th": cfg.v_th, **dict(cfg.constants)}


def neuron_kwargs(cfg: NeuronConfig) -> dict:
    """Keyword arguments of ``NeuronGroup`` for one layer (all but N and name).

    Today's model: :data:`EQUATIONS` with Brian2's ``method='exact'``. Any other
    model: its equations stepped by ``expm(M dt)`` (:class:`.linear.PropagatorUpdater`, spec 7).
    """
    if cfg.model is None:
        return dict(model=EQUATIONS, threshold=THRESHOLD, reset=RESET, refractory=cfg.refractory,
                    method=METHOD, namespace=layer_namespace(cfg))
    m = cfg.model
    return dict(model=m.equations, threshold=m.threshold, reset=m.reset, refractory=cfg.refractory,
                method=PropagatorUpdater(m, cfg), namespace=layer_namespace(cfg))


def synapse_on_pre(cfg: NeuronConfig) -> str:
    """``on_pre`` of the synapses onto a layer with this config."""
    return ON_PRE if cfg.model is None else cfg.model.on_pre


def sample_reset(cfg: NeuronConfig) -> str:
    """The code that puts a layer at rest at every sample boundary (every state variable to 0)."""
    states = ("v", "I") if cfg.model is None else cfg.model.states
    return "\n".join([f"{s} = 0" for s in states] + ["lastspike = never", "not_refractory = True"])
