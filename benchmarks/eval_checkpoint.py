"""Test accuracy of any checkpoint of a run (e.g. one written inside an epoch by --checkpoint-every).

Runs 64 samples per Brian2 run whatever the run's own layout (a batch-1 run
simulates one sample per run, which makes its own test pass slow).

    python benchmarks/eval_checkpoint.py runs/fmnist-b1 ck-50k.npz     # a copy of checkpoints/latest.npz
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("checkpoint", help="file name inside RUN_DIR/checkpoints")
    ap.add_argument("--samples-per-run", type=int, default=64)
    ap.add_argument("--test-limit", type=int, default=None)
    args = ap.parse_args(argv)
    from rsnn_brian.config import load_config
    from rsnn_brian.training import Trainer, _close, make_simulator
    run = Path(args.run_dir)
    cfg = load_config(run / "config.toml").replace(samples_per_run=args.samples_per_run, batch_size=1,
                                                   test_limit=args.test_limit)
    trainer = Trainer(cfg, Path(tempfile.mkdtemp()), progress=False)   # nothing is written to the run
    trainer.restore(run / "checkpoints" / args.checkpoint)
    trainer.sim = make_simulator(cfg, trainer.arch, trainer.params)
    t0 = time.perf_counter()
    try:
        res = trainer.evaluate(trainer.test_set)
    finally:
        _close(trainer.sim)
    print(f"{run} {args.checkpoint}: epoch {trainer.epoch}, batch {trainer.batch_pos}: test {res['accuracy']:.2f} % "
          f"on {len(trainer.test_set)} images in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
