"""Reader for N-TIDIGITS18 as distributed (``n-tidigits.hdf5``).

N-TIDIGITS18 (Anumula, Neil, Delbruck & Liu, Front. Neurosci. 2018) is
TIDIGITS played to the CochleaAMS1b silicon cochlea: 64 frequency channels
of address events. The public HDF5 file holds, for ``<s>`` in train, test:

* ``<s>_labels``: 1-D dataset of byte strings, one per utterance, e.g.
  ``b"man-ae-1"`` or ``b"woman-xy-1z2"``; the part after the last ``-`` is
  the spoken digit string (``z`` zero, ``o`` oh, ``1``-``9``);
* ``<s>_addresses/<label>``: channel of every event (integers 0-63);
* ``<s>_timestamps/<label>``: time of every event in seconds (float).

Classes of the single-digit task (11, as in the paper's 64-400-R400-400-11
run): ``z`` -> 0, ``1``-``9`` -> 1-9, ``o`` -> 10. Utterances with more than
one digit are skipped unless ``single_digits_only=False`` (then the label is
-1 and the caller decides).

Binning: an event at t seconds goes to step ``floor(round(t * 1e6) / dt_us)``
(whole microseconds first, so float error cannot move 0.7 s to step 699),
dt = 1 ms;
events at steps >= T (700) are cut; several events of one channel in one
step count as one spike (SpikeTrains holds at most one spike per neuron and
step). Timestamps are used as stored (relative to the recording's start).

``h5py`` is an optional dependency, imported on first use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..spikes import SpikeTrains

__all__ = ["N_CHANNELS", "DIGIT_CLASSES", "CLASS_NAMES", "FILE", "find_ntidigits", "digit_class", "bin_events",
           "load_ntidigits"]

N_CHANNELS = 64
#: The distributed file's name; :func:`find_ntidigits` looks for it under the data root.
FILE = "n-tidigits.hdf5"
#: label character -> class index
DIGIT_CLASSES = {"z": 0, **{str(d): d for d in range(1, 10)}, "o": 10}
#: class index -> name (``zero`` and ``oh`` are the two spoken forms of 0)
CLASS_NAMES = ("zero", *map(str, range(1, 10)), "oh")


def _h5py():
    try:
        import h5py
    except ImportError as e:
        raise ImportError("reading N-TIDIGITS needs h5py: pip install h5py") from e
    return h5py


def find_ntidigits(data_dir=None) -> Path:
    """``n-tidigits.hdf5`` under the data root (``data_dir``, else ``$RSNN_BRIAN_DATA``, else
    ``~/.cache/rsnn_brian/data``): in ``n-tidigits/`` or at the root itself.

    The file is not downloaded (it is distributed by its authors on request); a missing file is a
    one-line FileNotFoundError that names the places looked in.
    """
    from .._io import data_root
    root = data_root(data_dir)
    cands = [root / "n-tidigits" / FILE, root / FILE]
    for p in cands:
        if p.is_file():
            return p
    raise FileNotFoundError(f"N-TIDIGITS: {FILE} not found (looked in {cands[0]} and {cands[1]}); it is not "
                            "downloaded automatically: put the distributed file there or set data_dir")


def digit_class(label: str) -> int:
    """Class of a single-digit utterance label (``"man-ae-o"`` -> 10); -1 if multi-digit."""
    digits = label.rsplit("-", 1)[-1]
    if len(digits) != 1:
        return -1
    if digits not in DIGIT_CLASSES:
        raise ValueError(f"N-TIDIGITS label {label!r}: unknown digit {digits!r}")
    return DIGIT_CLASSES[digits]


def bin_events(addresses: np.ndarray, timestamps: np.ndarray, n_steps: int = 700,
               dt: float = 1e-3, n_channels: int = N_CHANNELS) -> SpikeTrains:
    """Address events -> SpikeTrains of ``n_channels`` neurons and ``n_steps`` steps.

    Parameters
    ----------
    addresses : int array, shape (n_events,), channel 0..n_channels-1
    timestamps : float array, shape (n_events,), seconds (>= 0)
    dt : step length in seconds
    """
    a = np.asarray(addresses).ravel()
    t = np.asarray(timestamps, dtype=np.float64).ravel()
    if a.shape != t.shape:
        raise ValueError(f"{a.size} addresses but {t.size} timestamps")
    if a.size and (a.min() < 0 or a.max() >= n_channels):
        raise ValueError(f"N-TIDIGITS addresses must lie in [0, {n_channels}), "
                         f"got [{a.min()}, {a.max()}]")
    if t.size and (not np.all(np.isfinite(t)) or t.min() < 0):
        raise ValueError("N-TIDIGITS timestamps must be finite and >= 0")
    # whole microseconds first (the recorder's resolution), so that 0.7 s is step 700, not 699
    dt_us = int(round(dt * 1e6))
    if dt_us < 1 or abs(dt_us - dt * 1e6) > 1e-6:
        raise ValueError(f"dt must be a whole number of microseconds, got {dt} s")
    step = np.rint(t * 1e6).astype(np.int64) // dt_us
    keep = step < n_steps
    key = np.unique(step[keep] * n_channels + a[keep].astype(np.int64))
    return SpikeTrains(key % n_channels, key // n_channels, n_channels, n_steps)


def load_ntidigits(path, split: str = "train", n_steps: int = 700, dt: float = 1e-3,
                   single_digits_only: bool = True
                   ) -> tuple[list[SpikeTrains], np.ndarray, list[str]]:
    """Read one split of ``n-tidigits.hdf5``.

    Returns
    -------
    trains : list of SpikeTrains (64 neurons, ``n_steps`` steps), file order
    labels : int64 array (class 0-10; -1 for multi-digit utterances)
    keys : the utterance labels as stored (e.g. ``"man-ae-o"``)
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"N-TIDIGITS file not found: {path}")
    h5py = _h5py()
    trains, labels, keys = [], [], []
    with h5py.File(path, "r") as f:
        missing = [g for g in (f"{split}_labels", f"{split}_addresses", f"{split}_timestamps")
                   if g not in f]
        if missing:
            raise ValueError(f"{path} is not an N-TIDIGITS file: missing {missing}")
        for raw in f[f"{split}_labels"][()]:
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            cls = digit_class(key)
            if single_digits_only and cls < 0:
                continue
            trains.append(bin_events(f[f"{split}_addresses"][key][()],
                                     f[f"{split}_timestamps"][key][()], n_steps, dt))
            labels.append(cls)
            keys.append(key)
    return trains, np.array(labels, dtype=np.int64), keys
