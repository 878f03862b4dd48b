"""Simulators behind one interface: the Brian2 runner or the NumPy reference; build, progress, evaluation.

``make_simulator`` returns an object with ``run(weights, inputs) -> Recording`` and ``close()``
(a Brian2 runner also has ``build``). Brian2 is imported only for a Brian2 device.
"""

from __future__ import annotations

import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..config import TrainConfig
from ..data.registry import Dataset

__all__ = ["make_simulator", "build_simulator", "evaluate", "progress_bar", "EVAL_BLOCK"]

#: Simulator runs of ``samples_per_run`` samples handed to the simulator at once when evaluating.
EVAL_BLOCK = 8

log = logging.getLogger("rsnn_brian")


class _NumpySimulator:
    """The NumPy reference simulator behind the runner interface (never imports Brian2)."""

    def __init__(self, params, discretisation="brian2"):
        self.params, self.discretisation = params, discretisation

    def run(self, weights, inputs):
        from ..reference.simulate import simulate
        return simulate(weights, self.params, inputs, discretisation=self.discretisation)

    def close(self):
        pass


def make_simulator(cfg: TrainConfig, arch, params, build_dir=None):
    """A Brian2 :class:`~rsnn_brian.brian.runner.Runner` for ``cfg.device``, or the NumPy simulator for 'numpy'.

    The Brian2 neuron parameters come from the config through
    :func:`rsnn_brian.brian.model.from_config`; ``params`` (steps) drive the NumPy simulator.
    One Brian2 run simulates one mini-batch back to back (evaluation uses the same chunks);
    with ``workers`` > 1 on cpp_standalone the batch is cut into that many runs, started at once.
    """
    if cfg.device == "numpy":
        return _NumpySimulator(params, cfg.discretisation)
    from ..brian.model import from_config
    from ..brian.runner import Runner
    neuron_configs, dt = from_config(cfg)
    parallel = cfg.workers if cfg.device == "cpp_standalone" else 1
    return Runner(arch, neuron_configs, dt=dt, device=cfg.device, n_steps=cfg.n_steps,
                  samples_per_run=-(-cfg.run_layout // parallel), build_dir=build_dir, parallel_runs=parallel)


def _close(sim) -> None:
    if sim is not None:
        sim.close()


def build_simulator(sim, weights, batch) -> float:
    """Build (for standalone devices: generate and compile) ahead of the first progress bar.

    ``batch``: input trains like the first run's, to size the input list. Returns the seconds it took
    (0 for the NumPy simulator, which needs no build).
    """
    if not hasattr(sim, "build"):
        return 0.0
    device = sim.device_name
    what = f"the {device} project (once)" if device.endswith("standalone") else f"the Brian2 {device} network"
    log.info("building %s ...", what)
    t0 = time.perf_counter()
    sim.build(weights, inputs=batch)
    seconds = time.perf_counter() - t0
    log.info("built %s in %.1f s", what.replace(" (once)", ""), seconds)
    return seconds


def progress_bar(total: int, desc: str, enabled: bool, initial: int = 0):
    """A progress bar on stderr; in a log file (no terminal) a line every 30 s instead of a live bar."""
    from tqdm.auto import tqdm
    tty = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="sample", initial=initial, leave=tty, disable=not enabled,
                dynamic_ncols=tty, mininterval=0.5 if tty else 30.0, ascii=not tty, file=sys.stderr)


def evaluate(sim, weights, dataset: Dataset, samples_per_run: int, progress: bool = True,
             desc: str = "test") -> dict:
    """Accuracy (%) and predictions (int64, shape (n_samples,)) of ``weights`` on a data set.

    The samples go to the simulator in blocks of ``EVAL_BLOCK`` runs of ``samples_per_run``
    (a cpp_standalone runner keeps its ``parallel_runs`` binaries busy through a block), the
    next block's inputs drawn while one runs; the last layer's spike counts decide.
    """
    from ..engine.loss import predict
    out_layer = len(weights.arch.layers) - 1
    preds = np.empty(len(dataset), np.int64)
    step = samples_per_run * EVAL_BLOCK
    blocks = [np.arange(a, min(a + step, len(dataset))) for a in range(0, len(dataset), step)]
    bar = progress_bar(len(dataset), desc, progress)
    drawer = ThreadPoolExecutor(1, thread_name_prefix="rsnn-inputs")
    try:
        upcoming = drawer.submit(dataset.inputs, blocks[0], 0)
        for b, idx in enumerate(blocks):
            inputs = upcoming.result()
            if b + 1 < len(blocks):
                upcoming = drawer.submit(dataset.inputs, blocks[b + 1], 0)
            if getattr(sim, "takes_on_chunk", False):      # the bar moves as each run ends
                rec = sim.run(weights, inputs, on_chunk=lambda start, lay: bar.update(len(lay[0])))
            else:
                rec = sim.run(weights, inputs)
                bar.update(idx.size)
            preds[idx] = predict(rec.counts(out_layer))
    finally:
        drawer.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return {"accuracy": 100.0 * float(np.mean(preds == dataset.labels)), "predictions": preds}
