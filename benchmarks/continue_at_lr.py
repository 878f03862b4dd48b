"""Continue a training run from one of its checkpoints at a fixed learning rate; test as it goes.

A diagnostic for "has training stalled because the steps are too large?":
restore weights, Adam state and boosting weights from a checkpoint of a run
directory, keep training (next epoch's sample order) at the ``--lr`` given,
and print test accuracy on a stratified test subset every ``--every``
samples. Writes nothing into the run directory; results go to ``--out``
(rows.json) and stdout.

    python benchmarks/continue_at_lr.py runs/fmnist-b16 --checkpoint epoch-001.npz --lr 0.0007 \\
        --samples 15000 --test-limit 2000 --out runs/fmnist-b16-lr0.0007
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--checkpoint", default="latest.npz", help="file in RUN_DIR/checkpoints")
    ap.add_argument("--lr", type=float, required=True, help="fixed learning rate for the continuation")
    ap.add_argument("--samples", type=int, default=15000)
    ap.add_argument("--every", type=int, default=5000, help="test every N training samples")
    ap.add_argument("--test-limit", type=int, default=2000)
    ap.add_argument("--gradient", choices=["reference", "exact"], help="default: the run's")
    ap.add_argument("--effect-ratio", choices=["brian2", "authors"], help="default: the run's")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)

    from rsnn_brian.config import load_config
    from rsnn_brian.training import Trainer, _close, make_simulator

    cfg = load_config(a.run_dir / "config.toml").replace(test_limit=a.test_limit, lr=a.lr, gradient=a.gradient,
                                                           effect_ratio=a.effect_ratio)
    a.out.mkdir(parents=True, exist_ok=False)
    tr = Trainer(cfg, a.out, progress=False)
    tr.restore(a.run_dir / "checkpoints" / a.checkpoint)
    tr.sim = make_simulator(cfg, tr.arch, tr.params)
    order = tr.order(tr.epoch)
    B = cfg.batch_size
    rows, t0 = [], time.time()

    def test(n):
        rows.append(dict(samples=n, test_accuracy=tr.evaluate(tr.test_set)["accuracy"],
                         seconds=round(time.time() - t0, 1)))
        print(json.dumps(rows[-1]), flush=True)

    try:
        test(0)
        for start in range(0, a.samples, B):
            # learning_rate(eta0, epoch) is eta0 for epochs 0 and 1: pass 1 so that --lr is the lr used
            tr.step(order[start:start + B], 1)
            if (start + B) % a.every < B:
                test(start + B)
    finally:
        _close(tr.sim)
        (a.out / "rows.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
