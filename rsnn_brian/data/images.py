"""MNIST and Fashion-MNIST from the canonical IDX ``.gz`` files, and the built-in subset.

Files are looked up in a data root holding ``mnist/`` and ``fashion-mnist/``
folders (:func:`rsnn_brian._io.data_root`; ``resolve_data_dir`` is the same
function). Missing files are downloaded from the canonical mirrors into
memory, checked against the SHA-256 of their *decompressed* contents (the same
for every mirror and for recompressed copies, see the data READMEs) and only
then written, atomically (:func:`rsnn_brian._io.atomic_write`), so a partial
file never appears under the final name. A truncated or corrupt file raises a
ValueError naming it and the fix (delete it, load with ``download=True``).

IDX is parsed with :func:`numpy.frombuffer`; nothing is unpickled.

Returned arrays: images ``uint8`` of shape (n, 28, 28), or (n, 784) with
``flatten=True``; labels ``int64`` of shape (n,), values 0..9.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from importlib import resources
from pathlib import Path
from urllib.request import urlopen

import numpy as np

from .._io import DATA_ENV, atomic_write, data_root

__all__ = [
    "DATASETS", "SPLITS", "FILES", "SHA256", "MIRRORS", "BUILTIN_FILE", "BUILTIN_SHA256",
    "resolve_data_dir", "dataset_dir", "load_images", "load_builtin",
    "read_idx", "download", "make_builtin_subset", "save_builtin", "content_sha256",
]

DATASETS = ("mnist", "fashion-mnist")
SPLITS = ("train", "test")
N_CLASSES = 10
IMAGE_SHAPE = (28, 28)

#: Canonical file names, per split: (images, labels).
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: SHA-256 of the decompressed IDX contents (from shared/data/*/README.md; they
#: match the canonical uncompressed files, whichever mirror or gzip made the .gz).
SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}

#: Base URLs tried in order (the file name is appended).
MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",           # torchvision's mirror
        "https://storage.googleapis.com/cvdf-datasets/mnist/",      # CVDF mirror (TFDS)
        "http://yann.lecun.com/exdb/mnist/",                         # original site
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # Zalando's official
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}

_MAGIC = {3: 2051, 1: 2049}  # IDX magic numbers: unsigned byte, 3-D images / 1-D labels
_ENV = DATA_ENV

#: The built-in subset, shipped as package data.
BUILTIN_FILE = "fashion_mnist_subset.npz"
BUILTIN_SEED = 20191208
BUILTIN_PER_CLASS = {"train": 100, "test": 50}
#: SHA-256 of the shipped arrays' bytes (C order), as written by make_builtin_subset().
BUILTIN_SHA256 = {
    "train_images": "30945b71c3cd0fbf26625a399d7b265645d6bbe8d5b047aa5e4bddc9fc1e6da9",
    "train_labels": "dc9488f4e5c17607e1afb855f24e5da5a6e6de94a2495b4500eb7b23add4ae27",
    "test_images": "35fdfdda1e6188fffb60f9898c5ad9ddb4bda114dc8a5b3b4ef3adb6c398957a",
    "test_labels": "3565059944dfaec96f612d845735c054e20da095a3c0e8a3daaef3923c8834b3",
}


# -- where files live --------------------------------------------------------------

#: The data root: ``data_dir``, else ``$RSNN_BRIAN_DATA``, else ``~/.cache/rsnn_brian/data``
#: (:func:`rsnn_brian._io.data_root`; this name is kept for the callers that use it).
resolve_data_dir = data_root


def dataset_dir(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Folder of one data set: ``<root>/<name>``, or ``data_dir`` itself if it already holds the files."""
    _check_name(name)
    root = data_root(data_dir)
    sub = root / name
    if data_dir is not None and not sub.is_dir() and any(
            (root / f).exists() or (root / f[:-3]).exists() for pair in FILES.values() for f in pair):
        return root
    return sub


def _check_name(name: str, split: str | None = None) -> None:
    if name not in DATASETS:
        raise ValueError(f"unknown image data set {name!r}; choose one of {DATASETS}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")


# -- IDX parsing -------------------------------------------------------------------

