"""What every export shares: a recording with its network and samples, the extra's check, safe output paths.

:class:`NetworkRecording` is a :class:`~rsnn_brian.spikes.Recording` together with what it takes to
read it elsewhere: the architecture, dt, each layer's neuron parameters, the samples' labels and
predictions, the config and optionally the weights. The NWB, neo and ``.npz`` writers take one,
the readers return one. Nothing here imports pynwb, neo or Brian2.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import importlib
import math
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..engine.loss import predict
from ..network import Architecture, LayerParams, NetworkWeights, parse_architecture
from ..spikes import Recording

__all__ = ["NetworkRecording", "require", "layer_names", "model_strings", "check_output", "atomic_output",
           "EXTRA_HINT"]

EXTRA_HINT = "pip install rsnn_brian[nwb]"

#: Brian2 model strings of :mod:`rsnn_brian.brian.model`, read without importing Brian2.
_MODEL_NAMES = ("EQUATIONS", "THRESHOLD", "RESET", "METHOD", "SYNAPSE_MODEL", "ON_PRE")


def require(module: str, what: str = "NWB and neo export"):
    """Import an optional dependency, or raise a one-line ImportError naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{what} needs the package '{module}', which is not installed: {EXTRA_HINT}") from None


def layer_names(arch: Architecture) -> list[str]:
    """``input``, ``hidden1``, ``recurrent2``, ..., ``output``: one name per layer, input first."""
    out = []
    for k, spec in enumerate(arch.layers):
        out.append(spec.kind if spec.kind in ("input", "output") else f"{spec.kind}{k}")
    return out


def model_strings() -> dict[str, str]:
    """The Brian2 equations, threshold, reset (...) of :mod:`rsnn_brian.brian.model`, by name.

    Read from the module's source when they are plain strings there (no Brian2 import), else by
    importing the module.
    """
    source = Path(__file__).resolve().parents[1] / "brian" / "model.py"   # importing rsnn_brian.brian loads Brian2
    found = {}
    if source.is_file():
        tree = ast.parse(source.read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and node.targets[0].id in _MODEL_NAMES and isinstance(node.value, ast.Constant):
                found[node.targets[0].id] = str(node.value.value)
    if set(found) != set(_MODEL_NAMES):
        model = importlib.import_module("rsnn_brian.brian.model")
        found = {name: str(getattr(model, name)) for name in _MODEL_NAMES}
    return {name.lower(): found[name].strip() for name in _MODEL_NAMES}


def _optional_ints(x, n: int, what: str) -> np.ndarray | None:
    if x is None:
        return None
    arr = np.asarray(x)
    if arr.shape != (n,) or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"{what} must be {n} integers (one per sample), got shape {arr.shape} "
                         f"and dtype {arr.dtype}")
    return arr.astype(np.int64)


