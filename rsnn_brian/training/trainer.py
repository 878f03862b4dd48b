"""The training loop: data -> runner (Brian2) -> spike trains -> engine -> optimiser -> weights back.

:class:`Trainer` holds one run's state (weights, Adam, boosting, the
position in the epoch) and steps through mini-batches; every random draw
depends only on (seed, epoch, sample), never on how far a process got, so a
resumed run ends with the same weights as an uninterrupted one. Epoch
*indices* inside the loop (sample order, input redraws, the learning-rate
schedule) are 0-based as in the spec; ``Trainer.epoch`` and everything shown
or written (log, progress bar, metrics.csv) count completed epochs from 1.

Importing this module imports neither Brian2 nor matplotlib: the Brian2
runner is made by :func:`.simulators.make_simulator` for a Brian2 device
only, the plot is drawn in :mod:`.rundir`.
"""

from __future__ import annotations

import logging
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from .._io import atomic_savez
from ..config import TrainConfig
from ..connectivity import initial_weights
from ..data.registry import Dataset, load_dataset
from ..network import parse_architecture
from . import distributed, simulators
from .checkpoint import epoch_file_name, load_checkpoint, save_checkpoint
from .pipeline import SharePipeline
from .rundir import RunDir
from .simulators import _close

__all__ = ["Trainer", "check_data", "optimiser_masks"]

log = logging.getLogger("rsnn_brian")


# -- the trainer ------------------------------------------------------------------------------

def optimiser_masks(cfg: TrainConfig, weights) -> dict:
    """Adam's masks: the existing synapses of each recurrent array, and nothing of a ``frozen`` array."""
    masks = dict(weights.trainable_masks())
    trainable = weights.trainable()
    for name in cfg.frozen_arrays():
        masks[name] = np.zeros(trainable[name].shape, bool)
    return masks


