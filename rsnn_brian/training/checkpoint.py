"""Checkpoints: weights, optimiser state and loop state in one ``.npz`` (no pickle), written atomically.

A run keeps, in ``RUN_DIR/checkpoints/``::

    latest.npz         the newest state (epoch ends, and every N batches with checkpoint_every)
    epoch-NNN.npz      the state after NNN completed epochs: epoch-001.npz after the first
    weights.npz        the plain weights after the newest epoch (NetworkWeights.to_arrays())

Runs made before this naming called the file after the first epoch
``epoch-000.npz`` (0-based). Such a run keeps its names when it is resumed
(:func:`epoch_file_name` looks for ``epoch-000.npz``), and its files load
by name as before; the ``epoch`` stored inside every checkpoint always
counts completed epochs.

Format 1: arrays ``w/<name>`` (weights), ``opt/<name>`` (Adam state),
``state/<name>`` (array-valued loop state) and ``meta``, a JSON string with
the scalar loop state, ``format`` and ``architecture``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._io import atomic_savez, load_npz_with_meta
from ..network import NetworkWeights, parse_architecture

__all__ = ["CHECKPOINT_FORMAT", "save_checkpoint", "load_checkpoint", "epoch_file_name",
           "find_checkpoint", "checkpoint_dir"]

CHECKPOINT_FORMAT = 1
LEGACY_FIRST = "epoch-000.npz"


def checkpoint_dir(run_dir) -> Path:
    return Path(run_dir) / "checkpoints"


def save_checkpoint(path, weights: NetworkWeights, optimizer, state: dict) -> None:
    """Write weights, ``optimizer.state_dict()`` and ``state`` (arrays and JSON-able scalars) to ``path``."""
    arrays = {f"w/{k}": v for k, v in weights.to_arrays().items()}
    arrays.update({f"opt/{k}": np.asarray(v) for k, v in optimizer.state_dict().items()})
    for k, v in state.items():
        if isinstance(v, np.ndarray):
            arrays[f"state/{k}"] = v
    meta = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    meta["format"] = CHECKPOINT_FORMAT
    meta["architecture"] = str(weights.arch)
    arrays["meta"] = np.array(json.dumps(meta))
    atomic_savez(path, arrays)


def load_checkpoint(path):
    """Return (weights, optimizer_state, state). Never unpickles."""
    path = Path(path)
    data, meta = load_npz_with_meta(path, "checkpoint", "resume from an earlier checkpoints/epoch-NNN.npz by "
                                    "copying it to checkpoints/latest.npz, or start a new run")
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {path} has format {meta.get('format')!r}, expected {CHECKPOINT_FORMAT}")
    arch = parse_architecture(meta["architecture"])
    autapses = bool((meta.get("config") or {}).get("autapses", False))     # the run's own setting
    weights = NetworkWeights.from_arrays(arch, {k[2:]: v for k, v in data.items() if k.startswith("w/")},
                                         allow_autapses=autapses)
    opt = {k[4:]: v for k, v in data.items() if k.startswith("opt/")}
    state = dict(meta)
    state.update({k[6:]: v for k, v in data.items() if k.startswith("state/")})
    return weights, opt, state


def epoch_file_name(run_dir, completed: int) -> str:
    """File name of the checkpoint after ``completed`` epochs (from 1): ``epoch-001.npz`` after the first.

    A run that already holds ``epoch-000.npz`` was named 0-based; it goes on that way.
    """
    if completed < 1:
        raise ValueError(f"completed epochs must be >= 1, got {completed}")
    legacy = (checkpoint_dir(run_dir) / LEGACY_FIRST).is_file()
    return f"epoch-{completed - 1 if legacy else completed:03d}.npz"


def find_checkpoint(run_dir, checkpoint=None) -> Path:
    """``latest.npz``, or ``checkpoint`` as a path or as a file name in ``RUN_DIR/checkpoints``."""
    ck = checkpoint_dir(run_dir)
    if checkpoint is None:
        path = ck / "latest.npz"
        if not path.is_file():
            raise FileNotFoundError(f"{run_dir} has no checkpoint yet (checkpoints/latest.npz)")
        return path
    path = Path(checkpoint)
    if not path.is_file():
        path = ck / str(checkpoint)
    if not path.is_file():
        have = sorted(p.name for p in ck.glob("*.npz"))
        raise FileNotFoundError(f"checkpoint {checkpoint} not found (as a path or in {ck}); "
                                f"there: {', '.join(have) or 'none'}")
    return path
