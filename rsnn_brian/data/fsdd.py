"""Free Spoken Digit Dataset (FSDD): locate, download, verify, read and split.

FSDD: 6 speakers x 10 digits x 50 repetitions = 3,000 mono 16-bit WAV files at
8 kHz (``recordings/{digit}_{speaker}_{index}.wav``), CC BY-SA 4.0, from the
GitHub repository Jakobovski/free-spoken-digit-dataset at commit
:data:`FSDD_COMMIT` (see ``shared/data/fsdd/README.md``).

Data directory, first that applies:

1. the ``data_dir`` argument (a root that holds ``fsdd/``),
2. the environment variable ``RSNN_BRIAN_DATA`` (same layout),
3. ``~/.cache/rsnn_brian/data``.

When ``<root>/fsdd/recordings`` is absent, :func:`fsdd_dir` downloads the
GitHub archive of the pinned commit (``download=True``), checks every WAV
against the pinned digest of ``SHA256SUMS``, writes ``SHA256SUMS``,
``manifest.csv`` and ``speakers.csv`` in the layout of ``shared/data/fsdd``
and moves the folder into place in one ``os.replace`` (atomic: a crashed or
concurrent download never leaves a half-filled ``fsdd/``).

WAV conversions (:func:`read_wav`), all documented and tested:

* integer PCM is scaled to [-1, 1): int16 / 2**15, int32 / 2**31,
  uint8 (x - 128) / 128; float WAVs are taken as they are;
* stereo / multi-channel files are averaged to mono;
* an empty file (no samples) raises :class:`WavError`;
* a file that is not a WAV, or is truncated (fewer samples than its header
  says), or holds NaN/inf raises :class:`WavError` naming the file and the
  fix (for a file of an FSDD folder: delete the folder, run with download);
* the sample rate is returned, not changed: resampling to the ear model's
  rate happens in :func:`rsnn_brian.data.cochlea.resample_to`; with
  ``expected_rate`` (FSDD: :data:`FSDD_SAMPLE_RATE`) another rate is a
  :class:`WavError`.

Splits (:func:`split_manifest`):

* ``"official"``: recordings 0-4 of every speaker and digit are the test set
  (300 files), 5-49 the training set (2,700) -- the upstream README's split;
* ``"speaker"``: one speaker (``held_out_speaker``, default ``"theo"``) is
  the test set (500 files), the other five the training set (2,500).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import tempfile
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from .._io import DATA_ENV, data_root

__all__ = [
    "FSDD_COMMIT", "FSDD_URL", "SHA256SUMS_SHA256", "MANIFEST_SHA256", "SPEAKERS", "FSDD_SAMPLE_RATE",
    "WavError", "FsddRecord", "data_root", "fsdd_dir", "download_fsdd", "read_manifest",
    "read_wav", "split_manifest", "sums_text", "manifest_text", "sha256_file",
]

#: Upstream commit the shared copy was taken from (2024-05-02).
FSDD_COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"
#: GitHub archive of that commit.
FSDD_URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{FSDD_COMMIT}.zip"
#: sha256 of SHA256SUMS (shared/data/fsdd/README.md); pins all 3,000 WAVs.
SHA256SUMS_SHA256 = "048d4a35c25a99138109f9c400bbe4392a9f5e07eb7bc98350f27b5a0fd11269"
#: sha256 of manifest.csv (shared/data/fsdd/README.md).
MANIFEST_SHA256 = "c59a2a79e8943f865034d601359e8f1b2fc13c4c5d75423b859b476e34b19f1c"
#: speakers.csv of shared/data/fsdd (upstream metadata.py re-expressed as data).
SPEAKERS = (
    ("george", "male", "GRC/Greek", "english"),
    ("jackson", "male", "USA/neutral", "english"),
    ("lucas", "male", "DEU/German", "english"),
    ("nicolas", "male", "BEL/French", "english"),
    ("theo", "male", "USA/neutral", "english"),
    ("yweweler", "male", "DEU/German", "english"),
)
#: Every FSDD recording is 8 kHz mono 16-bit (manifest.csv, column sample_rate).
FSDD_SAMPLE_RATE = 8000
N_TEST_INDICES = 5          # recordings 0-4 are the official test set
DEFAULT_HELD_OUT = "theo"   # speaker of the speaker-held-out split by default


class WavError(ValueError):
    """A WAV file that cannot be used (empty, truncated, not a WAV, wrong rate, unsupported type)."""


@dataclass(frozen=True)
class FsddRecord:
    """One row of ``manifest.csv``."""

    path: Path          # absolute path of the WAV
    digit: int
    speaker: str
    index: int
    split: str          # official split: "train" or "test"
    sha256: str
    sample_rate: int | None = None   # Hz, as manifest.csv says (None: not listed)
    n_samples: int | None = None     # samples in the file, as manifest.csv says

    @property
    def duration_s(self) -> float | None:
        """Length of the recording in seconds (from the manifest), or None."""
        if self.sample_rate is None or self.n_samples is None:
            return None
        return self.n_samples / self.sample_rate


# ---------------------------------------------------------------- locating
# data_root (argument, else $RSNN_BRIAN_DATA, else ~/.cache/rsnn_brian/data) is rsnn_brian._io's.


def fsdd_dir(data_dir=None, *, download: bool = True, url: str = FSDD_URL,
             expected_sums_sha256: str | None = SHA256SUMS_SHA256) -> Path:
    """Path of ``<root>/fsdd`` with its recordings, downloading them if absent.

    Raises
    ------
    FileNotFoundError
        If the recordings are absent and ``download`` is False.
    """
    root = data_root(data_dir)
    d = root / "fsdd"
    if (d / "recordings").is_dir() and (d / "manifest.csv").is_file():
        return d
    if not download:
        raise FileNotFoundError(
            f"FSDD not found: {d} has no recordings/ and manifest.csv. Pass data_dir= (a folder "
            f"holding fsdd/), set {DATA_ENV}, or allow download=True to fetch {url}")
    return download_fsdd(root, url=url, expected_sums_sha256=expected_sums_sha256)


def sha256_file(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _recording_key(name: str) -> tuple[int, str, int]:
    digit, speaker, index = Path(name).stem.split("_")
    return int(digit), speaker, int(index)


def sums_text(recordings: Path) -> str:
    """``SHA256SUMS`` text of a recordings folder, in the shared copy's order and format."""
    names = sorted((p.name for p in recordings.glob("*.wav")), key=_recording_key)
    return "".join(f"{sha256_file(recordings / n)}  {n}\n" for n in names)


