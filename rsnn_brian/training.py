"""The training loop: simulate a mini-batch in Brian2, compute ST-RSBP gradients, update, write back.

A run directory holds everything of one run and never overwrites an earlier
one::

    config.toml          the resolved configuration
    manifest.json        versions, seed, device, git revision, command line
    metrics.csv          one row per epoch (tidy): loss, accuracies, rates, seconds
    checkpoints/         latest.npz and epoch-NNN.npz (np.savez, no pickle)
    learning_curve.png   train and test accuracy per epoch

Checkpoints are written atomically (temporary file, then ``os.replace``)
after every epoch and, optionally, every N batches. ``resume`` continues
from the latest one and ends with the same weights as an uninterrupted run:
every random draw depends only on (seed, epoch, sample), never on how far a
process got.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .config import TrainConfig, load_config
from .network import NetworkWeights, init_weights, parse_architecture
from .spikes import Recording, SpikeTrains

__all__ = ["train", "evaluate_run", "Trainer", "load_dataset", "make_simulator", "Dataset"]

CHECKPOINT_FORMAT = 1


# ---------------------------------------------------------------------------
# data

@dataclass
class Dataset:
    """Samples as encoded spike trains on demand: ``inputs(indices, epoch)``."""

    name: str
    labels: np.ndarray
    n_inputs: int
    n_classes: int
    _encode: object          # callable (indices, epoch) -> list[SpikeTrains]

    def __len__(self) -> int:
        return int(self.labels.size)

    def inputs(self, indices, epoch: int = 0) -> list[SpikeTrains]:
        return self._encode(np.asarray(indices), epoch)


def _stratified_first(labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """Indices of a class-balanced subset of ``limit`` samples (all if None)."""
    n = labels.size
    if limit is None or limit >= n:
        return np.arange(n)
    rng = np.random.default_rng([seed, 7919])
    order = rng.permutation(n)
    classes = np.unique(labels)
    per = {c: order[labels[order] == c] for c in classes}
    take, k = [], 0
    while len(take) < limit:
        c = classes[k % classes.size]
        pos = k // classes.size
        if pos < per[c].size:
            take.append(per[c][pos])
        k += 1
        if k > limit * classes.size + n:
            break
    return np.sort(np.array(take[:limit], dtype=np.int64))


def load_dataset(cfg: TrainConfig, split: str) -> Dataset:
    """Load and encode a data set split for a config."""
    limit = cfg.train_limit if split == "train" else cfg.test_limit
    if cfg.dataset in ("builtin", "fashion-mnist", "mnist"):
        from .data.encoders import EncoderSettings, RateEncoder
        from .data.images import load_builtin, load_images
        if cfg.dataset == "builtin":
            images, labels = load_builtin(split)
        else:
            images, labels = load_images(cfg.dataset, split, data_dir=cfg.data_dir)
        keep = _stratified_first(labels, limit, cfg.seed)
        images = images.reshape(images.shape[0], -1)[keep]
        labels = np.asarray(labels)[keep].astype(np.int64)
        # train and test trains come from different seeds (2 seed, 2 seed + 1)
        seed = 2 * cfg.seed + (0 if split == "train" else 1)
        encoder = RateEncoder(images, EncoderSettings(n_steps=cfg.n_steps, redraw=cfg.redraw_inputs, seed=seed))
        return Dataset(cfg.dataset, labels, images.shape[1], 10,
                       lambda idx, epoch: encoder.encode(idx, epoch))
    if cfg.dataset == "fsdd":
        from .data.cochlea import SpeechEncoding
        from .data.speech import load_fsdd_spikes
        trains, labels = load_fsdd_spikes(split=split, split_kind=cfg.split_kind,
                                          held_out_speaker=cfg.held_out_speaker, data_dir=cfg.data_dir,
                                          enc=SpeechEncoding(n_steps=cfg.n_steps))
        labels = np.asarray(labels, dtype=np.int64)
        keep = _stratified_first(labels, limit, cfg.seed)
        trains = [trains[i] for i in keep]
        labels = labels[keep]
        return Dataset("fsdd", labels, trains[0].n_neurons, 10,
                       lambda idx, epoch: [trains[i] for i in idx])
    raise ValueError(f"unknown dataset {cfg.dataset!r}")


# ---------------------------------------------------------------------------
# simulators

class _NumpySimulator:
    """The NumPy reference simulator behind the runner interface."""

    def __init__(self, params):
        self.params = params

    def run(self, weights: NetworkWeights, inputs) -> Recording:
        from .reference.simulate import simulate
        return simulate(weights, self.params, inputs)

    def close(self):
        pass


def make_simulator(cfg: TrainConfig, arch, params, build_dir=None):
    """A Brian2 runner for the config's device (or the NumPy simulator for 'numpy')."""
    if cfg.device == "numpy":
        return _NumpySimulator(params)
    from .brian.runner import Runner
    # one Brian2 run simulates one mini-batch back to back (evaluation uses the same chunks);
    # with workers > 1 the batch is cut into that many runs, started at once
    k = cfg.run_layout
    parallel = cfg.workers if cfg.device == "cpp_standalone" else 1
    runner = Runner(arch, cfg.neuron_configs(), device=cfg.device, n_steps=cfg.n_steps,
                    samples_per_run=-(-k // parallel), build_dir=build_dir, parallel_runs=parallel)
    runner.__enter__()
    return runner


def _close(sim):
    if hasattr(sim, "__exit__"):
        sim.__exit__(None, None, None)
    else:
        sim.close()


# ---------------------------------------------------------------------------
# checkpoints (np.savez, no pickle; written atomically)

def _atomic_savez(path: Path, arrays: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_checkpoint(path: Path, weights: NetworkWeights, optimizer, state: dict) -> None:
    arrays = {f"w/{k}": v for k, v in weights.to_arrays().items()}
    arrays.update({f"opt/{k}": np.asarray(v) for k, v in optimizer.state_dict().items()})
    for k, v in state.items():
        if isinstance(v, np.ndarray):
            arrays[f"state/{k}"] = v
    meta = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    meta["format"] = CHECKPOINT_FORMAT
    meta["architecture"] = str(weights.arch)
    arrays["meta"] = np.array(json.dumps(meta))
    _atomic_savez(path, arrays)


def load_checkpoint(path: Path):
    """Return (weights, optimizer_state, state). Never unpickles."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        meta = json.loads(str(data.pop("meta")))
    except Exception as exc:  # zipfile.BadZipFile, ValueError, KeyError, OSError, json errors
        raise ValueError(f"checkpoint {path} is corrupt or not an rsnn_brian checkpoint ({type(exc).__name__}: {exc}); "
                         "resume from an earlier checkpoints/epoch-NNN.npz by copying it to checkpoints/latest.npz, "
                         "or start a new run") from None
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {path} has format {meta.get('format')!r}, expected {CHECKPOINT_FORMAT}")
    arch = parse_architecture(meta["architecture"])
    weights = NetworkWeights.from_arrays(arch, {k[2:]: v for k, v in data.items() if k.startswith("w/")})
    opt = {k[4:]: v for k, v in data.items() if k.startswith("opt/")}
    state = dict(meta)
    state.update({k[6:]: v for k, v in data.items() if k.startswith("state/")})
    return weights, opt, state


# ---------------------------------------------------------------------------
# run directory

def _git_revision() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True,
                                   text=True, timeout=5).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def manifest(cfg: TrainConfig) -> dict:
    import scipy
    versions = {"rsnn_brian": __version__, "python": platform.python_version(), "numpy": np.__version__,
                "scipy": scipy.__version__, "pandas": pd.__version__}
    try:
        import brian2
        versions["brian2"] = brian2.__version__
    except ImportError:
        pass
    return {"versions": versions, "seed": cfg.seed, "device": cfg.device, "git_revision": _git_revision(),
            "command": sys.argv, "platform": platform.platform(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


# ---------------------------------------------------------------------------
# the trainer

class Trainer:
    """Joins data -> runner -> engine -> optimiser -> weights back to the runner."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, progress: bool = True):
        from .engine import EngineSettings, resolve_tables
        from .optim import Adam, AdamSettings
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.progress = progress
        self.arch = parse_architecture(cfg.architecture)
        self.params = cfg.layer_params()
        self.weights = init_weights(self.arch, np.random.default_rng(cfg.seed), recurrent=cfg.recurrent)
        self.optimizer = Adam(self.weights.trainable(), AdamSettings(lr=cfg.lr),
                              masks=self.weights.trainable_masks())
        self.engine = EngineSettings(option=cfg.gradient, dtype="float32",   # float64 only matters in tests
                                     silent_ratio=cfg.silent_ratio, threads=cfg.workers,
                                     recurrent_below=cfg.recurrent_below)
        self.tables = resolve_tables(None, self.params, cfg.n_steps,     # effect-ratio tables, cached on disk
                                     discretisation=cfg.effect_ratio)[1:]
        self.train_set = load_dataset(cfg, "train")
        self.test_set = load_dataset(cfg, "test")
        if self.train_set.n_inputs != self.arch.n_inputs:
            raise ValueError(f"the data set has {self.train_set.n_inputs} input channels, the architecture "
                             f"{self.arch} has {self.arch.n_inputs} inputs")
        if self.train_set.n_classes != self.arch.n_classes:
            raise ValueError(f"the data set has {self.train_set.n_classes} classes, the output layer of "
                             f"{self.arch} has {self.arch.n_classes} neurons; use an architecture ending in "
                             f"-{self.train_set.n_classes}")
        self.boost = np.ones(len(self.train_set))
        self.epoch = 0
        self.batch_pos = 0
        self.partial = self._fresh_partial()
        self.rows: list[dict] = []
        self.sim = None

    # -- state -------------------------------------------------------------
    def _fresh_partial(self) -> dict:
        n = len(self.train_set)
        return {"pred": np.full(n, -1, np.int64), "loss": np.zeros(n), "rates": np.zeros(len(self.arch.layers)),
                "seconds": 0.0, "silent": 0}

    def _state(self) -> dict:
        st = {"epoch": self.epoch, "batch_pos": self.batch_pos, "rows": self.rows,
              "config": self.cfg.to_dict(), "seconds": self.partial["seconds"], "silent": self.partial["silent"],
              "boost": self.boost, "pred": self.partial["pred"], "loss": self.partial["loss"],
              "rates": self.partial["rates"]}
        return st

    def restore(self, path: Path) -> None:
        weights, opt, st = load_checkpoint(path)
        if str(weights.arch) != str(self.arch):
            raise ValueError(f"checkpoint {path} is for {weights.arch}, the config says {self.arch}")
        for lw_new, lw in zip(weights.layers, self.weights.layers):
            lw.ff[...] = lw_new.ff
            if lw.rec is not None:
                lw.rec[...] = lw_new.rec
                lw.rec_mask[...] = lw_new.rec_mask
        self.optimizer.load_state_dict(opt)
        self.epoch, self.batch_pos, self.rows = int(st["epoch"]), int(st["batch_pos"]), list(st["rows"])
        self.boost = np.array(st["boost"], dtype=np.float64)
        self.partial = {"pred": np.array(st["pred"]), "loss": np.array(st["loss"]),
                        "rates": np.array(st["rates"]), "seconds": float(st["seconds"]), "silent": int(st["silent"])}

    def checkpoint(self, epoch_end: bool) -> None:
        ck = self.run_dir / "checkpoints"
        ck.mkdir(parents=True, exist_ok=True)
        save_checkpoint(ck / "latest.npz", self.weights, self.optimizer, self._state())
        if epoch_end:
            save_checkpoint(ck / f"epoch-{self.epoch - 1:03d}.npz", self.weights, self.optimizer, self._state())
            _atomic_savez(ck / "weights.npz", self.weights.to_arrays())   # plain weights, for users

    # -- loop ----------------------------------------------------------------
    def lr_at(self, epoch: int) -> float:
        from .optim import learning_rate
        return learning_rate(self.cfg.lr, epoch)

    def order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.cfg.seed, epoch, 101]).permutation(len(self.train_set))

    def step(self, indices: np.ndarray, epoch: int) -> None:
        from .engine import SilentLayerWarning, backward
        from .optim import RegularizerSettings, regularizer_gradients
        inputs = self.train_set.inputs(indices, epoch)
        labels = self.train_set.labels[indices]
        rec = self.sim.run(self.weights, inputs)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SilentLayerWarning)
            result = backward(rec, self.weights, self.params, labels, settings=self.engine,
                              sample_weight=self.boost[indices], tables=self.tables)
        for w in caught:               # silent layers are counted and reported once per epoch
            if issubclass(w.category, SilentLayerWarning):
                self.partial["silent"] += 1
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        grads = result.grads
        if self.cfg.regulariser:
            reg = RegularizerSettings(lam=self.cfg.regulariser_lambda)
            for name, g in regularizer_gradients(self.weights, reg).items():
                grads[name] = grads[name] + g
        self.optimizer.step(grads, lr=self.lr_at(epoch))   # masked: absent synapses stay absent
        self.partial["pred"][indices] = result.predictions
        self.partial["loss"][indices] = result.loss
        for k in range(len(self.arch.layers)):
            self.partial["rates"][k] += rec.counts(k).sum()

    def evaluate(self, dataset: Dataset, epoch: int = 0, desc: str = "test") -> dict:
        """Accuracy (%) and predictions on a data set with the current weights."""
        from .engine.loss import predict
        K = self.cfg.run_layout
        preds = np.empty(len(dataset), np.int64)
        bar = _bar(len(dataset), desc, self.progress)
        for start in range(0, len(dataset), K):
            idx = np.arange(start, min(start + K, len(dataset)))
            rec = self.sim.run(self.weights, dataset.inputs(idx, 0))
            preds[idx] = predict(rec.counts(len(self.arch.layers) - 1))
            bar.update(idx.size)
        bar.close()
        return {"accuracy": 100.0 * float(np.mean(preds == dataset.labels)), "predictions": preds}

    def run(self) -> pd.DataFrame:
        cfg = self.cfg
        from .optim import update_boost_weights
        self.sim = make_simulator(cfg, self.arch, self.params)
        try:
            while self.epoch < cfg.epochs:
                epoch = self.epoch
                order = self.order(epoch)
                n_batches = -(-len(order) // cfg.batch_size)
                bar = _bar(len(order), f"epoch {epoch}", self.progress, initial=min(self.batch_pos * cfg.batch_size, len(order)))
                t0 = time.perf_counter()
                while self.batch_pos < n_batches:
                    idx = order[self.batch_pos * cfg.batch_size:(self.batch_pos + 1) * cfg.batch_size]
                    self.step(idx, epoch)
                    self.batch_pos += 1
                    bar.update(idx.size)
                    done = self.partial["pred"] >= 0
                    bar.set_postfix(acc=f"{100 * np.mean(self.partial['pred'][done] == self.train_set.labels[done]):.1f}%", refresh=False)
                    if cfg.checkpoint_every and self.batch_pos % cfg.checkpoint_every == 0 and self.batch_pos < n_batches:
                        self.partial["seconds"] += time.perf_counter() - t0
                        t0 = time.perf_counter()
                        self.checkpoint(epoch_end=False)
                bar.close()
                train_seconds = self.partial["seconds"] + time.perf_counter() - t0
                pred, labels = self.partial["pred"], self.train_set.labels
                train_acc = 100.0 * float(np.mean(pred == labels))
                t1 = time.perf_counter()
                test = self.evaluate(self.test_set, epoch)
                row = {"epoch": epoch, "lr": self.lr_at(epoch), "loss": float(np.mean(self.partial["loss"])),
                       "train_accuracy": train_acc, "test_accuracy": test["accuracy"],
                       "train_seconds": train_seconds, "test_seconds": time.perf_counter() - t1}
                T_s = cfg.n_steps * 1e-3
                for k, lay in enumerate(self.arch.layers):
                    row[f"rate_layer{k}_hz"] = float(self.partial["rates"][k] / (len(order) * lay.size * T_s))
                row["silent_layer_batches"] = self.partial["silent"]
                row["best_test_accuracy"] = max([r["test_accuracy"] for r in self.rows] + [test["accuracy"]])
                self.rows.append(row)
                if cfg.boosting:
                    self.boost = update_boost_weights(self.boost, labels, pred, self.arch.n_classes)
                self.epoch += 1
                self.batch_pos = 0
                self.partial = self._fresh_partial()
                self.checkpoint(epoch_end=True)
                metrics = pd.DataFrame(self.rows)
                _atomic_write_text(self.run_dir / "metrics.csv", metrics.to_csv(index=False))
                try:
                    from .plotting import authors_curve, plot_learning_curve
                    ref = authors_curve(cfg.dataset, cfg.architecture)
                    plot_learning_curve(metrics, self.run_dir / "learning_curve.png",
                                        reference=ref[0] if ref else None,
                                        reference_label=ref[1] if ref else "authors")
                except Exception as exc:  # a plot must never kill a run
                    warnings.warn(f"could not draw the learning curve: {exc}")
                print(f"epoch {epoch}: loss {row['loss']:.3f}  train {train_acc:.2f} %  test {test['accuracy']:.2f} %  "
                      f"(best {row['best_test_accuracy']:.2f} %)  {train_seconds:.0f} s", file=sys.stderr, flush=True)
        finally:
            _close(self.sim)
            self.sim = None
        return pd.DataFrame(self.rows)


def _bar(total: int, desc: str, enabled: bool, initial: int = 0):
    """A progress bar; in a log file (no terminal) a line every 30 s instead of a live bar."""
    from tqdm.auto import tqdm
    tty = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="sample", initial=initial, leave=tty, disable=not enabled,
                dynamic_ncols=tty, mininterval=0.5 if tty else 30.0, ascii=not tty)


