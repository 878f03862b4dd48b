"""A run directory's views as data: learning curves, weights, one test sample through the network.

A run directory is what ``rsnn-brian train`` writes (:mod:`rsnn_brian.training.rundir`):
``config.toml``, ``metrics.csv`` (``epoch`` from 1, ``train_accuracy``, ``test_accuracy``)
and ``checkpoints/latest.npz``. :func:`open_run` reads it or says in words why it cannot;
the functions below turn it into tidy frames. :class:`SampleSimulator` runs one test sample
with the run's weights through the trainer's own Brian2 :class:`~rsnn_brian.brian.runner.Runner`
(device ``runtime``, whatever device the run trained on; built once per run and kept).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import TrainConfig
from ..network import NetworkWeights
from .model import BRIAN_LOCK

__all__ = ["RunData", "RunError", "open_run", "learning_curves", "weight_histograms", "receptive_fields",
           "SampleActivity", "SampleSimulator", "AUTHORS_EPOCHS_SHOWN"]

#: The authors' curve is shown for at least this many epochs (their logs hold hundreds).
AUTHORS_EPOCHS_SHOWN = 10


class RunError(ValueError):
    """The folder is not a run directory, or a part of it cannot be read; the message says which."""


@dataclass
class RunData:
    """A run directory, read: its config, metrics (one row per epoch), latest weights."""

    path: Path
    cfg: TrainConfig
    metrics: pd.DataFrame
    weights: NetworkWeights
    state: dict
    checkpoint: Path

    @property
    def epochs_done(self) -> int:
        return int(self.state.get("epoch", len(self.metrics)))


def open_run(path) -> RunData:
    """Read a run directory; :class:`RunError` saying why if it is none."""
    from ..training.checkpoint import find_checkpoint, load_checkpoint
    from ..training.rundir import RunDir
    if path is None or not str(path).strip():
        raise RunError("give the path of a run directory (written by rsnn-brian train)")
    p = Path(str(path).strip()).expanduser()
    if not p.exists():
        raise RunError(f"{p} does not exist")
    if not p.is_dir():
        raise RunError(f"{p} is a file, not a run directory")
    rd = RunDir(p)
    if not rd.has_run():
        raise RunError(f"{p} is not a run directory: it has no config.toml (rsnn-brian train writes one)")
    try:
        cfg = rd.load_config()
        metrics = rd.read_metrics()
        ck = find_checkpoint(p)
        weights, _, state = load_checkpoint(ck)
    except (OSError, ValueError) as exc:
        raise RunError(f"{p}: {exc}") from None
    if str(weights.arch) != cfg.architecture.replace(" ", ""):
        raise RunError(f"{ck} holds weights of {weights.arch}, the run's config says {cfg.architecture}")
    return RunData(p, cfg, metrics, weights, state, ck)


def learning_curves(run: RunData) -> pd.DataFrame:
    """Train and test accuracy (%) per epoch trained, the run's and the authors' where comparable.

    Columns: source ('this run' or the authors' label), split ('train'/'test'), epoch (epochs
    trained, from 1), accuracy. The authors' curve (:func:`rsnn_brian.plotting.authors_curve`,
    0-based in their logs) is cut to ``max(epochs of the run, AUTHORS_EPOCHS_SHOWN)`` epochs.
    """
    from ..plotting import authors_curve, epochs_trained
    frames = []
    m = run.metrics
    if len(m) and {"train_accuracy", "test_accuracy"} <= set(m.columns):
        ep = epochs_trained(m).to_numpy()
        for split in ("train", "test"):
            frames.append(pd.DataFrame({"source": "this run", "split": split, "epoch": ep,
                                        "accuracy": m[f"{split}_accuracy"].to_numpy(dtype=float)}))
    ref = authors_curve(run.cfg.dataset, run.cfg.architecture)
    if ref is not None:
        df, label = ref
        shown = max(len(m), AUTHORS_EPOCHS_SHOWN)
        df = df[df["epoch"] + 1 <= shown]
        for split in ("train", "test"):
            frames.append(pd.DataFrame({"source": label, "split": split, "epoch": df["epoch"].to_numpy() + 1,
                                        "accuracy": df[f"{split}_accuracy"].to_numpy(dtype=float)}))
    if not frames:
        return pd.DataFrame(columns=["source", "split", "epoch", "accuracy"])
    return pd.concat(frames, ignore_index=True).dropna(subset=["accuracy"])


def weight_histograms(weights: NetworkWeights, bins: int = 40) -> pd.DataFrame:
    """Histogram of every trained array (``ff1``, ``rec2``, ...; existing synapses only).

    Columns: array, left, right, center, count, density (count / synapses / bin width).
    """
    masks = weights.trainable_masks()
    rows = []
    for name, w in weights.trainable().items():
        vals = w[masks[name]] if name in masks else w.ravel()
        if vals.size == 0:
            continue
        lo, hi = float(vals.min()), float(vals.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        count, edges = np.histogram(vals, bins=bins, range=(lo, hi))
        width = edges[1] - edges[0]
        rows.append(pd.DataFrame({"array": name, "left": edges[:-1], "right": edges[1:],
                                  "center": 0.5 * (edges[:-1] + edges[1:]), "count": count,
                                  "density": count / (vals.size * width)}))
    return pd.concat(rows, ignore_index=True)


def _image_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of an input of n channels: a square image if n is a square, else one row."""
    side = math.isqrt(n)
    return (side, side) if side * side == n else (1, n)


