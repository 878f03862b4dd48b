"""What every protocol shares: the command line, the results folder, training over seeds.

A results folder follows the package's run-directory conventions
(rsnn_brian/training/rundir.py)::

    results/<protocol>/
      config.toml      the protocol's parameters (units in the names: tau_m_ms, rate_hz, ...)
      manifest.json    protocol, versions, seeds, git revision, command line, platform, CPU and
                       BLAS kernel, quick or full, seconds
      *.csv            tidy tables, one row per observation
      runs/            training protocols: one package run directory per (condition, seed)

Not part of the package: the scripts in protocols/ import it (python puts a
script's folder first on sys.path).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import pandas as pd

__all__ = ["parser", "Results", "train_conditions", "toml_text", "slug", "quick_config", "shrink", "summarise",
           "training_protocol", "show_progress"]



def parser(doc: str, default_out: str, seeds=(0,)) -> argparse.ArgumentParser:
    """--quick, --out, --seeds, --overwrite; the description is the docstring's first line."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=doc)
    ap.add_argument("--quick", action="store_true", help="seconds: a tiny version of the protocol (CI runs it)")
    ap.add_argument("--out", type=Path, default=Path(default_out), help="results folder (default %(default)s)")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(seeds), help="random seeds (default %(default)s)")
    ap.add_argument("--overwrite", action="store_true", help="write into a results folder that holds files")
    return ap


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if v is None:
        return '"none"'
    return json.dumps(str(v))


def toml_text(params: dict) -> str:
    """A flat dict as TOML (values: bool, int, float, str, lists of them; None as "none")."""
    def key(k):
        return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)
    return "".join(f"{key(k)} = {_toml_value(v)}\n" for k, v in params.items())


