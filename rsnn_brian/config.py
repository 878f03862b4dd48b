"""Training configuration: one frozen dataclass, each setting declared once.

Every field states its default, its help text, its section and its range in
one place (:func:`setting`); type checks, TOML files and the command line's
``rsnn-brian train`` flags all follow from that declaration, so a new setting
is one edit here. Sections: ``data``, ``network`` and ``neuron`` (the model),
``learning`` and ``variants`` (the learning rule and the authors'-code
variants), and ``run`` (execution knobs that do not change what is computed,
except float32 summation order: device, chunking, workers, checkpoints).

Defaults are the paper's Fashion-MNIST settings (docs/algorithm.md sections
5-6, the authors' logs): 784-400-R400-10, thresholds 20/20/15, tau_m 64 ms,
tau_s 8 ms, refractory 2 ms, dt 1 ms, T = 400 steps, Adam with eta_0 = 0.001,
weight regulariser on, boosting on, batch size 1.

Times are written with units (``"64 ms"``) and become steps in one place,
:mod:`rsnn_brian.units`; this module never imports Brian2. Presets live in
``rsnn_brian/presets/*.toml``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import tomllib
import typing
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

from .defaults import N_STEPS, NEURON_DEFAULTS
from .models import PER_LAYER, layer_neurons, per_layer_text
from .network import (
    LayerParams,
    lambdas_text,
    layer_params_in_steps,
    parse_architecture,
    parse_array_names,
    parse_lambdas,
)
from .units import parse_time

__all__ = ["TrainConfig", "setting", "load_preset", "load_config", "preset_names", "preset_description",
           "SECTIONS", "DATASETS", "DEVICES"]

#: Data sets the trainer knows (their inputs and classes: :mod:`rsnn_brian.data.registry`).
DATASETS = ("builtin", "fashion-mnist", "mnist", "fsdd", "ntidigits")
DEVICES = ("cpp_standalone", "runtime", "cuda_standalone", "numpy")
SECTIONS = ("data", "network", "neuron", "learning", "variants", "run")


def setting(default, section: str, help: str, *, choices=None, low=None, high=None, low_open=False,
            kind: str | None = None, flag: str | None = None):
    """A config field with its metadata: default, section, help, choices, range, kind.

    ``low``/``high`` bound numbers (``low_open``: strictly above ``low``);
    ``kind='time'`` marks a time with a unit; ``flag`` is the command-line
    flag when it is not ``--field-name``.
    """
    if section not in SECTIONS:
        raise ValueError(f"unknown section {section!r}")
    meta = dict(section=section, help=help, choices=choices, low=low, high=high, low_open=low_open,
                kind=kind, flag=flag)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; see each field's help (``rsnn-brian train --help``)."""

    # data
    dataset: str = setting("fashion-mnist", "data", "data set", choices=DATASETS)
    data_dir: str | None = setting(None, "data", "data directory (unset: $RSNN_BRIAN_DATA, else "
                                   "~/.cache/rsnn_brian/data)")
    train_limit: int | None = setting(None, "data", "use only N training samples (class-balanced)", low=1)
    test_limit: int | None = setting(None, "data", "use only N test samples (class-balanced)", low=1)
    redraw_inputs: bool = setting(False, "data", "draw new Bernoulli input trains every epoch (the authors "
                                  "draw them once)")
    split_kind: str = setting("official", "data", "fsdd split: 'official' (recordings 0-4 of each speaker and "
                              "digit are the test set) or 'speaker' (one speaker held out)",
                              choices=("official", "speaker"), flag="--split")
    held_out_speaker: str | None = setting(None, "data", "fsdd with split 'speaker': the test speaker "
                                           "(unset: theo)")
    # network (spec 1, 6)
    architecture: str = setting("784-400-R400-10", "network", "layer sizes, input first; R marks a recurrent "
                                "layer, the last is the output", flag="--arch")
    thresholds: tuple[float, ...] = setting((20.0, 20.0, 15.0), "network", "firing thresholds, one per layer "
                                            "with incoming weights (one value: all layers)", low=0, low_open=True)
    recurrent: str = setting("reservoir", "network", "recurrent connectivity: 'reservoir' (the authors' 3-D "
                             "grid) or 'all'", choices=("reservoir", "all"))
    # neuron (spec 1)
    # per layer (rsnn_brian.models.PER_LAYER): one value, or one per trained layer (commas or a TOML list)
    model: str = setting("exponential", "neuron", "neuron model per layer (spec 7): exponential (first-order "
                         "current), alpha, dual-exponential, or a registered model; comma-separated: one per layer")
    tau_m: str = setting(NEURON_DEFAULTS["tau_m"], "neuron", "membrane time constant (per layer: "
                         "comma-separated)", kind="time")
    tau_s: str = setting(NEURON_DEFAULTS["tau_s"], "neuron", "synaptic (decay) time constant (per layer: "
                         "comma-separated)", kind="time")
    tau_r: str = setting("2 ms", "neuron", "rise time constant of the dual-exponential model (per layer: "
                         "comma-separated)", kind="time")
    refractory: str = setting(NEURON_DEFAULTS["refractory"], "neuron", "refractory period (a whole number of "
                              "steps; per layer: comma-separated)", kind="time")
    dt: str = setting(NEURON_DEFAULTS["dt"], "neuron", "time step", kind="time")
    n_steps: int = setting(N_STEPS, "neuron", "steps per sample (T)", low=1)
    # learning (spec 5)
    epochs: int = setting(3, "learning", "epochs to train (with --resume: extend the run to this many)", low=1)
    batch_size: int = setting(1, "learning", "samples per weight update (the authors: 1)", low=1)
    lr: float = setting(0.001, "learning", "initial learning rate eta_0 (eta = eta_0/sqrt(epoch) from the "
                        "third epoch on)", low=0, low_open=True)
    gradient: str = setting("reference", "learning", "'reference' (the authors' rule) or 'exact' (the "
                            "linearised model's gradient)", choices=("reference", "exact"))
    regulariser: bool = setting(True, "learning", "the weight regulariser of spec 5")
    regulariser_lambda: float = setting(10.0, "learning", "the regulariser's lambda (spec 5: 10; 0 adds "
                                        "nothing)", low=0)
    regulariser_lambdas: str | None = setting(None, "learning", "per-array lambdas overriding "
                                              "--regulariser-lambda, e.g. 'ff1=0.1' or 'ff1=0.1,rec2=0' (arrays "
                                              "ff<k>, rec<k> for recurrent layer k; 0: none on that array)")
    boosting: bool = setting(True, "learning", "boost misclassified samples after each epoch")
    frozen: str | None = setting(None, "learning", "weight arrays held at their initial values, e.g. 'ff1' or "
                                 "'ff1,rec2' (what the other layers learn without them)")
    # variants of the authors' code (docs/investigations.md)
    effect_ratio: str = setting("brian2", "variants", "effect-ratio tables made in the network's own "
                                "discretisation ('brian2') or in the authors' update", choices=("brian2", "authors"))
    effect_ratio_files: str | None = setting(None, "variants", "effect-ratio tables read from text files of quartic "
                                             "rows (e.g. the authors' p_Tau_64_400.txt), one per layer with incoming "
                                             "weights, comma-separated; they replace --effect-ratio's tables")
    discretisation: str = setting("brian2", "variants", "how the neurons are stepped: 'brian2' (exact integration) "
                                  "or 'euler' (the authors' update: the current decays, then takes the spikes; v += "
                                  "I / tau_s), in the simulator, the S-PSPs and the tables; 'euler' needs device "
                                  "'numpy'", choices=("brian2", "euler"))
    silent_ratio: float = setting(0.0, "variants", "pre ratio where a neuron is silent: 0 (spec) or 0.5 (the "
                                  "authors' code)", low=0, high=1)
    recurrent_below: str = setting("spec", "variants", "error sent below a recurrent layer: 'spec' or "
                                   "'authors' (their Reservoir.cu order; needs gradient 'reference')",
                                   choices=("spec", "authors"))
    autapses: bool = setting(False, "variants", "recurrent layers may connect a neuron to itself (the authors' "
                             "grid loop; the spec: no)")
    reservoir_weights: str = setting("uniform", "variants", "initial reservoir weights: 'uniform' U(-1, 1) "
                                     "(spec) or 'dale' (+1 from excitatory, -1 from inhibitory neurons: the "
                                     "authors' first commit)", choices=("uniform", "dale"))
    # running (execution knobs)
    device: str = setting("cpp_standalone", "run", "simulator: Brian2 cpp_standalone, runtime, "
                          "cuda_standalone, or the NumPy reference", choices=DEVICES)
    samples_per_run: int | None = setting(None, "run", "with batch size 1: samples simulated back to back per "
                                          "Brian2 run (unset: 1; more pads training steps but speeds up "
                                          "the test pass)", low=1)
    workers: int = setting(1, "run", "cores per batch: Brian2 binaries started at once (cpp_standalone) and "
                           "gradient threads", low=1)
    seed: int = setting(0, "run", "random seed (weights, inputs, order)", low=0)
    checkpoint_every: int = setting(0, "run", "also checkpoint every N batches inside an epoch (0: at epoch "
                                    "ends only)", low=0)
    dask: str | None = setting(None, "run", "train on Dask: 'local:N' (N worker processes on this machine) or "
                               "'tcp://HOST:PORT' (a running scheduler); unset: in this process (docs/dask.md)")
    shares: int | None = setting(None, "run", "cut each batch into N shares whose gradients are summed in order "
                                 "(unset: 1, with --dask the worker count); the same N gives the same weights "
                                 "with or without Dask", low=1)
    engine_dtype: str = setting("float32", "run", "precision of the gradient engine's S-PSP products "
                                "(float64: bit-reproducible sums)", choices=("float32", "float64"))

    def __post_init__(self):
        hints = _hints()
        th = self.thresholds
        if isinstance(th, (int, float)) and not isinstance(th, bool):
            th = (th,)
        if isinstance(th, list):
            th = tuple(th)
        object.__setattr__(self, "thresholds", th)
        for name in PER_LAYER:                                # a TOML list of per-layer values
            object.__setattr__(self, name, per_layer_text(getattr(self, name)))
        if isinstance(self.regulariser_lambdas, dict):      # a TOML table: [learning.regulariser_lambdas]
            object.__setattr__(self, "regulariser_lambdas", lambdas_text(self.regulariser_lambdas))
        for name in ("frozen", "effect_ratio_files"):          # a TOML list of names or paths
            if isinstance(getattr(self, name), (list, tuple)):
                object.__setattr__(self, name, ",".join(map(str, getattr(self, name))))
        for f in fields(self):
            object.__setattr__(self, f.name, _check_field(f, hints[f.name], getattr(self, f.name)))
        if not parse_time(self.dt, "dt") > 0:
            raise ValueError(f"dt must be positive, got {self.dt!r}")
        if self.dask is not None and not re.fullmatch(r"local:[1-9]\d*|(tcp|tls)://\S+:\d+", self.dask):
            raise ValueError(f"dask must be 'local:N' (N >= 1) or 'tcp://HOST:PORT', got {self.dask!r}")
        if self.recurrent_below == "authors" and self.gradient != "reference":
            raise ValueError("recurrent_below = 'authors' reproduces the authors' code and needs "
                             "gradient = 'reference'")
        arch = parse_architecture(self.architecture)
        n_layers = len(arch.layers) - 1
        if isinstance(self.regulariser_lambdas, str):
            object.__setattr__(self, "regulariser_lambdas",
                               lambdas_text(parse_lambdas(self.regulariser_lambdas, arch)))
        if self.frozen is not None:
            object.__setattr__(self, "frozen", ",".join(parse_array_names(self.frozen, arch, "frozen")) or None)
        if self.reservoir_weights == "dale" and not (self.recurrent == "reservoir" and
                                                      any(s.kind == "recurrent" for s in arch.layers)):
            raise ValueError(f"reservoir_weights = 'dale' needs a reservoir layer (recurrent = 'reservoir' and an "
                             f"R layer); {self.architecture} with recurrent = {self.recurrent!r} has none")
        if self.discretisation == "euler" and self.device != "numpy":
            raise ValueError(f"discretisation = 'euler' steps the neurons in the NumPy simulator only (Brian2 "
                             f"integrates them exactly): set device = 'numpy', not {self.device!r}")
        if self.effect_ratio_files is not None and len(self.table_files()) != n_layers:
            raise ValueError(f"effect_ratio_files: {self.architecture} has {n_layers} layers with incoming weights, "
                             f"got {len(self.table_files())} files")
        if len(self.thresholds) == 1:
            object.__setattr__(self, "thresholds", self.thresholds * n_layers)
        elif len(self.thresholds) != n_layers:
            raise ValueError(f"thresholds: architecture {self.architecture} has {n_layers} layers with "
                             f"incoming weights, got {len(self.thresholds)} thresholds")
        layer_neurons(self, n_layers)                         # per-layer models and times, checked

    # -- conversions -------------------------------------------------------
    def replace(self, **changes) -> TrainConfig:
        """A copy with these fields changed (None values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["thresholds"] = list(self.thresholds)
        return d

    def section(self, name: str) -> dict:
        """The fields of one section (``data``, ``network``, ``neuron``, ``learning``, ``variants``, ``run``)."""
        if name not in SECTIONS:
            raise ValueError(f"unknown section {name!r}; sections: {', '.join(SECTIONS)}")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["section"] == name}

    @property
    def run_layout(self) -> int:
        """Samples per simulator run: the batch size, or ``samples_per_run`` (default 1) for batch size 1."""
        return self.batch_size if self.batch_size > 1 else (self.samples_per_run or 1)

    @property
    def dt_seconds(self) -> float:
        return parse_time(self.dt, "dt")

    def seconds(self, name: str) -> float:
        """A time setting (``tau_m``, ``tau_s``, ``tau_r``, ``refractory``, ``dt``) in seconds (one value for
        all layers; per-layer values: :meth:`layer_neurons`)."""
        vals = {parse_time(x, name) for x in str(getattr(self, name)).split(",")}
        if len(vals) != 1:
            raise ValueError(f"{name} differs between layers ({getattr(self, name)!r}); use layer_neurons()")
        return vals.pop()

    def layer_neurons(self) -> list[dict]:
        """Per trained layer: model name, tau_m, tau_s, refractory (seconds), v_th, constants (seconds)."""
        return layer_neurons(self, len(self.thresholds))

    def layer_params(self) -> list[LayerParams]:
        """Dimensionless per-layer neuron parameters in steps (the NumPy engine's units)."""
        return layer_params_in_steps(self.layer_neurons(), self.dt_seconds)

    def frozen_arrays(self) -> list[str]:
        """The names of the weight arrays held fixed (``frozen``), in the architecture's order."""
        return [] if self.frozen is None else self.frozen.split(",")

    def table_files(self) -> list[str]:
        """The paths of ``effect_ratio_files`` (empty when unset)."""
        return [] if self.effect_ratio_files is None else [p.strip() for p in self.effect_ratio_files.split(",")]

    def regulariser_lambdas_by_array(self) -> dict[str, float]:
        """The per-array lambda overrides (array name -> lambda); empty when none are set."""
        if self.regulariser_lambdas is None:
            return {}
        return parse_lambdas(self.regulariser_lambdas, parse_architecture(self.architecture))

    def to_toml(self) -> str:
        lines, section = [], None
        for f in fields(self):
            if f.metadata["section"] != section:
                section = f.metadata["section"]
                lines.append(f"# -- {section}")
            val = getattr(self, f.name)
            if val is not None:
                lines.append(f"{f.name} = {_toml_value(val)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> TrainConfig:
        """From flat keys, or from tables named after the sections (``[learning] lr = 0.002``)."""
        flat = {}
        for key, val in d.items():
            if key in SECTIONS and isinstance(val, dict):
                flat.update(val)
            else:
                flat[key] = val
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(flat) - known)
        if unknown:
            raise ValueError(f"{source}: unknown config keys {unknown}; known keys: {sorted(known)}")
        return cls(**flat)


@functools.cache
def _hints() -> dict:
    return typing.get_type_hints(TrainConfig)


def _check_field(f: dataclasses.Field, hint, val):
    """Type and range check of one field; returns the value in its canonical type."""
    name, meta = f.name, f.metadata
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if optional else hint
    if val is None:
        if optional:
            return None
        raise ValueError(f"{name} must be set (default {f.default!r})")
    if typing.get_origin(base) is tuple:
        if not isinstance(val, tuple) or not val:
            raise ValueError(f"{name} must be a list of numbers, got {val!r}")
        return tuple(_number(name, x, float, meta) for x in val)
    if base is bool:
        if not isinstance(val, bool):
            raise ValueError(f"{name} must be true or false, got {val!r}")
        return val
    if base in (int, float):
        return _number(name, val, base, meta)
    if not isinstance(val, str):
        raise ValueError(f"{name} must be a string, got {val!r}")
    if meta["choices"] and val not in meta["choices"]:
        raise ValueError(f"{name} must be one of {tuple(meta['choices'])}, got {val!r}")
    return val


def _number(name: str, val, typ, meta):
    if isinstance(val, bool) or not isinstance(val, (int, float)) or (typ is int and not isinstance(val, int)):
        what = "a whole number" if typ is int else "a number"
        raise ValueError(f"{name} must be {what}, got {val!r}")
    if not math.isfinite(val):
        raise ValueError(f"{name} must be finite, got {val!r}")
    low, high = meta["low"], meta["high"]
    if low is not None and (val <= low if meta["low_open"] else val < low):
        raise ValueError(f"{name} must be {'>' if meta['low_open'] else '>='} {low}, got {val!r}")
    if high is not None and val > high:
        raise ValueError(f"{name} must be <= {high}, got {val!r}")
    return typ(val)


def _toml_value(val) -> str:
    if isinstance(val, bool):
        return "true" if val else "false"
    if isinstance(val, (int, float)):
        return repr(val)
    if isinstance(val, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in val) + "]"
    return '"' + str(val).replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- presets and files --------------------------------------------------------------

def _preset_file(name: str):
    return resources.files("rsnn_brian.presets") / f"{name}.toml"


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("rsnn_brian.presets").iterdir()
                  if p.name.endswith(".toml"))


def preset_description(name: str) -> str:
    """The preset's leading comment block, as one paragraph."""
    lines = []
    for line in _preset_file(name).read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(x for x in lines if x)


def load_preset(name: str) -> TrainConfig:
    path = _preset_file(name)
    if not path.is_file():
        raise ValueError(f"unknown preset {name!r}; available: {', '.join(preset_names())}")
    return TrainConfig.from_dict(tomllib.loads(path.read_text()), source=f"preset {name}")


def load_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config file {path} is not valid TOML: {exc}") from None
    try:
        return TrainConfig.from_dict(data, source=str(path))
    except ValueError as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None