def manifest_text(recordings: Path) -> str:
    """``manifest.csv`` text of a recordings folder, as the shared copy (CRLF line ends)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["file", "digit", "speaker", "index", "split", "sample_rate", "n_samples",
                "bytes", "sha256"])
    def order(name):   # the shared manifest lists speaker, then digit, then index
        digit, speaker, index = _recording_key(name)
        return speaker, digit, index

    for name in sorted((p.name for p in recordings.glob("*.wav")), key=order):
        digit, speaker, index = _recording_key(name)
        p = recordings / name
        rate, x = wavfile.read(p)
        w.writerow([f"recordings/{name}", digit, speaker, index,
                    "test" if index < N_TEST_INDICES else "train", rate, x.shape[0],
                    p.stat().st_size, sha256_file(p)])
    return buf.getvalue()


def download_fsdd(root, *, url: str = FSDD_URL,
                  expected_sums_sha256: str | None = SHA256SUMS_SHA256) -> Path:
    """Download the FSDD archive into ``<root>/fsdd``, verify it, move it in atomically.

    ``url`` may be any URL urllib opens (``file://`` in the tests). The digest
    of the rebuilt ``SHA256SUMS`` must equal ``expected_sums_sha256`` (None
    skips the check; only for tests).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    target = root / "fsdd"
    with tempfile.TemporaryDirectory(prefix=".fsdd-download-", dir=root) as tmp:
        tmp = Path(tmp)
        archive = tmp / "archive.zip"
        try:
            with urllib.request.urlopen(url) as r, open(archive, "wb") as f:
                shutil.copyfileobj(r, f)
        except OSError as e:
            raise OSError(f"FSDD download from {url} failed: {e}. Put the data in "
                          f"{target} by hand or set {DATA_ENV}.") from e
        stage = tmp / "fsdd"
        rec = stage / "recordings"
        rec.mkdir(parents=True)
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                parts = Path(info.filename).parts
                # archive layout: free-spoken-digit-dataset-<commit>/recordings/<name>.wav
                if len(parts) == 3 and parts[1] == "recordings" and parts[2].endswith(".wav"):
                    (rec / parts[2]).write_bytes(z.read(info))
        if not any(rec.iterdir()):
            raise OSError(f"FSDD archive from {url} holds no recordings/*.wav")
        sums = sums_text(rec)
        digest = hashlib.sha256(sums.encode()).hexdigest()
        if expected_sums_sha256 is not None and digest != expected_sums_sha256:
            raise OSError(f"FSDD archive from {url} does not match the pinned SHA256SUMS "
                          f"(digest {digest}, expected {expected_sums_sha256}); not installed")
        (stage / "SHA256SUMS").write_text(sums)
        (stage / "manifest.csv").write_bytes(manifest_text(rec).encode())
        with open(stage / "speakers.csv", "w", newline="") as f:
            f.write("speaker,gender,accent,language\n")
            f.writelines(",".join(row) + "\n" for row in SPEAKERS)
        try:
            os.replace(stage, target)   # atomic on one file system; fails if target is non-empty
        except OSError:
            if not (target / "recordings").is_dir():
                raise
            # another process installed it first; keep theirs
    return target


# ----------------------------------------------------------------- reading
def read_manifest(d: Path) -> list[FsddRecord]:
    """Rows of ``<d>/manifest.csv`` with absolute WAV paths."""
    d = Path(d)

    def opt_int(row, key):
        return int(row[key]) if row.get(key) not in (None, "") else None

    with open(d / "manifest.csv", newline="") as f:
        return [FsddRecord(d / r["file"], int(r["digit"]), r["speaker"], int(r["index"]),
                           r["split"], r["sha256"], opt_int(r, "sample_rate"), opt_int(r, "n_samples"))
                for r in csv.DictReader(f)]


def _fix_hint(path: Path) -> str:
    """What to do about a bad WAV: for a file of an FSDD folder, fetch the folder again."""
    if path.parent.name == "recordings":
        folder = path.parent.parent
        return (f"delete {folder} and run again: a fresh copy of FSDD is downloaded and checked "
                f"(download=True, the default)")
    return "replace it with a complete copy of the recording"


def read_wav(path, expected_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read a WAV file as mono float64 in [-1, 1).

    Parameters
    ----------
    path : the WAV file
    expected_rate : sample rate the file must have (FSDD: :data:`FSDD_SAMPLE_RATE`);
        None accepts any rate

    Returns
    -------
    x : float64 array, shape (n_samples,)
    rate : int, samples per second (unchanged)

    Raises
    ------
    WavError
        Not a WAV file, truncated, no samples, NaN/inf samples, an unsupported
        sample type or a rate other than ``expected_rate``; the message names
        the file and what to do.
    FileNotFoundError
        No such file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such WAV file: {path}")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", wavfile.WavFileWarning)
            rate, x = wavfile.read(path)
    except Exception as e:  # noqa: BLE001 - scipy raises many types for damaged files; name the file
        raise WavError(f"{path} is not a readable WAV file ({type(e).__name__}: {e}); the file is "
                       f"truncated or corrupt: {_fix_hint(path)}") from e
    # scipy reads what is there of a cut-off file and only warns; a truncated WAV is an error here
    short = []
    for w in caught:
        if not issubclass(w.category, wavfile.WavFileWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)   # not ours: pass on
        elif "EOF" in str(w.message):
            short.append(str(w.message))
    if short:
        raise WavError(f"{path} is a truncated WAV file ({short[0]}): {_fix_hint(path)}")
    if x.size == 0:
        raise WavError(f"{path} is an empty WAV file (no samples): {_fix_hint(path)}")
    if expected_rate is not None and int(rate) != int(expected_rate):
        raise WavError(f"{path} has a sample rate of {rate} Hz, expected {expected_rate} Hz; it is not "
                       f"an original recording: {_fix_hint(path)}")
    if x.dtype == np.int16:
        x = x / 2.0 ** 15
    elif x.dtype == np.int32:
        x = x / 2.0 ** 31
    elif x.dtype == np.uint8:
        x = (x.astype(np.float64) - 128.0) / 128.0
    elif x.dtype.kind == "f":
        x = x.astype(np.float64)
        if not np.all(np.isfinite(x)):
            raise WavError(f"{path} holds NaN or inf samples: {_fix_hint(path)}")
    else:
        raise WavError(f"{path}: unsupported WAV sample type {x.dtype}; use 8/16/32-bit PCM or float")
    if x.ndim == 2:            # (n_samples, n_channels): average to mono
        x = x.mean(axis=1)
    return np.ascontiguousarray(x, dtype=np.float64), int(rate)


def split_manifest(records: list[FsddRecord], split: str, split_kind: str = "official",
                   held_out_speaker: str | None = None) -> list[FsddRecord]:
    """Records of one split.

    Parameters
    ----------
    split : "train" or "test"
    split_kind : "official" (recordings 0-4 test) or "speaker" (one speaker test)
    held_out_speaker : speaker of the test set when ``split_kind="speaker"``
        (default :data:`DEFAULT_HELD_OUT`); must be None for "official".
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if split_kind == "official":
        if held_out_speaker is not None:
            raise ValueError("held_out_speaker only applies to split_kind='speaker'")
        return [r for r in records if (r.index < N_TEST_INDICES) == (split == "test")]
    if split_kind == "speaker":
        spk = DEFAULT_HELD_OUT if held_out_speaker is None else held_out_speaker
        speakers = sorted({r.speaker for r in records})
        if spk not in speakers:
            raise ValueError(f"unknown speaker {spk!r}; FSDD speakers are {speakers}")
        return [r for r in records if (r.speaker == spk) == (split == "test")]
    raise ValueError(f"split_kind must be 'official' or 'speaker', got {split_kind!r}")