@dataclass(eq=False)
class NetworkRecording:
    """Every layer's spike trains for every sample, with the network and the samples they belong to.

    Parameters
    ----------
    recording : the spike trains; ``layers[0]`` the inputs
    architecture : the network, e.g. ``"20-15-R12-5"`` (its sizes must match the recording's)
    dt : the time step in seconds (spike time = step * dt)
    params : each layer's neuron parameters (one :class:`LayerParams` per layer with incoming
        weights, times in steps of dt), or None if unknown
    labels : class label per sample, or None
    predictions : predicted class per sample; default: the output neuron with most spikes
    sample_index : where each sample comes from (its index in its data split); default 0..B-1
    class_names : label k's name at position k
    config_toml : the run's config (``config.toml``), or ""
    weights : the network's weights, or None
    description : where the recording comes from (run, checkpoint, split)
    device : the simulator that recorded it
    start_time : when it was recorded (default: now)
    """

    recording: Recording
    architecture: str
    dt: float = 1e-3
    params: tuple[LayerParams, ...] | None = None
    labels: np.ndarray | None = None
    predictions: np.ndarray | None = None
    sample_index: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    config_toml: str = ""
    weights: NetworkWeights | None = field(default=None, repr=False)
    description: str = ""
    device: str = ""
    start_time: datetime.datetime | None = None

    def __post_init__(self):
        rec = self.recording
        if not isinstance(rec, Recording):
            raise TypeError(f"recording must be a rsnn_brian.spikes.Recording, got {type(rec).__name__}")
        arch = self.architecture
        arch = parse_architecture(arch) if isinstance(arch, str) else arch
        if not isinstance(arch, Architecture):
            raise TypeError(f"architecture must be a string like '20-15-R12-5', got {type(arch).__name__}")
        self.architecture = str(arch)
        if not rec.layers or not rec.layers[0]:
            raise ValueError("empty recording: it holds no samples (nothing to export)")
        if len(rec.layers) != len(arch.layers):
            raise ValueError(f"the recording has {len(rec.layers)} layers, architecture {arch} has "
                             f"{len(arch.layers)}")
        B, T = len(rec.layers[0]), rec.layers[0][0].n_steps
        if T < 1:
            raise ValueError("empty recording: its samples have 0 steps")
        for k, (lay, spec) in enumerate(zip(rec.layers, arch.layers)):
            if len(lay) != B:
                raise ValueError(f"layer {k} of the recording has {len(lay)} samples, layer 0 has {B}")
            for b, tr in enumerate(lay):
                if tr.n_neurons != spec.size or tr.n_steps != T:
                    raise ValueError(f"layer {k}, sample {b}: {tr.n_neurons} neurons x {tr.n_steps} steps, "
                                     f"expected {spec.size} x {T} (architecture {arch})")
        dt = float(self.dt)
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt must be a positive number of seconds, got {self.dt!r}")
        self.dt = dt
        if self.params is not None:
            self.params = tuple(self.params)
            if len(self.params) != len(arch.layers) - 1 or \
                    not all(isinstance(p, LayerParams) for p in self.params):
                raise ValueError(f"params must be {len(arch.layers) - 1} LayerParams (one per layer with "
                                 f"incoming weights), got {self.params!r}")
        self.labels = _optional_ints(self.labels, B, "labels")
        if self.predictions is None:
            self.predictions = predict(rec.counts(len(rec.layers) - 1))
        self.predictions = _optional_ints(self.predictions, B, "predictions")
        self.sample_index = _optional_ints(np.arange(B) if self.sample_index is None else self.sample_index,
                                           B, "sample_index")
        self.class_names = tuple(str(c) for c in self.class_names)
        if self.class_names and len(self.class_names) != arch.n_classes:
            raise ValueError(f"class_names: {len(self.class_names)} names for {arch.n_classes} output neurons")
        if self.weights is not None:
            if not isinstance(self.weights, NetworkWeights):
                raise TypeError(f"weights must be NetworkWeights, got {type(self.weights).__name__}")
            if str(self.weights.arch) != str(arch):
                raise ValueError(f"the weights are for {self.weights.arch}, the recording's network is {arch}")
        if self.start_time is None:
            self.start_time = datetime.datetime.now().astimezone()
        elif self.start_time.tzinfo is None:
            self.start_time = self.start_time.astimezone()

    @classmethod
    def from_config(cls, recording: Recording, cfg, **kw) -> NetworkRecording:
        """Architecture, dt, neuron parameters, config and device from a :class:`~rsnn_brian.config.TrainConfig`."""
        kw.setdefault("config_toml", cfg.to_toml())
        kw.setdefault("device", cfg.device)
        return cls(recording, cfg.architecture, dt=cfg.dt_seconds, params=tuple(cfg.layer_params()), **kw)

    # -- views ----------------------------------------------------------------------
    @property
    def arch(self) -> Architecture:
        return parse_architecture(self.architecture)

    @property
    def n_samples(self) -> int:
        return self.recording.batch_size

    @property
    def n_steps(self) -> int:
        return self.recording.n_steps

    @property
    def layer_names(self) -> list[str]:
        return layer_names(self.arch)

    @property
    def n_spikes(self) -> int:
        return sum(tr.n_spikes for lay in self.recording.layers for tr in lay)

    def rates(self, layer: int) -> np.ndarray:
        """Firing rates in Hz of one layer, (samples, neurons): counts / (T * dt)."""
        return self.recording.counts(layer) / (self.n_steps * self.dt)

    def select(self, indices) -> NetworkRecording:
        """The same with only these samples (positions 0..B-1), in this order."""
        idx = np.asarray(indices, np.int64)
        rec = Recording([[lay[int(b)] for b in idx] for lay in self.recording.layers])
        return dataclasses.replace(
            self, recording=rec, labels=None if self.labels is None else self.labels[idx],
            predictions=self.predictions[idx], sample_index=self.sample_index[idx])

    def summary(self) -> str:
        return (f"{self.n_samples} samples x {self.n_steps} steps of {self.dt * 1e3:g} ms, network "
                f"{self.architecture}, {self.n_spikes} spikes")


def check_output(path, force: bool = False) -> Path:
    """Refuse an output path in a missing folder, a folder, or an existing file without ``force``."""
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output folder {path.parent} does not exist (create it first)")
    if path.is_dir():
        raise IsADirectoryError(f"output {path} is a folder; give a file name")
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force (force=True) to overwrite it")
    return path


@contextmanager
def atomic_output(path, force: bool = False):
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on failure it is removed.

    The checks of :func:`check_output` come first, so that nothing is overwritten by mistake or
    by a write that fails half-way.
    """
    path = check_output(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)                  # writers create the file themselves
    try:
        yield tmp
        if path.exists() and not force:
            raise FileExistsError(f"{path} appeared while writing; pass --force (force=True) to overwrite it")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# -- spikes as flat event arrays ------------------------------------------------------

def layer_events(trains) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """One layer's trains of every sample as flat (sample, neuron, step, v) arrays.

    ``v`` is None unless every sample carries it.
    """
    sample = np.concatenate([np.full(tr.n_spikes, b, np.int64) for b, tr in enumerate(trains)])
    neuron = np.concatenate([tr.neuron for tr in trains])
    step = np.concatenate([tr.step for tr in trains])
    v = np.concatenate([tr.v for tr in trains]) if all(tr.v is not None for tr in trains) else None
    return sample, neuron, step, v


def trains_from_events(sample, neuron, step, v, n_samples: int, n_neurons: int, n_steps: int) -> list:
    """The inverse of :func:`layer_events`: one :class:`SpikeTrains` per sample."""
    from ..spikes import SpikeTrains
    sample = np.asarray(sample, np.int64)
    if sample.size and (sample.min() < 0 or sample.max() >= n_samples):
        raise ValueError(f"spikes of sample {sample.min()}..{sample.max()}, but there are {n_samples} samples")
    order = np.argsort(sample, kind="stable")
    bounds = np.searchsorted(sample[order], np.arange(n_samples + 1))
    out = []
    for b in range(n_samples):
        sel = order[bounds[b]:bounds[b + 1]]
        out.append(SpikeTrains(np.asarray(neuron)[sel], np.asarray(step)[sel], n_neurons, n_steps,
                               v=None if v is None else np.asarray(v, np.float64)[sel]))
    return out