def _read_bytes(path: Path) -> bytes:
    """Raw IDX bytes of ``path`` (gzip or plain), with a clear error for broken gzip."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, OSError, zlib.error) as err:
        raise ValueError(
            f"{path}: cannot decompress ({type(err).__name__}: {err}); the file is truncated or "
            f"corrupt. Delete it and download it again (load_images(..., download=True)).") from err


def read_idx(raw: bytes, ndim: int, source: str = "IDX data") -> np.ndarray:
    """Parse unsigned-byte IDX bytes with ``ndim`` dimensions; returns a uint8 array.

    Raises ValueError for a wrong magic number or a size that disagrees with the header.
    """
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{source}: only {len(raw)} bytes, shorter than the {header}-byte IDX "
                         f"header; the file is truncated. Delete it and download it again.")
    magic = int(np.frombuffer(raw, ">u4", count=1)[0])
    if magic != _MAGIC[ndim]:
        raise ValueError(f"{source}: wrong IDX magic number {magic}, expected {_MAGIC[ndim]} "
                         f"(unsigned bytes, {ndim}-D): not the right file "
                         f"({'images' if ndim == 3 else 'labels'}) or a corrupt one. "
                         f"Delete it and download it again.")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise ValueError(f"{source}: {len(raw)} bytes but the header {dims} needs {expected}; "
                         f"the file is {what}. Delete it and download it again.")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def content_sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _verify(raw: bytes, name: str, fname: str, path: Path | str) -> None:
    expected = SHA256[name][fname]
    got = content_sha256(raw)
    if got != expected:
        raise ValueError(
            f"{path}: SHA-256 of the decompressed contents is {got}, expected {expected} "
            f"({name} {fname}). The file is corrupt or not the canonical one: delete it and "
            f"download it again (load_images(..., download=True)).")


# -- downloading -------------------------------------------------------------------

def download(name: str, fname: str, target: Path, timeout: float = 60.0) -> Path:
    """Fetch ``fname`` of data set ``name`` from the mirrors to ``target``, atomically.

    The bytes are read into memory; only after the decompressed SHA-256
    matches :data:`SHA256` are they written to ``target`` (a temporary file
    renamed into place). On failure nothing is written and a RuntimeError
    lists every mirror tried.
    """
    _check_name(name)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for base in MIRRORS[name]:
        url = base + fname
        try:
            buf = io.BytesIO()
            with urlopen(url, timeout=timeout) as resp:
                while chunk := resp.read(1 << 20):
                    buf.write(chunk)
            payload = buf.getvalue()
            _verify(_gunzip(payload), name, fname, url)
        except Exception as err:  # noqa: BLE001 - every failure means: try the next mirror
            errors.append(f"{url}: {err}")
            continue
        with atomic_write(target) as out:
            out.write(payload)
        return target
    raise RuntimeError(
        f"could not download {name} {fname}; tried:\n  " + "\n  ".join(errors)
        + f"\nPlace the canonical file at {target} by hand (or set ${_ENV} to a folder "
        f"holding {name}/{fname}), then run again.")


def _gunzip(payload: bytes) -> bytes:
    try:
        return gzip.decompress(payload)
    except (EOFError, OSError, zlib.error) as err:
        raise ValueError(f"downloaded file is not a complete gzip file ({err})") from err


# -- loading -----------------------------------------------------------------------

def _locate(name: str, fname: str, folder: Path, download_ok: bool) -> Path:
    path = folder / fname
    if path.exists():
        return path
    plain = folder / fname[:-3]
    if plain.exists():
        return plain
    if not download_ok:
        raise FileNotFoundError(
            f"{name}: {path} not found and download=False. Call load_images(..., download=True), "
            f"or put the canonical {fname} there, or set ${_ENV} to a root holding {name}/.")
    return download(name, fname, path)


def _check_pair(images: np.ndarray, labels: np.ndarray, source: str) -> None:
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{source}: {images.shape[0]} images but {labels.shape[0]} labels; "
                         f"the image and label files do not belong together")
    if labels.size and (labels.min() < 0 or labels.max() >= N_CLASSES):
        bad = labels[(labels < 0) | (labels >= N_CLASSES)]
        raise ValueError(f"{source}: labels must lie in 0..{N_CLASSES - 1}, found {np.unique(bad)[:10]}")


def load_images(name: str, split: str, data_dir: str | os.PathLike | None = None,
                download: bool = True, limit: int | None = None, flatten: bool = False,
                verify: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load ``split`` ('train' or 'test') of ``name`` ('mnist' or 'fashion-mnist').

    Returns images uint8 (n, 28, 28) (or (n, 784) with ``flatten``) and labels
    int64 (n,). ``limit`` keeps the first ``limit`` samples. ``verify`` checks
    the SHA-256 of the decompressed files against :data:`SHA256`.
    """
    _check_name(name, split)
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    folder = dataset_dir(name, data_dir)
    fimg, flab = FILES[split]
    arrays = []
    for fname, ndim in ((fimg, 3), (flab, 1)):
        path = _locate(name, fname, folder, download)
        raw = _read_bytes(path)
        arr = read_idx(raw, ndim, str(path))
        if verify:
            _verify(raw, name, fname, path)
        arrays.append(arr)
    images, labels = arrays
    if images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{folder / fimg}: images are {images.shape[1:]}, expected {IMAGE_SHAPE}")
    _check_pair(images, labels, f"{name} {split} in {folder}")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    images = np.ascontiguousarray(images)
    if flatten:
        images = images.reshape(images.shape[0], -1)
    return images, labels.astype(np.int64)


