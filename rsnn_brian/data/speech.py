"""Spoken-digit inputs: FSDD encoded with the paper's front end, cached on disk.

:func:`load_fsdd_spikes` returns one :class:`~rsnn_brian.spikes.SpikeTrains`
per recording (78 input neurons, T = 700 steps of 1 ms) and the digit labels.
The encoder (:mod:`rsnn_brian.data.cochlea`) costs tens of milliseconds per
utterance, so results are cached:

* cache directory: ``cache_dir`` argument, else ``$RSNN_BRIAN_CACHE``, else
  ``~/.cache/rsnn_brian``; files live in ``<cache>/speech/<key>/<sha256>.npz``;
* ``<key>`` hashes every :class:`SpeechEncoding` parameter, the encoder
  version :data:`ENCODER_VERSION` and the ``lyon`` package version;
  ``<sha256>`` is the WAV file's content hash, so a changed file or
  parameter is a cache miss, never a stale hit;
* files are written with ``np.savez`` (no pickle; read with
  ``allow_pickle=False``) to a temporary name and moved into place
  atomically (:func:`rsnn_brian._io.atomic_savez`), so parallel writers are
  safe; a cache file that cannot be read (truncated, garbage) is reported
  with its path (:class:`~rsnn_brian._io.CorruptCacheWarning`) and
  recomputed;
* misses are encoded in a process pool (``n_jobs``, default all cores).

Other modules: :mod:`rsnn_brian.data.fsdd` (files, download, splits),
:mod:`rsnn_brian.data.ntidigits` (N-TIDIGITS HDF5 reader).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .._io import atomic_savez, cache_root, warn_corrupt_cache
from ..spikes import SpikeTrains
from .cochlea import (
    SpeechEncoding,
    bsa_encode,
    bsa_kernel,
    bsa_steps,
    cochleagram,
    encode_waveform,
    hold_frames,
    lyon_version,
    steps_to_spike_trains,
)
from .fsdd import FSDD_SAMPLE_RATE, FsddRecord, fsdd_dir, read_manifest, read_wav, sha256_file, split_manifest

__all__ = ["SpeechEncoding", "ENCODER_VERSION", "cache_root", "encoding_key", "encode_file",
           "encode_files", "load_fsdd_spikes", "cochleagram", "bsa_encode", "bsa_kernel",
           "hold_frames", "bsa_steps", "steps_to_spike_trains", "encode_waveform"]

#: Bump when the encoder's code changes its output for the same parameters.
ENCODER_VERSION = 2   # 2: hold frames, then BSA per step (the authors' order)


# cache_root (argument, else $RSNN_BRIAN_CACHE, else ~/.cache/rsnn_brian) is rsnn_brian._io's.


def encoding_key(enc: SpeechEncoding = SpeechEncoding()) -> str:
    """Hash of every encoder parameter, the encoder version and the lyon version (16 hex)."""
    blob = json.dumps({"params": enc.to_dict(), "encoder_version": ENCODER_VERSION,
                       "lyon": lyon_version()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _save(path: Path, st: SpikeTrains) -> None:
    atomic_savez(path, {"neuron": st.neuron.astype(np.int32), "step": st.step.astype(np.int32),
                        "shape": np.array([st.n_neurons, st.n_steps], dtype=np.int64)})


def _load(path: Path) -> SpikeTrains:
    # our own handle: np.load(path) leaves the file open when the zip is damaged
    with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
        n_neurons, n_steps = (int(v) for v in z["shape"])
        return SpikeTrains(z["neuron"].astype(np.int64), z["step"].astype(np.int64),
                           n_neurons, n_steps)


#: What reading a damaged cache file raises: truncated zip, garbage, a missing
#: array, arrays SpikeTrains refuses, a file that vanished or cannot be read.
_CORRUPT = (OSError, EOFError, ValueError, TypeError, KeyError, zipfile.BadZipFile)


def _load_cached(path: Path) -> SpikeTrains | None:
    """The cached trains at ``path``; None if absent, or unreadable (said, with its path)."""
    if not path.is_file():
        return None
    try:
        return _load(path)
    except _CORRUPT as err:
        warn_corrupt_cache(path, err)
        return None


def _encode_to(cpath: Path, path: Path, enc: SpeechEncoding, expected_rate: int | None) -> SpikeTrains:
    x, rate = read_wav(path, expected_rate)
    st = encode_waveform(x, rate, enc)
    _save(cpath, st)
    return st


def encode_file(path, enc: SpeechEncoding = SpeechEncoding(), cache_dir=None,
                sha256: str | None = None, expected_rate: int | None = None) -> SpikeTrains:
    """Encode one WAV file, through the cache.

    ``sha256`` (the file's content hash) may be given to skip hashing it.
    ``expected_rate``: the sample rate the WAV must have (None: any, resampled).
    An unreadable cache file is reported (:class:`~rsnn_brian._io.CorruptCacheWarning`)
    and recomputed.
    """
    path = Path(path)
    digest = sha256 or sha256_file(path)
    cpath = cache_root(cache_dir) / "speech" / encoding_key(enc) / f"{digest}.npz"
    st = _load_cached(cpath)
    if st is not None:
        return st
    return _encode_to(cpath, path, enc, expected_rate)


def _encode_job(args):
    cpath, path, enc, expected_rate = args
    _encode_to(cpath, path, enc, expected_rate)
    return None


def encode_files(paths, enc: SpeechEncoding = SpeechEncoding(), cache_dir=None,
                 sha256s=None, n_jobs: int | None = None,
                 expected_rate: int | None = None) -> list[SpikeTrains]:
    """Encode many WAV files through the cache; misses go to a process pool.

    Parameters
    ----------
    paths : sequence of WAV paths
    sha256s : their content hashes (optional; computed when None)
    n_jobs : worker processes for the misses (default ``os.cpu_count()``; 1 = serial)
    expected_rate : the sample rate every WAV must have (None: any, resampled)

    Unreadable cache files count as misses (reported with their path by a
    :class:`~rsnn_brian._io.CorruptCacheWarning`) and are recomputed.
    """
    paths = [Path(p) for p in paths]
    digests = list(sha256s) if sha256s is not None else [sha256_file(p) for p in paths]
    if len(digests) != len(paths):
        raise ValueError("encode_files: paths and sha256s differ in length")
    base = cache_root(cache_dir) / "speech" / encoding_key(enc)
    cpaths = [base / f"{d}.npz" for d in digests]
    out = [_load_cached(c) for c in cpaths]
    misses = [(c, p, enc, expected_rate) for c, p, st in zip(cpaths, paths, out) if st is None]
    if n_jobs is None:
        n_jobs = os.cpu_count() or 1
    if misses:
        if n_jobs > 1 and len(misses) > 1:
            with ProcessPoolExecutor(max_workers=min(n_jobs, len(misses))) as pool:
                list(pool.map(_encode_job, misses, chunksize=8))
        else:
            for m in misses:
                _encode_job(m)
    return [st if st is not None else _load(c) for c, st in zip(cpaths, out)]


def load_fsdd_spikes(split: str = "train", split_kind: str = "official",
                     held_out_speaker: str | None = None, data_dir=None, cache_dir=None,
                     enc: SpeechEncoding = SpeechEncoding(), n_jobs: int | None = None,
                     download: bool = True) -> tuple[list[SpikeTrains], np.ndarray]:
    """FSDD as input spike trains.

    Parameters
    ----------
    split : "train" or "test"
    split_kind : "official" (recordings 0-4 are test) or "speaker" (one speaker held out)
    held_out_speaker : the test speaker for ``split_kind="speaker"`` (default "theo")
    data_dir : root holding ``fsdd/`` (else $RSNN_BRIAN_DATA, else ~/.cache/rsnn_brian/data)
    cache_dir : encoded-spike cache (else $RSNN_BRIAN_CACHE, else ~/.cache/rsnn_brian)
    enc : encoder parameters (defaults: the paper's)
    n_jobs : worker processes for encoding cache misses
    download : fetch FSDD when absent

    Returns
    -------
    trains : list of SpikeTrains, one per recording (manifest order), each
        ``enc``'s 78 neurons x 700 steps for the defaults
    labels : int64 array, shape (n_recordings,), the spoken digit 0-9
    """
    d = fsdd_dir(data_dir, download=download)
    records: list[FsddRecord] = split_manifest(read_manifest(d), split, split_kind,
                                               held_out_speaker)
    digests = [sha256_file(r.path) for r in records]   # about 50 ms for all 3,000 files
    bad = [r.path for r, h in zip(records, digests) if h != r.sha256]
    if bad:
        raise OSError(f"{len(bad)} FSDD file(s) in {d} differ from manifest.csv "
                      f"(first: {bad[0]}); delete {d} and run again with download=True "
                      f"to download it again")
    trains = encode_files([r.path for r in records], enc, cache_dir, digests, n_jobs,
                          expected_rate=FSDD_SAMPLE_RATE)
    return trains, np.array([r.digit for r in records], dtype=np.int64)
