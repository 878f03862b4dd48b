"""Data-parallel ST-RSBP on Dask: batch shares simulated and differentiated on workers.

A batch is cut into ``n_shares`` contiguous shares (:func:`share_slices`). Each share is
simulated and back-propagated by :func:`compute_share` (in this process, or on a Dask worker
by :func:`_share_task`); the client sums the shares' gradients in share order
(:func:`combine_grads`) and takes the optimiser step. With one share this is exactly the
single-process step; with the same number of shares the weights are the same (bit for bit)
whether the shares run in this process, on 1 or on N workers, or again after a lost worker.

Workers keep, per configuration, the network (its simulator: a NumPy one or a built Brian2
runner with its own project folder under the worker's local directory), the data sets they
encode from their own data directory, and the engine settings; only indices, the weights (once
per worker and batch, scattered) and the share's sample weights travel out, and only the summed
gradients, predictions, losses and spike counts come back. Importing this module does not
import Dask.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import threading
import warnings

import numpy as np

from ..config import TrainConfig

__all__ = ["share_slices", "compute_share", "differentiate", "recorded_warnings", "sorted_warnings",
           "combine_grads", "engine_settings", "n_shares", "engine_tables",
           "DaskExecutor", "parse_dask"]

log = logging.getLogger("rsnn_brian")

#: Testing hook: a worker whose task finds this file removes it and kills its own process
#: (SIGKILL), once, in the middle of a batch.
KILL_FILE_ENV = "RSNN_BRIAN_DASK_KILL_FILE"
#: Seconds to wait for a scheduler given by address (``tcp://HOST:PORT``) before giving up.
CONNECT_TIMEOUT = 10.0


# -- what one process computes ---------------------------------------------------------------

def engine_settings(cfg: TrainConfig):
    """The trainer's EngineSettings for a config (the same on the client and on every worker).

    A batch cut into shares is back-propagated one thread per share (the shares are the
    parallelism); one share (``shares = 1``) uses ``workers`` engine threads.
    """
    from ..engine import EngineSettings
    threads = cfg.workers if cfg.shares == 1 and not cfg.dask else 1
    return EngineSettings(option=cfg.gradient, dtype=cfg.engine_dtype, silent_ratio=cfg.silent_ratio,
                          threads=threads, recurrent_below=cfg.recurrent_below, discretisation=cfg.discretisation)


def n_shares(cfg: TrainConfig, dask_workers: int | None = None) -> int:
    """Shares per batch: ``cfg.shares``, else the Dask workers (when on Dask), else ``cfg.workers``."""
    return cfg.shares or (dask_workers if dask_workers is not None else cfg.workers)


def engine_tables(cfg: TrainConfig, params) -> list:
    """Effect-ratio tables, one per layer with incoming weights: read from ``effect_ratio_files``, else made
    (cached on disk) in the authors' update (``effect_ratio = 'authors'``) or in the network's own
    discretisation."""
    from ..engine import resolve_tables
    from ..engine.effect_ratio import load_reference_table
    if cfg.effect_ratio_files is not None:
        return [load_reference_table(path) for path in cfg.table_files()]
    disc = "authors" if cfg.effect_ratio == "authors" else cfg.discretisation
    return resolve_tables(None, params, cfg.n_steps, discretisation=disc)[1:]


def share_slices(batch_size: int, n_shares: int) -> list[slice]:
    """``n_shares`` contiguous parts of a batch (at most one per sample), sizes differing by at most 1."""
    n = max(1, min(int(n_shares), batch_size))
    q, r = divmod(batch_size, n)
    bounds = np.cumsum([0] + [q + (i < r) for i in range(n)])
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


def compute_share(sim, weights, params, engine, tables, dataset, indices, epoch: int, sample_weight) -> dict:
    """Simulate and back-propagate one share; the gradients are averaged over the share.

    Returns ``n``, ``grads`` (float64 arrays keyed like ``weights.trainable()``), ``pred``, ``loss``,
    ``spikes`` (spike count per layer, summed over the share), ``silent`` (1 if a layer fell silent)
    and ``warnings`` (other warnings: message, category, file, line).
    """
    indices = np.asarray(indices)
    rec = sim.run(weights, dataset.inputs(indices, epoch))
    with recorded_warnings() as caught:
        out = differentiate(rec, weights, params, engine, tables, dataset.labels[indices], sample_weight)
    return {**out, **sorted_warnings(caught)}


def differentiate(rec, weights, params, engine, tables, labels, sample_weight) -> dict:
    """The back-propagation of one simulated share: :func:`compute_share` without the simulation
    and the warnings (thread-safe: the caller records warnings once, around every thread)."""
    from ..engine import backward
    result = backward(rec, weights, params, labels, settings=engine, sample_weight=sample_weight, tables=tables)
    return {"n": int(len(labels)), "grads": result.grads, "pred": result.predictions, "loss": result.loss,
            "spikes": [rec.counts(k).sum() for k in range(len(rec.layers))]}


@contextlib.contextmanager
def recorded_warnings():
    """Record every warning (each SilentLayerWarning, even repeated) into the yielded list."""
    from ..engine import SilentLayerWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SilentLayerWarning)
        yield caught


def sorted_warnings(caught) -> dict:
    """``silent`` (how many SilentLayerWarnings) and ``warnings`` (the others) of recorded warnings."""
    from ..engine import SilentLayerWarning
    silent = sum(issubclass(w.category, SilentLayerWarning) for w in caught)
    other = [(str(w.message), w.category, w.filename, w.lineno) for w in caught
             if not issubclass(w.category, SilentLayerWarning)]
    return {"silent": silent, "warnings": other}


def combine_grads(shares: list[dict], batch_size: int) -> dict:
    """Batch-averaged gradients: the shares' averages weighted by share size, summed in share order."""
    if len(shares) == 1:
        return shares[0]["grads"]           # exactly the single-process step
    total = {}
    for sh in shares:
        f = sh["n"] / batch_size
        for name, g in sh["grads"].items():
            total[name] = g * f if name not in total else total[name] + g * f
    return total