# -- the built-in subset -----------------------------------------------------------

def make_builtin_subset(name: str = "fashion-mnist", data_dir=None,
                        per_class: dict[str, int] | None = None, seed: int = BUILTIN_SEED,
                        download: bool = True) -> dict[str, np.ndarray]:
    """A stratified random subset of ``name``: ``per_class[split]`` images of every class.

    Indices are drawn without replacement with ``np.random.default_rng([seed, split_id,
    class])`` and kept in their original order. Returns arrays ``{split}_images``
    (uint8, (n, 28, 28)), ``{split}_labels`` (uint8) and ``{split}_index`` (int64,
    positions in the canonical file) for both splits.
    """
    per_class = dict(BUILTIN_PER_CLASS if per_class is None else per_class)
    out = {}
    for split_id, split in enumerate(SPLITS):
        images, labels = load_images(name, split, data_dir=data_dir, download=download)
        chosen = []
        for c in range(N_CLASSES):
            pool = np.flatnonzero(labels == c)
            k = per_class[split]
            if k > pool.size:
                raise ValueError(f"{name} {split}: class {c} has {pool.size} images, asked for {k}")
            rng = np.random.default_rng([seed, split_id, c])
            chosen.append(rng.choice(pool, size=k, replace=False))
        index = np.sort(np.concatenate(chosen)).astype(np.int64)
        out[f"{split}_images"] = images[index]
        out[f"{split}_labels"] = labels[index].astype(np.uint8)
        out[f"{split}_index"] = index
    return out


def save_builtin(arrays: dict[str, np.ndarray], path: str | os.PathLike) -> Path:
    """Write a subset from :func:`make_builtin_subset` as a compressed ``.npz`` (no pickle), atomically.

    ``.npz`` is appended to a name without it (as :func:`numpy.savez_compressed` does).
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    with atomic_write(path) as fh:
        np.savez_compressed(fh, **arrays)
    return path


def _builtin_path():
    return resources.files("rsnn_brian.data").joinpath("builtin", BUILTIN_FILE)


def load_builtin(split: str, limit: int | None = None,
                 flatten: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The shipped Fashion-MNIST subset (1000 train / 500 test, balanced); works offline.

    Same return types as :func:`load_images`. Source, license and how it was
    made: ``rsnn_brian/data/builtin/README.md``.
    """
    _check_name("fashion-mnist", split)
    ref = _builtin_path()
    with resources.as_file(ref) as path:
        if not path.exists():
            raise FileNotFoundError(
                f"built-in data set {path} is missing; reinstall rsnn_brian, or regenerate it with "
                f"save_builtin(make_builtin_subset(), path)")
        with np.load(path, allow_pickle=False) as z:
            images, labels = z[f"{split}_images"], z[f"{split}_labels"]
    for key, arr in ((f"{split}_images", images), (f"{split}_labels", labels)):
        got = content_sha256(np.ascontiguousarray(arr).tobytes())
        if got != BUILTIN_SHA256[key]:
            raise ValueError(f"built-in data set {BUILTIN_FILE}: {key} has SHA-256 {got}, expected "
                             f"{BUILTIN_SHA256[key]}; the installed file is corrupt, reinstall rsnn_brian")
    _check_pair(images, labels, f"built-in {split} set")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    images = np.ascontiguousarray(images, dtype=np.uint8)
    if flatten:
        images = images.reshape(images.shape[0], -1)
    return images, labels.astype(np.int64)
