"""Continue a training run from one of its checkpoints at a fixed learning rate; test as it goes.

Question: has training stalled because the steps are too large?
restore weights, Adam state and boosting weights from a checkpoint of a run
directory, keep training (next epoch's sample order) at the ``--lr`` given,
and print test accuracy on a stratified test subset every ``--every``
samples. Writes nothing into the run directory; results go to the results
folder ``--out`` (config.toml, manifest.json, continuation.csv: samples,
test_accuracy, seconds) and stdout. Runtime: full (15,000 samples of
Fashion-MNIST at batch 16, 4 tests of 2,000) about 30 min on 2 cores; --quick
about 5 s (trains a tiny built-in run first, then continues it for 16 samples).

    python protocols/continue_at_lr.py runs/fmnist-b16 --checkpoint epoch-001.npz --lr 0.0007 \\
        --samples 15000 --test-limit 2000 --out results/fmnist-b16-lr0.0007
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pandas as pd
from _protocol import Results, parser, quick_config


def main(argv=None):
    ap = parser(__doc__, "results/continue_at_lr")
    ap.add_argument("run_dir", type=Path, nargs="?", help="the run to continue (--quick: trained here if not given)")
    ap.add_argument("--checkpoint", default="latest.npz", help="file in RUN_DIR/checkpoints")
    ap.add_argument("--lr", type=float, default=0.0007, help="fixed learning rate for the continuation")
    ap.add_argument("--samples", type=int, default=15000)
    ap.add_argument("--every", type=int, default=5000, help="test every N training samples")
    ap.add_argument("--test-limit", type=int, default=2000)
    ap.add_argument("--gradient", choices=["reference", "exact"], help="default: the run's")
    ap.add_argument("--effect-ratio", choices=["brian2", "authors"], help="default: the run's")
    a = ap.parse_args(argv)
    if a.run_dir is None and not a.quick:
        raise SystemExit("continue_at_lr: give the run directory to continue, or --quick")

    import rsnn_brian as rb
    from rsnn_brian.config import load_config
    from rsnn_brian.training import Trainer, _close, make_simulator

    if a.quick:
        a.samples, a.every, a.test_limit = 16, 8, 10
        if a.run_dir is None:
            a.run_dir = Path(tempfile.mkdtemp()) / "quick"
            rb.train(quick_config(rb.load_preset("demo")), a.run_dir, progress=False)
    cfg = load_config(a.run_dir / "config.toml").replace(test_limit=a.test_limit, lr=a.lr, gradient=a.gradient,
                                                           effect_ratio=a.effect_ratio)
    res = Results(a.out, "continue_at_lr", {"run_dir": str(a.run_dir), "checkpoint": a.checkpoint, "lr": a.lr,
                                            "samples": a.samples, "every": a.every, "test_limit": a.test_limit,
                                            "gradient": cfg.gradient, "effect_ratio": cfg.effect_ratio},
                  [cfg.seed], a.quick, a.overwrite)
    tr = Trainer(cfg, Path(tempfile.mkdtemp()), progress=False)
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
        res.csv("continuation", pd.DataFrame(rows))
    res.finish()
    return rows


if __name__ == "__main__":
    main()
