"""Train and evaluate runs: functions that return results and never print.

    result = train(cfg, "runs/demo")                     # a new run
    result = train(None, "runs/demo", resume=True, epochs=5)   # continue it, or extend it to 5 epochs
    ev = evaluate_run("runs/demo", checkpoint="epoch-001.npz")
    print(ev.summary())

Human messages (build, epoch summaries, "all epochs done") go to the
``rsnn_brian`` logger at INFO; the progress bars (tqdm, stderr) go away
with ``progress=False``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import TrainConfig
from ..data.registry import SPLITS, load_dataset
from ..network import parse_architecture
from . import simulators
from .checkpoint import find_checkpoint, load_checkpoint
from .rundir import RunDir
from .simulators import _close
from .trainer import Trainer, check_data

__all__ = ["train", "evaluate_run", "open_run", "OpenedRun", "TrainResult", "EvaluationResult"]

log = logging.getLogger("rsnn_brian")


@dataclass
class TrainResult:
    """A run after :func:`train`: where it is, its config, and one metrics row per completed epoch."""

    run_dir: Path
    config: TrainConfig
    metrics: pd.DataFrame        # metrics.csv: epoch (from 1), lr, loss, train/test accuracy (%), ...

    @property
    def epochs_done(self) -> int:
        return len(self.metrics)

    @property
    def test_accuracy(self) -> float | None:
        """Test accuracy (%) after the last epoch."""
        return float(self.metrics["test_accuracy"].iloc[-1]) if len(self.metrics) else None

    @property
    def best_test_accuracy(self) -> float | None:
        return float(self.metrics["test_accuracy"].max()) if len(self.metrics) else None

    @property
    def checkpoint(self) -> Path:
        return Path(self.run_dir) / "checkpoints" / "latest.npz"

    @property
    def weights_path(self) -> Path:
        """The plain weights after the last epoch (``NetworkWeights.to_arrays()`` in an .npz)."""
        return Path(self.run_dir) / "checkpoints" / "weights.npz"

    def summary(self) -> str:
        if not len(self.metrics):
            return f"{self.run_dir}: no epoch completed"
        last = self.metrics.iloc[-1]
        return (f"{self.run_dir}: {self.epochs_done} of {self.config.epochs} epochs, test accuracy "
                f"{last['test_accuracy']:.2f} % (best {self.best_test_accuracy:.2f} %), train "
                f"{last['train_accuracy']:.2f} %")


@dataclass
class EvaluationResult:
    """Accuracy of one checkpoint on one split."""

    accuracy: float                    # %
    per_class: dict                    # class name -> accuracy (%), classes in label order
    epoch: int                         # completed epochs of the checkpoint
    batch_pos: int                     # batches done in the epoch after those
    seconds: float                     # simulation and readout (not the build)
    n_samples: int
    split: str
    checkpoint: Path
    run_dir: Path | None = None
    architecture: str = ""
    predictions: np.ndarray = field(default=None, repr=False)   # int64, shape (n_samples,)

    def summary(self) -> str:
        """Two lines: the accuracy with where it comes from, then the accuracy per class."""
        head = (f"{self.run_dir} {Path(self.checkpoint).name} ({self.architecture}, epoch {self.epoch}, "
                f"batch {self.batch_pos}): {self.split} accuracy {self.accuracy:.2f} % on {self.n_samples} "
                f"samples in {self.seconds:.0f} s")
        return head + "\nper class (%): " + ", ".join(f"{c}: {a:.1f}" for c, a in self.per_class.items())


def train(cfg: TrainConfig | None, run_dir, resume: bool = False, progress: bool = True,
          epochs: int | None = None) -> TrainResult:
    """Train a new run in ``run_dir``, or with ``resume`` continue the one there.

    Parameters
    ----------
    cfg : the configuration of a new run; with ``resume`` None (the run's config.toml is used)
        or that same configuration (only ``epochs`` may differ)
    run_dir : folder of the run; a new run needs it absent or empty
    resume : continue from ``checkpoints/latest.npz`` (from the start if there is none yet)
    progress : tqdm bars on stderr
    epochs : train until this many epochs are completed; with ``resume`` this extends a finished
        run (config.toml then records the new count)

    A new run whose start fails (data, trainer, the simulator's build, Ctrl-C) before its first
    checkpoint leaves nothing behind: the folders and files this call made are removed, and the
    exception propagates.
    """
    rundir = RunDir(run_dir)
    if resume:
        return _resume(cfg, rundir, progress, epochs)
    if cfg is None:
        raise ValueError("a new run needs a config (cfg=None only with resume=True)")
    cfg = cfg.replace(epochs=epochs)
    rundir.check_new()
    trainer = None
    try:
        trainer = Trainer(cfg, rundir, progress)   # loads the data first: errors before anything is written
        rundir.create(cfg)
        trainer.run()
    except BaseException:
        if trainer is None or trainer.checkpoints_written == 0:
            rundir.remove_created()
        raise
    return TrainResult(rundir.path, cfg, pd.DataFrame(trainer.rows))


def _differing(a: TrainConfig, b: TrainConfig, ignore=("epochs",)) -> list[str]:
    da, db = a.to_dict(), b.to_dict()
    return [k for k in da if k not in ignore and da[k] != db[k]]


def _resume(cfg: TrainConfig | None, rundir: RunDir, progress: bool, epochs: int | None) -> TrainResult:
    if not rundir.has_run():
        raise FileNotFoundError(f"{rundir.path} holds no run to resume (no config.toml)")
    saved = rundir.load_config()
    if cfg is not None:
        diff = _differing(cfg, saved)
        if diff:
            raise ValueError(f"resume continues {rundir.config_path}; the config given differs in "
                             f"{', '.join(diff)} (pass cfg=None, or start a new run)")
        epochs = cfg.epochs if epochs is None else epochs
    run_cfg = saved.replace(epochs=epochs)
    trainer = Trainer(run_cfg, rundir, progress)
    latest = rundir.checkpoints / "latest.npz"
    if latest.is_file():
        trainer.restore(latest)
    if trainer.epoch > run_cfg.epochs:
        raise ValueError(f"{rundir.path} has {trainer.epoch} epochs done; cannot shorten it to {run_cfg.epochs}")
    if trainer.rows and len(rundir.read_metrics()) != len(trainer.rows):
        rundir.write_metrics(trainer.rows)        # killed between the checkpoint and metrics.csv
    if trainer.epoch == run_cfg.epochs:
        log.info("%s: all %d epochs already done", rundir.path, run_cfg.epochs)
        return TrainResult(rundir.path, run_cfg, pd.DataFrame(trainer.rows))
    if run_cfg.epochs != saved.epochs:
        rundir.write_config(run_cfg)
        log.info("%s: %d epochs done; extending the run from %d to %d epochs", rundir.path, trainer.epoch,
                 saved.epochs, run_cfg.epochs)
    rundir.record_resume(run_cfg, trainer.epoch, saved.epochs)
    trainer.run()
    return TrainResult(rundir.path, run_cfg, pd.DataFrame(trainer.rows))


@dataclass
class OpenedRun:
    """A run directory reopened for reading: its config (with any changes), a checkpoint's
    weights and state, and one split of its data set."""

    rundir: RunDir
    config: TrainConfig
    checkpoint: Path
    weights: object
    state: dict
    dataset: object


def open_run(run_dir, split: str = "test", checkpoint=None, **changes) -> OpenedRun:
    """Reopen a run written by :func:`train` (nothing in it is written).

    ``checkpoint``: a file in ``RUN_DIR/checkpoints`` or a path (default ``latest.npz``);
    ``changes``: config fields to override (e.g. ``device``; None values are ignored).
    """
    rundir = RunDir(run_dir)
    if not rundir.has_run():
        raise FileNotFoundError(f"{rundir.path} is not a run directory (no config.toml)")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    cfg = rundir.load_config().replace(**changes)
    path = find_checkpoint(rundir.path, checkpoint)
    weights, _, state = load_checkpoint(path)
    arch = parse_architecture(cfg.architecture)
    if str(weights.arch) != str(arch):
        raise ValueError(f"checkpoint {path} is for {weights.arch}, the run's config says {arch}")
    ds = load_dataset(cfg, split)
    check_data(ds, arch)
    return OpenedRun(rundir, cfg, path, weights, state, ds)


def evaluate_run(run_dir, split: str = "test", device: str | None = None, limit: int | None = None,
                 checkpoint=None, samples_per_run: int | None = None,
                 progress: bool = True) -> EvaluationResult:
    """Evaluate a run's weights on a split; nothing in the run directory is written.

    checkpoint: a file in ``RUN_DIR/checkpoints`` (``epoch-001.npz`` after the first epoch; older
    runs' ``epoch-000.npz``) or a path; default ``latest.npz``. device: another simulator than the
    run's. limit: a class-balanced subset of N samples. samples_per_run: samples per simulator run
    (default: the run's layout: its batch size, or for batch size 1 its ``samples_per_run``, by
    default 1 sample per launch; a batch-1 run tests faster with e.g. 64).
    """
    changes = {"device": device}
    if limit is not None:
        changes["test_limit" if split == "test" else "train_limit"] = limit
    if samples_per_run is not None:       # evaluation only: batch size 1 makes the runner use samples_per_run
        changes.update(samples_per_run=samples_per_run, batch_size=1)     # TrainConfig validates it
    opened = open_run(run_dir, split, checkpoint, **changes)
    rundir, cfg, path, weights, state, ds = (opened.rundir, opened.config, opened.checkpoint, opened.weights,
                                             opened.state, opened.dataset)
    arch = weights.arch
    sim = simulators.make_simulator(cfg, arch, cfg.layer_params())
    try:
        simulators.build_simulator(sim, weights, ds.inputs(np.arange(min(cfg.run_layout, len(ds))), 0))
        t0 = time.perf_counter()
        res = simulators.evaluate(sim, weights, ds, cfg.run_layout, progress, desc=split)
        seconds = time.perf_counter() - t0
    finally:
        _close(sim)
    correct = pd.Series(res["predictions"] == ds.labels).groupby(ds.labels).mean() * 100
    per_class = {ds.class_names[int(c)] if ds.class_names else str(c): float(a) for c, a in correct.items()}
    return EvaluationResult(accuracy=res["accuracy"], per_class=per_class, epoch=int(state["epoch"]),
                            batch_pos=int(state["batch_pos"]), seconds=seconds, n_samples=len(ds), split=split,
                            checkpoint=path, run_dir=rundir.path, architecture=str(arch),
                            predictions=res["predictions"])