class Trainer:
    """One run's state and loop. Nothing is written until :meth:`run` (or :meth:`checkpoint`).

    Attributes: ``cfg``, ``arch``, ``params`` (steps), ``weights``, ``optimizer``, ``engine``
    (EngineSettings), ``tables`` (effect ratios), ``train_set``/``test_set``, ``boost``,
    ``epoch`` (completed epochs), ``batch_pos`` (batches done in the current epoch), ``rows``
    (one metrics dict per completed epoch), ``sim`` (the simulator while one is open).
    """

    def __init__(self, cfg: TrainConfig, run_dir, progress: bool = True):
        from ..optim import Adam, AdamSettings
        self.cfg = cfg
        self.rundir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
        self.run_dir = self.rundir.path
        self.progress = progress
        self.arch = parse_architecture(cfg.architecture)
        self.params = cfg.layer_params()
        self.weights = initial_weights(self.arch, cfg.seed, recurrent=cfg.recurrent, autapses=cfg.autapses,
                                       reservoir_weights=cfg.reservoir_weights)
        self.optimizer = Adam(self.weights.trainable(), AdamSettings(lr=cfg.lr), masks=optimiser_masks(cfg,
                                                                                                     self.weights))
        self.engine = distributed.engine_settings(cfg)    # cfg.engine_dtype: float32 unless asked
        self.tables = distributed.engine_tables(cfg, self.params)    # effect-ratio tables, cached on disk
        self.train_set = load_dataset(cfg, "train")
        self.test_set = load_dataset(cfg, "test")
        check_data(self.train_set, self.arch)
        self.boost = np.ones(len(self.train_set))
        self.epoch = 0
        self.batch_pos = 0
        self.partial = self._fresh_partial()
        self.rows: list[dict] = []
        self.sim = None
        self.executor = None      # a distributed.DaskExecutor while one is open (cfg.dask)
        self.pipeline = None      # a SharePipeline (engine threads) while shares run in this process
        self.checkpoints_written = 0

    # -- state -------------------------------------------------------------------------------
    def _fresh_partial(self) -> dict:
        n = len(self.train_set)
        return {"pred": np.full(n, -1, np.int64), "loss": np.zeros(n), "rates": np.zeros(len(self.arch.layers)),
                "seconds": 0.0, "silent": 0}

    def _state(self) -> dict:
        return {"epoch": self.epoch, "batch_pos": self.batch_pos, "rows": self.rows,
                "config": self.cfg.to_dict(), "seconds": self.partial["seconds"], "silent": self.partial["silent"],
                "boost": self.boost, "pred": self.partial["pred"], "loss": self.partial["loss"],
                "rates": self.partial["rates"]}

    def restore(self, path) -> None:
        """Continue from a checkpoint (weights, Adam, boosting, position, metrics rows)."""
        weights, opt, st = load_checkpoint(path)
        if str(weights.arch) != str(self.arch):
            raise ValueError(f"checkpoint {path} is for {weights.arch}, the config says {self.arch}")
        for lw_new, lw in zip(weights.layers, self.weights.layers):
            lw.ff[...] = lw_new.ff
            if lw.rec is not None:
                lw.rec[...] = lw_new.rec
                lw.rec_mask[...] = lw_new.rec_mask
        self.optimizer.load_state_dict(opt)
        self.epoch, self.batch_pos = int(st["epoch"]), int(st["batch_pos"])
        # row k is the (k+1)-th epoch; checkpoints written before epochs were counted from 1 said k
        self.rows = [{**row, "epoch": k + 1} for k, row in enumerate(st["rows"])]
        self.boost = np.array(st["boost"], dtype=np.float64)
        self.partial = {"pred": np.array(st["pred"]), "loss": np.array(st["loss"]),
                        "rates": np.array(st["rates"]), "seconds": float(st["seconds"]), "silent": int(st["silent"])}

    def checkpoint(self, epoch_end: bool) -> None:
        """latest.npz; at an epoch end also epoch-NNN.npz (NNN completed epochs) and weights.npz."""
        ck = self.rundir.checkpoints
        ck.mkdir(parents=True, exist_ok=True)
        save_checkpoint(ck / "latest.npz", self.weights, self.optimizer, self._state())
        if epoch_end:
            save_checkpoint(ck / epoch_file_name(self.run_dir, self.epoch), self.weights, self.optimizer,
                            self._state())
            atomic_savez(ck / "weights.npz", self.weights.to_arrays())   # plain weights, for users
        self.checkpoints_written += 1

    # -- one step ----------------------------------------------------------------------------
    def lr_at(self, epoch: int) -> float:
        """Learning rate of the 0-based epoch index ``epoch``."""
        from ..optim import learning_rate
        return learning_rate(self.cfg.lr, epoch)

    def order(self, epoch: int) -> np.ndarray:
        """Sample order of the 0-based epoch index ``epoch``."""
        return np.random.default_rng([self.cfg.seed, epoch, 101]).permutation(len(self.train_set))

    def step(self, indices: np.ndarray, epoch: int, inputs=None) -> None:
        """Simulate, back-propagate and update on one mini-batch (``epoch``: 0-based index).

        ``inputs``: the batch's input trains, if drawn already (see :meth:`_train_epoch`).
        """
        from ..optim import RegularizerSettings, regularizer_gradients
        # shares of the batch, simulated and differentiated here or on Dask workers, summed in order
        shares = [indices[s] for s in distributed.share_slices(indices.size, self.n_shares)]
        if self.executor is not None:
            outs = self.executor.run_batch(self.weights, shares, epoch, self.boost)
        elif len(shares) > 1:          # each share back-propagated while the others simulate
            if self.pipeline is None:
                self.pipeline = SharePipeline(self.n_shares)
            outs = self.pipeline.run(self.sim, self.weights, self.params, self.engine, self.tables,
                                     self.train_set, shares, epoch, self.boost[indices], inputs)
        else:
            outs = [distributed.compute_share(self.sim, self.weights, self.params, self.engine, self.tables,
                                              self.train_set, idx, epoch, self.boost[idx]) for idx in shares]
        for out in outs:               # silent layers are counted and reported once per epoch
            self.partial["silent"] += out["silent"]
            for w in out["warnings"]:
                warnings.warn_explicit(*w)
        grads = distributed.combine_grads(outs, indices.size)
        if self.cfg.regulariser:
            reg = RegularizerSettings(lam=self.cfg.regulariser_lambda)
            for name, g in regularizer_gradients(self.weights, reg, self.cfg.regulariser_lambdas_by_array()).items():
                grads[name] = grads[name] + g
        self.optimizer.step(grads, lr=self.lr_at(epoch))   # masked: absent synapses stay absent
        for idx, out in zip(shares, outs):
            self.partial["pred"][idx] = out["pred"]
            self.partial["loss"][idx] = out["loss"]
        for k in range(len(self.arch.layers)):
            self.partial["rates"][k] += sum(out["spikes"][k] for out in outs)

    @property
    def n_shares(self) -> int:
        """Shares per batch: ``cfg.shares``, else the Dask workers, else ``cfg.workers``."""
        return distributed.n_shares(self.cfg, self.executor.n_workers if self.executor is not None else None)

    def evaluate(self, dataset: Dataset, epoch: int = 0, desc: str = "test") -> dict:
        """Accuracy (%) and predictions on a data set with the current weights (needs ``self.sim``)."""
        if self.executor is not None:
            split = "train" if dataset is self.train_set else "test"
            return self.executor.evaluate(self.weights, dataset, split, self.cfg.run_layout)
        return simulators.evaluate(self.sim, self.weights, dataset, self.cfg.run_layout, self.progress, desc)

    # -- the loop ----------------------------------------------------------------------------
    def open_simulator(self) -> None:
        """Make and build the simulator (logged, with its duration) unless one is open."""
        if self.sim is not None or self.executor is not None:
            return
        if self.cfg.dask:         # the workers build their own simulators
            self.executor = distributed.DaskExecutor(self.cfg, self.tables)
            return
        self.sim = simulators.make_simulator(self.cfg, self.arch, self.params)
        B = self.cfg.batch_size
        first = self.order(self.epoch)[self.batch_pos * B:(self.batch_pos + 1) * B]
        simulators.build_simulator(self.sim, self.weights, self.train_set.inputs(first, self.epoch))

    def run(self) -> pd.DataFrame:
        """Train up to ``cfg.epochs`` completed epochs; checkpoints, metrics.csv and the plot as it goes."""
        try:
            self.open_simulator()
            while self.epoch < self.cfg.epochs:
                self._train_epoch(self.epoch)
        finally:
            _close(self.sim)
            _close(self.executor)
            _close(self.pipeline)
            self.sim = self.executor = self.pipeline = None
        return pd.DataFrame(self.rows)

    def _train_epoch(self, epoch: int) -> None:
        cfg = self.cfg
        n = len(self.train_set)
        bar = simulators.progress_bar(n, f"epoch {epoch + 1}/{cfg.epochs}", self.progress,
                                      initial=min(self.batch_pos * cfg.batch_size, n))
        try:
            seconds = self.run_batches(epoch, bar)
        finally:
            bar.close()
        self._finish_epoch(epoch, seconds)

    def run_batches(self, epoch: int, bar=None) -> float:
        """The batches of the 0-based epoch ``epoch`` from ``batch_pos`` on, with the checkpoints inside
        the epoch; returns the epoch's training seconds so far (the epoch's end is :meth:`_finish_epoch`)."""
        cfg = self.cfg
        order = self.order(epoch)
        n_batches = -(-len(order) // cfg.batch_size)
        batch = lambda b: order[b * cfg.batch_size:(b + 1) * cfg.batch_size]   # noqa: E731
        # in-process shares: the next batch's inputs are drawn while this one runs (they do not
        # depend on the weights); Dask workers and a single share draw their own
        prefetch = self.executor is None and self.n_shares > 1 and cfg.batch_size > 1 and self.batch_pos < n_batches
        drawer = ThreadPoolExecutor(1, thread_name_prefix="rsnn-inputs") if prefetch else None
        upcoming = drawer.submit(self.train_set.inputs, batch(self.batch_pos), epoch) if prefetch else None
        t0 = time.perf_counter()
        try:
            while self.batch_pos < n_batches:
                idx = batch(self.batch_pos)
                inputs = upcoming.result() if prefetch else None
                if prefetch and self.batch_pos + 1 < n_batches:
                    upcoming = drawer.submit(self.train_set.inputs, batch(self.batch_pos + 1), epoch)
                self.step(idx, epoch, inputs)
                self.batch_pos += 1
                if bar is not None:
                    bar.update(idx.size)
                    done = self.partial["pred"] >= 0
                    acc = 100 * np.mean(self.partial["pred"][done] == self.train_set.labels[done])
                    bar.set_postfix(acc=f"{acc:.1f}%", refresh=False)
                if cfg.checkpoint_every and self.batch_pos % cfg.checkpoint_every == 0 and self.batch_pos < n_batches:
                    self.partial["seconds"] += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    self.checkpoint(epoch_end=False)
        finally:
            if drawer is not None:
                drawer.shutdown(wait=True, cancel_futures=True)
        self.partial["seconds"] += time.perf_counter() - t0
        return self.partial["seconds"]

    def _finish_epoch(self, epoch: int, train_seconds: float) -> None:
        from ..optim import update_boost_weights
        cfg = self.cfg
        pred, labels = self.partial["pred"], self.train_set.labels
        train_acc = 100.0 * float(np.mean(pred == labels))
        t1 = time.perf_counter()
        test = self.evaluate(self.test_set, epoch)
        row = {"epoch": epoch + 1, "lr": self.lr_at(epoch), "loss": float(np.mean(self.partial["loss"])),
               "train_accuracy": train_acc, "test_accuracy": test["accuracy"],
               "train_seconds": train_seconds, "test_seconds": time.perf_counter() - t1}
        row["train_samples_per_s"] = len(labels) / train_seconds if train_seconds > 0 else float("nan")
        row["test_samples_per_s"] = len(self.test_set) / row["test_seconds"] if row["test_seconds"] > 0 \
            else float("nan")
        T_s = cfg.n_steps * cfg.dt_seconds
        for k, lay in enumerate(self.arch.layers):
            row[f"rate_layer{k}_hz"] = float(self.partial["rates"][k] / (len(labels) * lay.size * T_s))
        row["silent_layer_batches"] = self.partial["silent"]
        row["best_test_accuracy"] = max([r["test_accuracy"] for r in self.rows] + [test["accuracy"]])
        self.rows.append(row)
        if cfg.boosting:
            self.boost = update_boost_weights(self.boost, labels, pred, self.arch.n_classes)
        self.epoch += 1
        self.batch_pos = 0
        self.partial = self._fresh_partial()
        self.checkpoint(epoch_end=True)
        metrics = self.rundir.write_metrics(self.rows)
        self.rundir.write_learning_curve(metrics, cfg)
        log.info("epoch %d/%d: loss %.3f  train %.2f %%  test %.2f %%  (best %.2f %%)  training %.0f s "
                 "(%.1f samples/s), test %.0f s (%.1f samples/s)",
                 epoch + 1, cfg.epochs, row["loss"], train_acc, test["accuracy"], row["best_test_accuracy"],
                 train_seconds, row["train_samples_per_s"], row["test_seconds"], row["test_samples_per_s"])


def check_data(dataset: Dataset, arch) -> None:
    """The data set's inputs and classes must match the architecture's first and last layers."""
    if dataset.n_inputs != arch.n_inputs:
        raise ValueError(f"the data set has {dataset.n_inputs} input channels, the architecture "
                         f"{arch} has {arch.n_inputs} inputs")
    if dataset.n_classes != arch.n_classes:
        raise ValueError(f"the data set has {dataset.n_classes} classes, the output layer of "
                         f"{arch} has {arch.n_classes} neurons; use an architecture ending in "
                         f"-{dataset.n_classes}")
