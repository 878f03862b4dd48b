"""Training configuration: one frozen dataclass, all defaults in one place, TOML files.

Defaults are the paper's Fashion-MNIST settings (ALGORITHM.md sections 5-6,
the authors' logs): 784-400-R400-10, thresholds 20/20/15, tau_m 64 ms,
tau_s 8 ms, refractory 2 ms, dt 1 ms, T = 400 steps, Adam with eta_0 =
0.001, weight regulariser on, boosting on, batch size 1.

Times are written with units, as strings Brian2 understands ("64 ms"); they
are converted to steps in one place, :mod:`rsnn_brian.brian.model`.
Presets live in ``rsnn_brian/presets/*.toml``.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

__all__ = ["TrainConfig", "parse_quantity", "load_preset", "load_config", "preset_names", "DATASETS", "DEVICES"]

DATASETS = ("builtin", "fashion-mnist", "mnist", "fsdd")
DEVICES = ("cpp_standalone", "runtime", "cuda_standalone", "numpy")
GRADIENTS = ("reference", "exact")


@dataclass(frozen=True)
class TrainConfig:
    # data
    dataset: str = "fashion-mnist"
    data_dir: str | None = None            # None: $RSNN_BRIAN_DATA, else ~/.cache/rsnn_brian/data
    train_limit: int | None = None         # use the first N training samples (stratified subsets: see data)
    test_limit: int | None = None
    redraw_inputs: bool = False            # authors: Bernoulli trains drawn once and reused every epoch
    split_kind: str = "official"           # fsdd: 'official' (recordings 0-4 test) or 'speaker' (one held out)
    held_out_speaker: str | None = None    # fsdd, split_kind 'speaker' (default: theo)
    # network (spec 1, 6)
    architecture: str = "784-400-R400-10"
    thresholds: tuple[float, ...] = (20.0, 20.0, 15.0)   # one per layer with incoming weights
    tau_m: str = "64 ms"
    tau_s: str = "8 ms"
    refractory: str = "2 ms"
    dt: str = "1 ms"
    n_steps: int = 400
    recurrent: str = "reservoir"           # 'reservoir' (authors' 3-D grid) or 'all'
    # learning (spec 5)
    epochs: int = 3
    batch_size: int = 1                    # authors: 1
    lr: float = 0.001                      # eta_0; eta = eta_0 / sqrt(epoch), epochs 0, 1 at eta_0
    gradient: str = "reference"            # 'reference' (authors' code) or 'exact'
    effect_ratio: str = "brian2"           # effect-ratio tables: 'brian2' (this simulator's discretisation) or 'authors'
    silent_ratio: float = 0.0              # pre ratio R where a count is 0: 0 (spec) or 0.5 (authors' code)
    recurrent_below: str = "spec"          # error below a recurrent layer: 'spec' or 'authors' (Reservoir.cu's order)
    regulariser: bool = True               # images only in the paper
    regulariser_lambda: float = 10.0       # lambda of the regulariser (spec 5: 10); used when regulariser is on
    boosting: bool = True
    # running
    device: str = "cpp_standalone"
    # samples simulated back to back per Brian2 run when batch_size is 1 (unset: 1, so that a
    # training step simulates one sample, not one padded to a longer run); larger batches use
    # the batch size
    samples_per_run: int | None = None
    workers: int = 1                       # cores per batch: Brian2 binaries at once and backward threads
    seed: int = 0
    checkpoint_every: int = 0              # also checkpoint every N batches inside an epoch (0: epoch ends only)

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        from .engine.effect_ratio import DISCRETISATIONS
        if self.effect_ratio not in DISCRETISATIONS:
            raise ValueError(f"effect_ratio must be one of {DISCRETISATIONS}, got {self.effect_ratio!r}")
        if self.gradient not in GRADIENTS:
            raise ValueError(f"gradient must be one of {GRADIENTS}, got {self.gradient!r}")
        if self.split_kind not in ("official", "speaker"):
            raise ValueError(f"split_kind must be 'official' or 'speaker', got {self.split_kind!r}")
        if self.recurrent not in ("reservoir", "all"):
            raise ValueError(f"recurrent must be 'reservoir' or 'all', got {self.recurrent!r}")
        th = self.thresholds
        if isinstance(th, (int, float)):
            th = (float(th),)
        object.__setattr__(self, "thresholds", tuple(float(x) for x in th))
        for name in ("epochs", "batch_size", "n_steps", "workers"):
            val = getattr(self, name)
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f"{name} must be a positive integer, got {val!r}")
        for name in ("train_limit", "test_limit", "samples_per_run"):
            val = getattr(self, name)
            if val is not None and (not isinstance(val, int) or val < 1):
                raise ValueError(f"{name} must be a positive integer or unset, got {val!r}")
        if not (isinstance(self.silent_ratio, (int, float)) and not isinstance(self.silent_ratio, bool)
                and 0 <= self.silent_ratio < float("inf")):
            raise ValueError(f"silent_ratio must be a number >= 0 (0: spec, 0.5: authors' code), got {self.silent_ratio!r}")
        object.__setattr__(self, "silent_ratio", float(self.silent_ratio))
        if self.recurrent_below not in ("spec", "authors"):
            raise ValueError(f"recurrent_below must be 'spec' or 'authors', got {self.recurrent_below!r}")
        if self.recurrent_below == "authors" and self.gradient != "reference":
            raise ValueError("recurrent_below = 'authors' reproduces the authors' code and needs gradient = 'reference'")
        lam = self.regulariser_lambda
        if not (isinstance(lam, (int, float)) and not isinstance(lam, bool) and 0 <= lam < float("inf")):
            raise ValueError(f"regulariser_lambda must be a finite number >= 0 (spec: 10), got {lam!r}")
        object.__setattr__(self, "regulariser_lambda", float(lam))
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        from .network import parse_architecture
        arch = parse_architecture(self.architecture)
        n_layers = len(arch.layers) - 1
        if len(self.thresholds) == 1:
            object.__setattr__(self, "thresholds", self.thresholds * n_layers)
        elif len(self.thresholds) != n_layers:
            raise ValueError(f"thresholds: architecture {self.architecture} has {n_layers} layers with "
                             f"incoming weights, got {len(self.thresholds)} thresholds")

    # -- conversions -------------------------------------------------------
    def replace(self, **changes) -> "TrainConfig":
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["thresholds"] = list(self.thresholds)
        return d

    @property
    def run_layout(self) -> int:
        """Samples per simulator run: the batch size, or ``samples_per_run`` (default 1) for batch size 1."""
        return self.batch_size if self.batch_size > 1 else (self.samples_per_run or 1)

    def to_toml(self) -> str:
        lines = []
        for f in fields(self):
            val = getattr(self, f.name)
            if val is None:
                continue
            lines.append(f"{f.name} = {_toml_value(val)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; known keys: {sorted(known)}")
        d = dict(d)
        if "thresholds" in d and isinstance(d["thresholds"], list):
            d["thresholds"] = tuple(d["thresholds"])
        return cls(**d)

    def neuron_configs(self):
        """One Brian2 NeuronConfig per layer with incoming weights (imports brian2)."""
        from .brian.model import NeuronConfig
        tm, ts, ref = (parse_quantity(x, name) for x, name in
                       ((self.tau_m, "tau_m"), (self.tau_s, "tau_s"), (self.refractory, "refractory")))
        return [NeuronConfig(tau_m=tm, tau_s=ts, v_th=th, refractory=ref) for th in self.thresholds]

    def layer_params(self):
        """Dimensionless per-layer parameters in steps (imports brian2 for the units)."""
        dt = parse_quantity(self.dt, "dt")
        return [nc.to_params(dt) for nc in self.neuron_configs()]


_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*([A-Za-z]+)\s*$")


def parse_quantity(text, name: str = "value"):
    """``"64 ms"`` or ``"64*ms"`` -> a Brian2 Quantity (imports brian2)."""
    import brian2.units as allunits
    from brian2.units.fundamentalunits import Quantity
    if isinstance(text, Quantity):
        return text
    m = _QUANTITY.match(str(text))
    unit = getattr(allunits, m.group(2), None) if m else None
    if unit is None:
        raise ValueError(f"{name}: cannot read {text!r} as a quantity with a unit; write e.g. '64 ms'")
    return float(m.group(1)) * unit


def _toml_value(val) -> str:
    if isinstance(val, bool):
        return "true" if val else "false"
    if isinstance(val, (int, float)):
        return repr(val)
    if isinstance(val, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in val) + "]"
    return '"' + str(val).replace("\\", "\\\\").replace('"', '\\"') + '"'


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("rsnn_brian.presets").iterdir()
                  if p.name.endswith(".toml"))


def load_preset(name: str) -> TrainConfig:
    path = resources.files("rsnn_brian.presets") / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"unknown preset {name!r}; available: {', '.join(preset_names())}")
    return TrainConfig.from_dict(tomllib.loads(path.read_text()))


def load_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config file {path} is not valid TOML: {exc}") from None
    return TrainConfig.from_dict(data)