def receptive_fields(weights: NetworkWeights, n_show: int = 16) -> tuple[np.ndarray, int]:
    """The first layer's incoming weights of its first ``n_show`` neurons, as one image.

    Square inputs (784 = 28 x 28) are tiled in a grid, neuron by neuron, with a NaN border;
    other inputs (speech: 78 channels) give one row per neuron. Returns (image, neurons shown).
    """
    ff = weights.layers[0].ff
    n = min(n_show, ff.shape[0])
    rows, cols = _image_shape(ff.shape[1])
    if rows == 1:
        return ff[:n].astype(float), n
    grid = math.ceil(math.sqrt(n))
    gr = math.ceil(n / grid)
    img = np.full((gr * (rows + 1) - 1, grid * (cols + 1) - 1), np.nan)
    for k in range(n):
        r, c = divmod(k, grid)
        img[r * (rows + 1):r * (rows + 1) + rows, c * (cols + 1):c * (cols + 1) + cols] = ff[k].reshape(rows, cols)
    return img[::-1], n                       # row 0 at the bottom, as an image glyph draws it


@dataclass(frozen=True)
class SampleActivity:
    """One test sample through every layer.

    raster : columns layer, neuron, t_ms, row (every layer stacked, input first)
    input_image : the input's spike count per channel, as an image (rows, cols) or one row
    output : columns neuron, name, count, is_label, is_prediction
    """

    index: int
    label: int
    prediction: int
    class_names: tuple
    raster: pd.DataFrame
    input_image: np.ndarray
    output: pd.DataFrame
    layer_sizes: dict
    n_steps: int

    @property
    def label_name(self) -> str:
        return self.class_names[self.label] if self.class_names else str(self.label)

    @property
    def prediction_name(self) -> str:
        return self.class_names[self.prediction] if self.class_names else str(self.prediction)


class SampleSimulator:
    """Test samples of a run through its weights in Brian2 (runtime); the runner is built once."""

    def __init__(self, run: RunData):
        self.run = run
        self._dataset = None
        self._runner = None

    @property
    def dataset(self):
        """The run's test split (its ``test_limit`` subset, as it was tested); read on first use."""
        if self._dataset is None:
            from ..training import load_dataset
            try:
                self._dataset = load_dataset(self.run.cfg, "test")
            except (OSError, ValueError, ImportError) as exc:
                raise RunError(f"cannot read the {self.run.cfg.dataset} test set of {self.run.path}: {exc}") from None
        return self._dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def simulate(self, index: int) -> SampleActivity:
        """Sample ``index`` of the test split: inputs, every layer's spikes, output counts, prediction."""
        from ..engine.loss import predict
        ds, cfg, w = self.dataset, self.run.cfg, self.run.weights
        if not 0 <= int(index) < len(ds):
            raise RunError(f"test sample {index} does not exist: the run's test set has samples 0..{len(ds) - 1}")
        index = int(index)
        inputs = ds.inputs(np.array([index]), 0)
        with BRIAN_LOCK:
            if self._runner is None:
                from ..training import make_simulator
                self._runner = make_simulator(cfg.replace(device="runtime", batch_size=1, samples_per_run=1,
                                                          workers=1), w.arch, cfg.layer_params())
            rec = self._runner.run(w, inputs)
        names = ["input"] + [f"{k}: {spec.token}" for k, spec in enumerate(w.arch.trained[:-1], start=1)] + ["output"]
        frames, row0 = [], 0
        for k, name in enumerate(names):
            tr = rec.layers[k][0]
            frames.append(pd.DataFrame({"layer": name, "neuron": tr.neuron, "t_ms": tr.step * cfg.dt_seconds * 1e3,
                                        "row": tr.neuron + row0}))
            row0 += tr.n_neurons
        out = rec.counts(len(names) - 1)[0]
        pred = int(predict(out[None])[0])
        label = int(ds.labels[index])
        classes = tuple(ds.class_names) if ds.class_names else tuple(str(c) for c in range(out.size))
        output = pd.DataFrame({"neuron": np.arange(out.size), "name": list(classes[:out.size]), "count": out,
                               "is_label": np.arange(out.size) == label, "is_prediction": np.arange(out.size) == pred})
        counts = inputs[0].counts().astype(float)
        image = counts.reshape(_image_shape(counts.size))[::-1]
        sizes = {name: rec.layers[k][0].n_neurons for k, name in enumerate(names)}
        return SampleActivity(index, label, pred, classes, pd.concat(frames, ignore_index=True), image, output,
                              sizes, cfg.n_steps)

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