def slug(name: str) -> str:
    """A condition's name as a folder name: ``tau_m 64 ms`` -> ``tau_m_64_ms``."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", name).strip("_")



class Results:
    """One protocol's results folder: config.toml and manifest.json at the start, CSVs as they come."""

    def __init__(self, out, protocol: str, params: dict, seeds, quick: bool, overwrite: bool = False):
        from rsnn_brian.training.rundir import git_revision, machine, versions
        self.path = Path(out)
        if self.path.exists() and any(self.path.iterdir()) and not overwrite:
            raise SystemExit(f"{protocol}: results folder {self.path} holds files; choose another --out "
                             "or pass --overwrite")
        self.path.mkdir(parents=True, exist_ok=True)
        self.t0 = time.perf_counter()
        self.manifest = {"protocol": protocol, "quick": bool(quick), "seeds": [int(s) for s in seeds],
                         "versions": versions(), "git_revision": git_revision(), "command": sys.argv,
                         **machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (self.path / "config.toml").write_text(f"# {protocol}{' (--quick)' if quick else ''}\n" + toml_text(params))
        self._write_manifest()

    def _write_manifest(self) -> None:
        (self.path / "manifest.json").write_text(json.dumps(self.manifest, indent=2) + "\n")

    def csv(self, name: str, frame: pd.DataFrame) -> Path:
        """Write a tidy table (``name``.csv); returns its path."""
        path = self.path / f"{name}.csv"
        frame.to_csv(path, index=False)
        return path

    def finish(self, **notes) -> Path:
        """Add the wall time (and notes) to manifest.json; print where the results are."""
        self.manifest.update(seconds=round(time.perf_counter() - self.t0, 2), **notes)
        self._write_manifest()
        print(f"results in {self.path} ({self.manifest['seconds']:.1f} s)")
        return self.path


def show_progress(enabled: bool = True):
    """Print the package's messages (one line per epoch) on stderr while a protocol runs.

    Scripts are applications, so they may set up logging; the package itself leaves it alone.
    Returns the handler added (None when disabled or already there).
    """
    import logging
    log = logging.getLogger("rsnn_brian")
    if not enabled or any(getattr(h, "_rsnn_protocol", False) for h in log.handlers):
        return None
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._rsnn_protocol = True
    log.addHandler(handler)
    log.setLevel(min(log.level or logging.INFO, logging.INFO))
    return handler


def train_conditions(results: Results, conditions: dict, seeds, progress: bool | None = None) -> pd.DataFrame:
    """Train every (condition, seed) with ``rsnn_brian.train``; one package run directory each.

    conditions : {name: TrainConfig}. Each run goes to ``runs/<slug(name)>-seed<N>`` and is resumed
    if it is there already (an interrupted protocol goes on where it stopped); a finished run whose
    config asks for fewer epochs than ``cfg.epochs`` is extended to ``cfg.epochs`` (never shortened).
    progress : a progress bar and one line per epoch on stderr (in a log file, a line every 30 s);
    by default on in full runs and off with ``--quick``.
    Returns the tidy metrics of all runs (metrics.csv with ``condition`` and ``seed`` columns), also
    written as ``metrics.csv`` in the results folder.
    """
    import rsnn_brian as rb
    from rsnn_brian.training.rundir import RunDir
    if progress is None:
        progress = not results.manifest["quick"]
    show_progress(progress)
    frames = []
    runs = [(name, cfg, seed) for name, cfg in conditions.items() for seed in seeds]
    for k, (name, cfg, seed) in enumerate(runs, 1):
        run_dir = results.path / "runs" / f"{slug(name)}-seed{seed}"
        resume = (run_dir / "config.toml").is_file()
        epochs = max(cfg.epochs, RunDir(run_dir).load_config().epochs) if resume else None
        if progress:
            print(f"run {k}/{len(runs)}: {name}, seed {seed}{' (resumed)' if resume else ''} -> {run_dir}",
                  file=sys.stderr, flush=True)
        res = rb.train(None if resume else cfg.replace(seed=int(seed)), run_dir, resume=resume,
                       progress=progress, epochs=epochs)
        print(f"  {name}, seed {seed}: {res.summary()}", flush=True)
        frames.append(res.metrics.assign(condition=name, seed=int(seed), architecture=cfg.architecture))
    metrics = pd.concat(frames, ignore_index=True)
    results.csv("metrics", metrics)
    return metrics


#: --quick: the built-in Fashion-MNIST subset (offline), a network 20 times smaller, T = 60, one epoch
QUICK_DATA = dict(dataset="builtin", data_dir=None, split_kind="official", held_out_speaker=None, n_steps=60,
                  train_limit=40, test_limit=20, epochs=1, device="numpy", workers=1, checkpoint_every=0,
                  samples_per_run=None, dask=None, shares=None)


def shrink(architecture: str, factor: int = 20, n_inputs: int = 784) -> str:
    """``784-400-R400-10`` -> ``784-20-R20-10``: hidden layers ``factor`` times smaller (at least 4),
    the input ``n_inputs`` wide (the built-in images), the output kept."""
    parts = architecture.split("-")
    mid = [("R" if p.startswith("R") else "") + str(max(4, int(p.lstrip("R")) // factor)) for p in parts[1:-1]]
    return "-".join([str(n_inputs), *mid, parts[-1]])


def quick_config(cfg):
    """The tiny stand-in of a TrainConfig that --quick trains (seconds, NumPy simulator)."""
    from rsnn_brian.config import TrainConfig
    d = cfg.to_dict()           # through a dict: replace() ignores None values
    d.update(QUICK_DATA, architecture=shrink(cfg.architecture), batch_size=min(cfg.batch_size, 8))
    return TrainConfig(**d)


def summarise(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per condition: final and best test accuracy, mean and s.d. over seeds, best seed, seeds, epochs."""
    last = metrics.sort_values("epoch").groupby(["condition", "seed"], sort=False).agg(
        final=("test_accuracy", "last"), best=("test_accuracy", "max"), epochs=("epoch", "max")).reset_index()
    out = last.groupby("condition", sort=False).agg(
        final_mean=("final", "mean"), final_sd=("final", "std"), best_mean=("best", "mean"),
        best_sd=("best", "std"), best_seed_accuracy=("best", "max"), seeds=("seed", "count"),
        epochs=("epochs", "max")).reset_index()
    return out.fillna({"final_sd": 0.0, "best_sd": 0.0})


def training_protocol(doc: str, name: str, conditions, seeds=(0,), argv=None, extra=None):
    """The whole of a training protocol: parse, make the conditions, train every (condition, seed),
    write metrics.csv and summary.csv. ``conditions(args)`` -> {condition: TrainConfig} (full mode);
    ``extra(ap)`` adds arguments."""
    ap = parser(doc, f"results/{name}", seeds)
    if extra is not None:
        extra(ap)
    args = ap.parse_args(argv)
    conds = conditions(args)
    if args.quick:
        conds = {k: quick_config(c) for k, c in conds.items()}
        args.seeds = args.seeds[:1]
    params = {"conditions": list(conds)}
    for k, c in conds.items():
        params.update({f"{k}.{f}": v for f, v in c.to_dict().items() if v is not None})
    res = Results(args.out, name, params, args.seeds, args.quick, args.overwrite)
    metrics = train_conditions(res, conds, args.seeds)
    summary = summarise(metrics)
    res.csv("summary", summary)
    print(summary.round(2).to_string(index=False))
    res.finish()
    return summary
