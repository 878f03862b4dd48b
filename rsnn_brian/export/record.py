"""Record samples of a run directory with its weights: the run reopened as :func:`evaluate_run` does it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..spikes import Recording
from ..training import build_simulator, make_simulator
from ..training.api import open_run
from ._common import NetworkRecording

__all__ = ["record_run", "parse_samples", "DEFAULT_SAMPLES"]

log = logging.getLogger("rsnn_brian")

#: samples recorded when none are named: the first 20 (fewer if the split has fewer)
DEFAULT_SAMPLES = 20
#: samples per simulator run (bounds the NumPy simulator's dense arrays)
_CHUNK = 64


def parse_samples(spec, n: int) -> np.ndarray:
    """``"0:20"`` (end excluded; ``":"`` all, ``"5:"``), ``"7"`` or ``"1,4,9"`` -> indices into n samples."""
    text = str(spec).strip()
    try:
        if ":" in text:
            a, _, b = text.partition(":")
            start, stop = int(a) if a.strip() else 0, int(b) if b.strip() else n
            if not 0 <= start < stop:
                raise ValueError
            if stop > n:
                raise IndexError(stop)
            idx = np.arange(start, stop)
        else:
            idx = np.array([int(x) for x in text.split(",")], np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise IndexError(idx.max())
    except IndexError:
        raise ValueError(f"samples {text!r}: the split has {n} samples (0..{n - 1})") from None
    except ValueError:
        raise ValueError(f"samples must be START:STOP (stop excluded), an index or indices separated by "
                         f"commas, e.g. 0:20 or 3,7; got {text!r}") from None
    if idx.size == 0:
        raise ValueError(f"samples {text!r} selects no sample")
    return idx


def record_run(run_dir, split: str = "test", samples=None, checkpoint=None,
               device: str | None = None) -> NetworkRecording:
    """Simulate ``samples`` of a run's ``split`` with the run's weights and record every layer.

    ``samples`` (see :func:`parse_samples`; default the first 20) index the split as the run uses
    it (its class-balanced ``test_limit`` / ``train_limit`` subset, if it has one). ``checkpoint``:
    a file in ``RUN_DIR/checkpoints`` or a path (default ``latest.npz``); ``device``: another
    simulator than the run's. Nothing in the run directory is written.
    """
    opened = open_run(run_dir, split, checkpoint)
    rundir, saved, path, weights, state, ds = (opened.rundir, opened.config, opened.checkpoint, opened.weights,
                                               opened.state, opened.dataset)
    arch = weights.arch
    if samples is None:
        samples = f"0:{min(DEFAULT_SAMPLES, len(ds))}"
    idx = parse_samples(samples, len(ds))
    cfg = saved.replace(device=device, batch_size=1, samples_per_run=min(idx.size, _CHUNK))
    sim = make_simulator(cfg, arch, cfg.layer_params())
    try:
        build_simulator(sim, weights, ds.inputs(idx[:_CHUNK], 0))
        parts = [sim.run(weights, ds.inputs(idx[a:a + _CHUNK], 0)) for a in range(0, idx.size, _CHUNK)]
    finally:
        sim.close()
    rec = Recording([sum((p.layers[k] for p in parts), []) for k in range(len(arch.layers))])
    what = (f"{rundir.path} {Path(path).name} (epoch {int(state['epoch'])}, batch {int(state['batch_pos'])}): "
            f"{split} samples {samples} of {saved.dataset}, simulated on {cfg.device}")
    log.info("recorded %d %s samples of %s", idx.size, split, rundir.path)
    return NetworkRecording.from_config(rec, cfg, labels=ds.labels[idx], sample_index=idx,
                                        class_names=ds.class_names, config_toml=rundir.config_path.read_text(),
                                        weights=weights, description=what)