def train(cfg: TrainConfig | None, run_dir: str | Path, resume: bool = False, progress: bool = True) -> pd.DataFrame:
    """Train (or resume) a run in ``run_dir``; return the per-epoch metrics."""
    run_dir = Path(run_dir)
    if resume:
        if not (run_dir / "config.toml").is_file():
            raise FileNotFoundError(f"{run_dir} holds no run to resume (no config.toml)")
        cfg = load_config(run_dir / "config.toml")
        trainer = Trainer(cfg, run_dir, progress)
        latest = run_dir / "checkpoints" / "latest.npz"
        if latest.is_file():
            trainer.restore(latest)
        if trainer.epoch >= cfg.epochs:
            print(f"{run_dir}: all {cfg.epochs} epochs already done", file=sys.stderr)
            return pd.DataFrame(trainer.rows)
    else:
        if run_dir.exists() and any(run_dir.iterdir()):
            raise ValueError(f"run directory {run_dir} exists and is not empty; choose a new --out, "
                             "or pass --resume to continue that run")
        trainer = Trainer(cfg, run_dir, progress)   # loads data first: errors before anything is written
        run_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(run_dir / "config.toml", cfg.to_toml())
        _atomic_write_text(run_dir / "manifest.json", json.dumps(manifest(cfg), indent=2))
    return trainer.run()