# -- on a worker -----------------------------------------------------------------------------

class _WorkerState:
    """One configuration's network, data and engine on one worker (kept between batches)."""

    def __init__(self, cfg: TrainConfig, local_dir: str, key: str):
        from ..network import parse_architecture
        self.cfg = cfg
        self.arch = parse_architecture(cfg.architecture)
        self.params = cfg.layer_params()
        self.engine = engine_settings(cfg)
        self.build_dir = os.path.join(local_dir, f"rsnn_brian-{key}")
        self.sim = None
        self.sets = {}
        self.lock = threading.Lock()      # one simulator: one share at a time on this worker

    def dataset(self, split: str):
        if split not in self.sets:
            from ..data.registry import load_dataset
            self.sets[split] = load_dataset(self.cfg, split)
        return self.sets[split]

    def simulator(self, weights, first_inputs):
        if self.sim is None:
            from . import simulators
            sim = simulators.make_simulator(self.cfg, self.arch, self.params, build_dir=self.build_dir)
            simulators.build_simulator(sim, weights, first_inputs)
            self.sim = sim
        return self.sim


def _import_brian2_plugin():
    """A worker plugin that imports Brian2 in the worker's main thread (its event loop): Brian2
    installs a signal handler when imported, which Python allows only there, not in a task's thread."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class ImportBrian2(WorkerPlugin):
        name = "rsnn_brian-import-brian2"

        def setup(self, worker=None):
            import brian2  # noqa: F401
    return ImportBrian2()


def _worker_state(setup: dict) -> _WorkerState:
    from distributed import get_worker
    worker = get_worker()
    states = worker.__dict__.setdefault("_rsnn_brian_states", {})
    key = setup["key"]
    if key not in states:
        states[key] = _WorkerState(TrainConfig.from_dict(setup["config"]), worker.local_directory, key)
    return states[key]


def _maybe_die() -> None:
    path = os.environ.get(KILL_FILE_ENV)
    if path:
        try:
            os.remove(path)
        except FileNotFoundError:
            return
        os.kill(os.getpid(), signal.SIGKILL)


def _share_task(setup: dict, weights, indices, epoch: int, sample_weight) -> dict:
    st = _worker_state(setup)
    with st.lock:
        _maybe_die()
        train = st.dataset("train")
        sim = st.simulator(weights, train.inputs(indices, epoch))
        return compute_share(sim, weights, st.params, st.engine, setup["tables"], train, indices, epoch,
                             sample_weight)


def _evaluate_task(setup: dict, weights, split: str, start: int, stop: int, per_run: int) -> np.ndarray:
    from ..engine.loss import predict
    st = _worker_state(setup)
    with st.lock:
        ds = st.dataset(split)
        out = len(weights.arch.layers) - 1
        preds = []
        for a in range(start, stop, per_run):
            idx = np.arange(a, min(a + per_run, stop))
            sim = st.simulator(weights, ds.inputs(idx, 0))
            preds.append(predict(sim.run(weights, ds.inputs(idx, 0)).counts(out)))
        return np.concatenate(preds)


# -- on the client ---------------------------------------------------------------------------

def parse_dask(spec: str) -> tuple[str, int | str]:
    """``'local:N'`` -> ('local', N); ``'tcp://HOST:PORT'`` -> ('address', spec)."""
    if spec.startswith("local:"):
        n = int(spec[6:])
        if n < 1:
            raise ValueError(f"dask: local:N needs N >= 1, got {spec!r}")
        return "local", n
    if "://" not in spec:
        raise ValueError(f"dask must be 'local:N' or 'tcp://HOST:PORT', got {spec!r}")
    return "address", spec


class DaskExecutor:
    """Runs a trainer's batch shares and evaluations on a Dask cluster; the client keeps the state.

    ``cfg.dask``: ``local:N`` starts a LocalCluster of N single-threaded worker processes on
    127.0.0.1 (no dashboard unless ``dashboard_address`` is given); ``tcp://HOST:PORT`` connects
    to a running scheduler (``timeout`` seconds, then a ConnectionError). ``retries``: how often a
    share that raised is run again (a share on a worker that died is rescheduled by Dask anyway).
    """

    def __init__(self, cfg: TrainConfig, tables=None, timeout: float | None = None, retries: int = 3,
                 dashboard_address: str | None = None):
        timeout = CONNECT_TIMEOUT if timeout is None else timeout
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ImportError("--dask needs Dask: pip install 'rsnn_brian[dask]' "
                              "(dask[distributed])") from None
        kind, what = parse_dask(cfg.dask)
        self.cluster = None
        if kind == "local":
            self.cluster = LocalCluster(n_workers=what, threads_per_worker=1, processes=True, host="127.0.0.1",
                                        dashboard_address=dashboard_address, silence_logs=logging.ERROR,
                                        # no dashboard; the scheduler's plain HTTP routes on a free local port
                                        scheduler_kwargs=None if dashboard_address else
                                        {"dashboard_address": "127.0.0.1:0"})
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(what, timeout=f"{timeout}s")
            except (OSError, TimeoutError) as err:
                raise ConnectionError(
                    f"cannot reach the Dask scheduler at {what} within {timeout:g} s ({type(err).__name__}); "
                    f"start one (`dask scheduler`, then `dask worker {what}`), check the address, or use "
                    "--dask local:N") from None
        try:
            self.client.wait_for_workers(1, timeout=max(timeout, 30.0))
        except (OSError, TimeoutError):
            self.close()
            raise ConnectionError(f"the Dask scheduler at {cfg.dask} has no workers; start some with "
                                  f"`dask worker {self.client.scheduler.address}`") from None
        self.n_workers = len(self.client.scheduler_info()["workers"])
        self.retries = int(retries)
        config = cfg.to_dict()
        key = hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
        if tables is None:
            tables = engine_tables(cfg, cfg.layer_params())
        self.setup = {"config": config, "key": key, "tables": tables}
        if cfg.device != "numpy":
            plugin = _import_brian2_plugin()
            self.client.register_plugin(plugin, name=plugin.name)
        log.info("training on Dask (%s): %d workers", cfg.dask, self.n_workers)

    def _weights(self, weights):
        return self.client.scatter(weights, broadcast=True, hash=False)

    def _gather(self, submit, n: int) -> list:
        """Submit ``n`` tasks (``submit(i, weights_future)``) and gather them in order; once more
        with freshly scattered weights if every copy of the weights was lost with its workers."""
        from distributed.client import FutureCancelledError
        for attempt in range(2):
            w = self._weights(self.weights)
            futures = [submit(i, w) for i in range(n)]
            try:
                return self.client.gather(futures)
            except (FutureCancelledError, KeyError) as err:      # lost data, not a failing share
                if attempt:
                    raise
                log.warning("Dask: lost the weights with a worker (%s); sending them again", err)
            finally:
                del futures, w
        raise AssertionError("unreachable")

    def run_batch(self, weights, shares: list[np.ndarray], epoch: int, boost: np.ndarray) -> list[dict]:
        """The shares' :func:`compute_share` results, in share order."""
        self.weights = weights

        def submit(i, w):
            return self.client.submit(_share_task, self.setup, w, shares[i], epoch, boost[shares[i]],
                                      pure=True, retries=self.retries)
        return self._gather(submit, len(shares))

    def evaluate(self, weights, dataset, split: str, per_run: int) -> dict:
        """Accuracy (%) and predictions of ``weights`` on a split (chunks of ``per_run`` as in one process)."""
        n = len(dataset)
        n_chunks = -(-n // per_run)
        bounds = [c * per_run for c in np.linspace(0, n_chunks, min(n_chunks, 2 * self.n_workers) + 1).astype(int)]
        bounds[-1] = n
        self.weights = weights

        def submit(i, w):
            return self.client.submit(_evaluate_task, self.setup, w, split, bounds[i], bounds[i + 1], per_run,
                                      pure=True, retries=self.retries)
        preds = np.concatenate(self._gather(submit, len(bounds) - 1)).astype(np.int64)
        return {"accuracy": 100.0 * float(np.mean(preds == dataset.labels)), "predictions": preds}

    def close(self) -> None:
        self.weights = None
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
