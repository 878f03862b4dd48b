"""The explorer's settings: one frozen value, checked, and turned into the trainer's objects.

:class:`ExploreParams` holds what the page's controls set. :meth:`~ExploreParams.problems`
says in words what is wrong with a setting (the page shows it and keeps its last good
plots); the conversions make the objects the trainer itself uses:

- :meth:`~ExploreParams.neuron_config`: the Brian2 :class:`~rsnn_brian.brian.model.NeuronConfig`;
- :meth:`~ExploreParams.layer_params`: the engine's :class:`~rsnn_brian.network.LayerParams` (steps);
- :meth:`~ExploreParams.train_config`: a :class:`~rsnn_brian.config.TrainConfig` (a preset with
  the explorer's neuron settings), whose :meth:`~rsnn_brian.config.TrainConfig.to_toml` is a
  valid ``rsnn-brian train --config`` file.

Presets are the package's own (``rsnn_brian/presets/*.toml``, read by
:func:`rsnn_brian.config.load_preset`): the paper's Fashion-MNIST settings (tau_m 64 ms,
thresholds 20/20/15, T 400) and its speech settings (tau_m 128 ms, thresholds 5, T 700).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..config import TrainConfig, load_preset, preset_names
from ..defaults import N_STEPS, NEURON_DEFAULTS
from ..network import LayerParams, parse_architecture
from ..units import parse_time

__all__ = ["ExploreParams", "ExploreInputError", "from_preset", "preset_choices", "DT_MS", "LIMITS"]

#: The time step of every simulation here (the trainer's default).
DT_MS = 1.0
#: Accepted ranges, (low, high) inclusive, of the settings that have one.
LIMITS = {"n_inputs": (1, 2000), "n_recurrent": (2, 1000), "n_steps": (10, 5000), "rate_hz": (0.0, 1000.0)}
_FIELD_TEXT = {"tau_m_ms": "tau_m", "tau_s_ms": "tau_s", "v_th": "threshold", "refractory_ms": "refractory period",
               "rate_hz": "input rate", "n_inputs": "number of inputs", "weight": "weight scale",
               "n_recurrent": "recurrent layer size", "density": "connection density",
               "inhibitory": "inhibitory fraction", "n_steps": "T", "seed": "seed"}


class ExploreInputError(ValueError):
    """A setting the explorer cannot simulate; the message says which and why."""


@dataclass(frozen=True)
class ExploreParams:
    """What the explorer's controls set.

    Neuron (as the trainer's, one threshold for the neuron and the recurrent layer):
    ``tau_m_ms``, ``tau_s_ms`` (< tau_m), ``v_th`` (> 0), ``refractory_ms`` (whole ms).
    Input: ``n_inputs`` Poisson trains of ``rate_hz`` each (Bernoulli per 1 ms step, as the
    trainer's rate encoder). ``weight``: every input synapse of the single neuron has this
    weight; the network's weights are U(0, 2 weight) with the sign of the presynaptic
    neuron (inhibitory neurons' outgoing synapses negative). Network: a recurrent layer of
    ``n_recurrent`` neurons wired like the authors' reservoir with ``density`` of all pairs
    connected and ``inhibitory`` of its neurons inhibitory, and an output layer of 10.
    ``n_steps``: T, steps of 1 ms. ``seed``: every random draw. ``preset``: the preset the
    TOML snippet starts from.
    """

    tau_m_ms: float = parse_time(NEURON_DEFAULTS["tau_m"]) / 1e-3
    tau_s_ms: float = parse_time(NEURON_DEFAULTS["tau_s"]) / 1e-3
    v_th: float = NEURON_DEFAULTS["v_th"]
    refractory_ms: float = parse_time(NEURON_DEFAULTS["refractory"]) / 1e-3
    rate_hz: float = 20.0
    n_inputs: int = 100
    weight: float = 0.5
    n_recurrent: int = 100
    density: float = 0.1
    inhibitory: float = 0.2
    n_steps: int = N_STEPS
    seed: int = 0
    preset: str = "fashion-mnist"

    # -- checks ------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Every reason these settings cannot be simulated, in words (empty: all good)."""
        out = []
        vals = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "preset"}
        for name, val in vals.items():
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
                out.append(f"{_FIELD_TEXT[name]} must be a finite number, got {val!r}")
        if out:
            return out
        if not self.v_th > 0:
            out.append(f"threshold must be > 0, got {self.v_th:g}")
        for name in ("tau_m_ms", "tau_s_ms"):
            if not getattr(self, name) > 0:
                out.append(f"{_FIELD_TEXT[name]} must be > 0 ms, got {getattr(self, name):g} ms")
        if self.tau_s_ms > 0 and self.tau_m_ms > 0 and not self.tau_s_ms < self.tau_m_ms:
            out.append(f"tau_s ({self.tau_s_ms:g} ms) must be shorter than tau_m ({self.tau_m_ms:g} ms): the "
                       "synaptic current decays faster than the membrane in the paper's model")
        if self.refractory_ms < 0 or abs(self.refractory_ms / DT_MS - round(self.refractory_ms / DT_MS)) > 1e-9:
            out.append(f"refractory period must be a whole number of {DT_MS:g} ms steps >= 0, "
                       f"got {self.refractory_ms:g} ms")
        lo, hi = LIMITS["rate_hz"]
        if not lo <= self.rate_hz <= hi:
            out.append(f"input rate must be between {lo:g} and {hi:g} Hz (at most one spike per "
                       f"{DT_MS:g} ms step), got {self.rate_hz:g} Hz")
        for name in ("n_inputs", "n_recurrent", "n_steps"):
            val, (lo, hi) = getattr(self, name), LIMITS[name]
            if val != int(val) or not lo <= val <= hi:
                out.append(f"{_FIELD_TEXT[name]} must be a whole number from {lo} to {hi}, got {val:g}")
        if self.weight < 0:
            out.append(f"weight scale must be >= 0, got {self.weight:g}")
        for name in ("density", "inhibitory"):
            if not 0 <= getattr(self, name) <= 1:
                out.append(f"{_FIELD_TEXT[name]} must be between 0 and 1, got {getattr(self, name):g}")
        if self.seed != int(self.seed) or self.seed < 0:
            out.append(f"seed must be a whole number >= 0, got {self.seed:g}")
        if self.preset not in preset_names():
            out.append(f"unknown preset {self.preset!r}; presets: {', '.join(preset_names())}")
        return out

    def check(self) -> ExploreParams:
        """Self, with whole numbers as int; :class:`ExploreInputError` listing every problem."""
        probs = self.problems()
        if probs:
            raise ExploreInputError("; ".join(probs))
        ints = {name: int(getattr(self, name)) for name in ("n_inputs", "n_recurrent", "n_steps", "seed")}
        floats = {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)
                  if f.name not in ints and f.name != "preset"}
        return dataclasses.replace(self, **ints, **floats)

    def replace(self, **changes) -> ExploreParams:
        return dataclasses.replace(self, **changes)

    # -- conversions --------------------------------------------------------------
    @property
    def refractory_steps(self) -> int:
        return int(round(self.refractory_ms / DT_MS))

    def layer_params(self) -> LayerParams:
        """The engine's dimensionless parameters, times in 1 ms steps."""
        return LayerParams(v_th=float(self.v_th), tau_m=self.tau_m_ms / DT_MS, tau_s=self.tau_s_ms / DT_MS,
                           refractory=self.refractory_steps)

    def neuron_config(self):
        """The Brian2 :class:`~rsnn_brian.brian.model.NeuronConfig` (imports Brian2)."""
        from brian2 import ms

        from ..brian.model import NeuronConfig
        return NeuronConfig(tau_m=self.tau_m_ms * ms, tau_s=self.tau_s_ms * ms, v_th=float(self.v_th),
                            refractory=self.refractory_steps * DT_MS * ms)

    def train_config(self) -> TrainConfig:
        """The preset with these neuron settings, T, seed and recurrent layer size.

        The preset's per-layer thresholds are scaled so that its first becomes ``v_th``
        (Fashion-MNIST 20/20/15 at ``v_th`` 20, 25/25/18.75 at 25). The input count, rate, weight
        scale, density and inhibitory fraction are the explorer's own: in training the data
        set, ``U(-1, 1)`` and the reservoir fix them.
        """
        base = load_preset(self.preset)
        arch = parse_architecture(base.architecture)
        tokens = [f"R{int(self.n_recurrent)}" if lay.kind == "recurrent" else str(lay.size) for lay in arch.layers]
        scale = float(self.v_th) / base.thresholds[0]
        return base.replace(architecture="-".join(tokens),
                            thresholds=tuple(round(t * scale, 6) for t in base.thresholds),
                            tau_m=f"{self.tau_m_ms:g} ms", tau_s=f"{self.tau_s_ms:g} ms",
                            refractory=f"{self.refractory_steps * DT_MS:g} ms", dt=f"{DT_MS:g} ms",
                            n_steps=int(self.n_steps), seed=int(self.seed))

    def toml(self) -> str:
        """A ``rsnn-brian train --config`` file of :meth:`train_config`, with a header."""
        head = (f"# rsnn-brian explore: preset {self.preset} with the explorer's neuron settings\n"
                "# rsnn-brian train --config explore.toml --out runs/explore\n")
        return head + self.train_config().to_toml()

    def equations(self) -> str:
        """The Brian2 model with these parameters, as the trainer builds every layer."""
        from ..brian.model import EQUATIONS, METHOD, ON_PRE, RESET, SYNAPSE_MODEL, THRESHOLD, layer_namespace
        cfg = self.neuron_config()
        ns = ", ".join(f"{k} = {v}" for k, v in layer_namespace(cfg).items())
        return (f"NeuronGroup(model='''{EQUATIONS.rstrip()}\n''',\n"
                f"            threshold='{THRESHOLD}', reset='{RESET}', method='{METHOD}',\n"
                f"            refractory={cfg.refractory})\n"
                f"namespace: {ns}\n"
                f"Synapses(model='{SYNAPSE_MODEL}', on_pre='{ON_PRE}')\n"
                f"dt = {DT_MS:g} ms, T = {int(self.n_steps)} steps")


def preset_choices() -> dict[str, str]:
    """{label: preset name} of every preset, the paper's first."""
    names = preset_names()
    first = [n for n in ("fashion-mnist", "fsdd") if n in names]
    labels = {"fashion-mnist": "Fashion-MNIST (paper)", "fsdd": "speech, FSDD (paper)"}
    return {labels.get(n, n): n for n in first + [n for n in names if n not in first]}


def from_preset(name: str, base: ExploreParams | None = None) -> ExploreParams:
    """``base`` (default settings if None) with the neuron settings and T of a preset.

    The threshold is the preset's first layer's (Fashion-MNIST 20, speech 5); the network's
    size, input and wiring stay those of ``base``.
    """
    cfg = load_preset(name)
    base = ExploreParams() if base is None else base
    ms = {name: round(cfg.seconds(name) * 1e3, 9) for name in ("tau_m", "tau_s", "refractory")}
    return base.replace(tau_m_ms=ms["tau_m"], tau_s_ms=ms["tau_s"], refractory_ms=ms["refractory"],
                        v_th=float(cfg.thresholds[0]),
                        n_steps=int(cfg.n_steps), preset=name)