def evaluate_run(run_dir: str | Path, split: str = "test", device: str | None = None,
                 limit: int | None = None, checkpoint: str | Path | None = None,
                 samples_per_run: int | None = None) -> dict:
    """Evaluate a run's weights; print and return accuracy and per-class accuracy.

    checkpoint: a file in ``RUN_DIR/checkpoints`` (e.g. ``epoch-000.npz``) or a path; default
    ``latest.npz``. samples_per_run: samples per simulator run during evaluation (default: the
    run's layout: its batch size, or for batch size 1 its ``samples_per_run``, by default 1 sample per
    launch; a batch-1 run tests faster with e.g. 64). Nothing in the run directory is written.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "config.toml").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.toml)")
    cfg = load_config(run_dir / "config.toml")
    changes = {"device": device}
    if limit is not None:
        changes["test_limit" if split == "test" else "train_limit"] = limit
    if samples_per_run is not None:       # evaluation only: batch size 1 makes the runner use samples_per_run
        changes.update(samples_per_run=samples_per_run, batch_size=1)     # TrainConfig validates it
    cfg = cfg.replace(**changes)
    trainer = Trainer(cfg, run_dir, progress=True)
    if checkpoint is None:
        path = run_dir / "checkpoints" / "latest.npz"
        if not path.is_file():
            raise FileNotFoundError(f"{run_dir} has no checkpoint yet (checkpoints/latest.npz)")
    else:
        path = Path(checkpoint)
        if not path.is_file():
            path = run_dir / "checkpoints" / checkpoint
        if not path.is_file():
            have = sorted(p.name for p in (run_dir / "checkpoints").glob("*.npz"))
            raise FileNotFoundError(f"checkpoint {checkpoint} not found (as a path or in {run_dir / 'checkpoints'}); "
                                    f"there: {', '.join(have) or 'none'}")
    trainer.restore(path)
    trainer.sim = make_simulator(cfg, trainer.arch, trainer.params)
    t0 = time.perf_counter()
    try:
        ds = trainer.test_set if split == "test" else trainer.train_set
        res = trainer.evaluate(ds, desc=split)
    finally:
        _close(trainer.sim)
    seconds = time.perf_counter() - t0
    per_class = pd.Series(res["predictions"] == ds.labels).groupby(ds.labels).mean() * 100
    print(f"{run_dir} {path.name} ({cfg.architecture}, epoch {trainer.epoch}, batch {trainer.batch_pos}): "
          f"{split} accuracy {res['accuracy']:.2f} % on {len(ds)} samples in {seconds:.0f} s")
    print("per class (%): " + ", ".join(f"{c}: {a:.1f}" for c, a in per_class.items()))
    return {"accuracy": res["accuracy"], "per_class": per_class.to_dict(), "epoch": trainer.epoch,
            "batch_pos": trainer.batch_pos, "seconds": seconds}
