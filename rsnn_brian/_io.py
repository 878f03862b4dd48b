"""Files: atomic writes, the cache directory, the data directory (one copy each).

Everything the package writes that another process may read half-written
(checkpoints, cache files, run metadata) goes through :func:`atomic_write`:
a temporary file in the same folder, flushed and fsynced, then
``os.replace``. A crash leaves either the old file or the new one.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = ["DATA_ENV", "CACHE_ENV", "data_root", "cache_root", "atomic_write", "atomic_write_text",
           "atomic_savez", "load_npz_with_meta", "CorruptCacheWarning", "warn_corrupt_cache"]

#: Environment variable naming the data root (holds ``mnist/``, ``fashion-mnist/``, ``fsdd/``).
DATA_ENV = "RSNN_BRIAN_DATA"
#: Environment variable naming the cache root (effect-ratio tables, encoded speech).
CACHE_ENV = "RSNN_BRIAN_CACHE"
_HOME_CACHE = Path.home() / ".cache" / "rsnn_brian"


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: ``data_dir``, else ``$RSNN_BRIAN_DATA``, else ``~/.cache/rsnn_brian/data``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else _HOME_CACHE / "data"


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache root: ``cache_dir``, else ``$RSNN_BRIAN_CACHE``, else ``~/.cache/rsnn_brian``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else _HOME_CACHE


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb"):
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path, "w") as fh:
        fh.write(text)


def atomic_savez(path: str | os.PathLike, arrays: dict) -> None:
    """``np.savez`` (no pickle) written atomically."""
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_npz_with_meta(path: str | os.PathLike, what: str, hint: str = "") -> tuple[dict, dict]:
    """Arrays and the JSON ``meta`` entry of an ``.npz`` written by this package. Never unpickles.

    A missing file raises FileNotFoundError; an unreadable one ValueError ("``path`` is corrupt
    or not an rsnn_brian ``what``", then ``hint``).
    """
    import json
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        meta = json.loads(str(data.pop("meta")))
    except Exception as exc:  # zipfile.BadZipFile, ValueError, KeyError, OSError, json errors
        raise ValueError(f"{what} {path} is corrupt or not an rsnn_brian {what} ({type(exc).__name__}: {exc})"
                         + (f"; {hint}" if hint else "")) from None
    return data, meta


class CorruptCacheWarning(RuntimeWarning):
    """A cache file could not be read; it is recomputed."""


def warn_corrupt_cache(path: str | os.PathLike, err: BaseException) -> None:
    """Say which cache file was unreadable (and that it is being recomputed)."""
    warnings.warn(f"cache file {path} is unreadable ({type(err).__name__}: {err}); recomputing it",
                  CorruptCacheWarning, stacklevel=3)
