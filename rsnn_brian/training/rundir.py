"""The run directory: one folder per run, never overwritten, removed again if its start fails.

::

    config.toml          the resolved configuration (``epochs`` raised when a run is extended)
    manifest.json        versions, seed, device, git revision, command line; one entry per resume
    metrics.csv          one row per epoch (tidy); ``epoch`` counts from 1
    checkpoints/         see :mod:`rsnn_brian.training.checkpoint`
    learning_curve.png   train and test accuracy per epoch trained (drawn by rsnn_brian.plotting)

Every file is written atomically (a temporary file, then ``os.replace``).
Nothing here imports Brian2 or matplotlib; the plot imports matplotlib when
it is drawn.
"""

from __future__ import annotations

import json
import logging
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

from .. import __version__
from .._io import atomic_write_text
from ..config import TrainConfig, load_config
from .checkpoint import checkpoint_dir

__all__ = ["RunDir", "manifest", "git_revision"]

log = logging.getLogger("rsnn_brian")

_VERSIONED = ("numpy", "scipy", "pandas", "brian2", "brian2cuda", "matplotlib", "seaborn")


def git_revision() -> str | None:
    """The package's git commit, with ``-dirty`` if the work tree has changes; None outside git."""
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


def versions() -> dict:
    """Installed versions, read from the package metadata (imports none of them)."""
    out = {"rsnn_brian": __version__, "python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; else ``platform.processor()``, which may be empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def blas_info() -> list[dict]:
    """The BLAS libraries NumPy/SciPy loaded: library, version, kernel architecture, threads (threadpoolctl).

    The float32 gradient sums depend on the kernel OpenBLAS picks for the CPU (e.g. ``SkylakeX`` or
    ``Haswell``), so two runs with the same seed end bit-identical only with the same kernel.
    """
    from threadpoolctl import threadpool_info
    return [{k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for info in threadpool_info() if info.get("user_api") == "blas"]


def machine() -> dict:
    """What a result's last bits depend on beyond the versions: ``platform``, ``cpu`` and ``blas``."""
    return {"platform": platform.platform(), "cpu": cpu_model(), "blas": blas_info()}


def manifest(cfg: TrainConfig) -> dict:
    return {"versions": versions(), "seed": cfg.seed, "device": cfg.device, "git_revision": git_revision(),
            "command": sys.argv, **machine(), "started": _now()}


class RunDir:
    """One run's folder; remembers what this process created, so that a failed start can be undone."""

    def __init__(self, path):
        self.path = Path(path)
        self._made_dirs: list[Path] = []       # folders this object created, outermost first
        self._written: list[Path] = []         # files this object wrote

    # -- paths -----------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def plot_path(self) -> Path:
        return self.path / "learning_curve.png"

    @property
    def checkpoints(self) -> Path:
        return checkpoint_dir(self.path)

    def has_run(self) -> bool:
        return self.config_path.is_file()

    def load_config(self) -> TrainConfig:
        return load_config(self.config_path)

    # -- a new run ----------------------------------------------------------------
    def check_new(self) -> None:
        """Refuse a folder that exists and holds anything."""
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise ValueError(f"run directory {self.path} exists and is not empty; choose a new --out, "
                             "or pass --resume to continue that run")

    def create(self, cfg: TrainConfig) -> None:
        """Make the folder (and missing parents) and write config.toml and manifest.json."""
        missing = [p for p in [self.path, *self.path.parents] if not p.exists()]
        for p in reversed(missing):
            p.mkdir()
            self._made_dirs.append(p)
        if not self.checkpoints.exists():
            self.checkpoints.mkdir()
            self._made_dirs.append(self.checkpoints)
        self.write_config(cfg)
        self._write(self.manifest_path, json.dumps(manifest(cfg), indent=2))

    def remove_created(self) -> None:
        """Undo :meth:`create` and the writes since: this object's files, then its folders if empty."""
        for f in reversed(self._written):
            f.unlink(missing_ok=True)
        for d in reversed(self._made_dirs):
            try:
                d.rmdir()                       # only if empty: files of others stay
            except OSError:
                break
        self._written.clear()
        self._made_dirs.clear()

    # -- writing -------------------------------------------------------------------
    def _write(self, path: Path, text: str) -> None:
        atomic_write_text(path, text)
        if path not in self._written:
            self._written.append(path)

    def write_config(self, cfg: TrainConfig) -> None:
        self._write(self.config_path, cfg.to_toml())

    def record_resume(self, cfg: TrainConfig, done: int, epochs_before: int) -> None:
        """Note a resume in manifest.json (when, the command, the epochs done and asked for)."""
        try:
            data = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            data = {}
        data.setdefault("resumed", []).append(
            {"at": _now(), "command": sys.argv, "epochs_done": done, "epochs_before": epochs_before,
             "epochs": cfg.epochs, "versions": versions(), "git_revision": git_revision()})
        self._write(self.manifest_path, json.dumps(data, indent=2))

    def write_metrics(self, rows: list[dict]) -> pd.DataFrame:
        metrics = pd.DataFrame(rows)
        self._write(self.metrics_path, metrics.to_csv(index=False))
        return metrics

    def read_metrics(self) -> pd.DataFrame:
        if not self.metrics_path.is_file():
            return pd.DataFrame()
        return pd.read_csv(self.metrics_path)

    def write_learning_curve(self, metrics: pd.DataFrame, cfg: TrainConfig) -> Path | None:
        """learning_curve.png, beside the authors' curve where there is one; a failure is only logged."""
        if metrics.empty:
            return None
        try:
            from ..plotting import authors_curve, plot_learning_curve
            ref = authors_curve(cfg.dataset, cfg.architecture)
            tmp = self.plot_path.with_name(".learning_curve.tmp.png")
            plot_learning_curve(metrics, tmp, reference=ref[0] if ref else None,
                                reference_label=ref[1] if ref else "authors")
            tmp.replace(self.plot_path)
            return self.plot_path
        except Exception as exc:  # a plot must never kill a run
            log.warning("could not draw the learning curve: %s: %s", type(exc).__name__, exc)
            return None
