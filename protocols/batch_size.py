"""Batch size against accuracy: the authors' batch 1 beside mini-batches, same number of epochs.

Question: the authors train with batch size 1 (their logs; Zhang & Li 2019,
section 4); this package reaches their Fashion-MNIST curve at batch 16
(figures/measured/). What does the batch size cost or give, at eta_0 scaled
as sqrt(batch) (LR_AT_BATCH_1 * sqrt(B): 0.001, 0.002, 0.004, 0.008)? Network
784-400-R400-10, thresholds 20/20/15, tau_m 64 ms, T = 400, no regulariser,
``--epochs`` (default 1) on ``--train-limit`` samples (default 20,000).

Writes metrics.csv, summary.csv, one run directory per (batch size, seed).
Runtime: full about 30-60 min per (batch size, seed) on 2 cores (batch 1 is
the slowest); --quick about 5 s (batch 1 and 4 on the built-in subset).

    python protocols/batch_size.py --seeds 0 1 --out results/batch_size
"""

from __future__ import annotations

import math

from _protocol import training_protocol

SEEDS = (0,)
BATCH_SIZES = (1, 4, 16, 64)
LR_AT_BATCH_1 = 0.001          # eta_0 at batch 1 (the paper's); scaled by sqrt(batch size)
PRESET = "fashion-mnist-b16"


def conditions(args):
    import rsnn_brian as rb
    base = rb.load_preset(PRESET).replace(train_limit=args.train_limit, epochs=args.epochs, data_dir=args.data_dir)
    sizes = BATCH_SIZES[:2] if args.quick else BATCH_SIZES
    return {f"batch {b}": base.replace(batch_size=b, lr=round(LR_AT_BATCH_1 * math.sqrt(b), 6),
                                       checkpoint_every=0) for b in sizes}


def extra(ap):
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-limit", type=int, default=20_000)
    ap.add_argument("--data-dir", help="data root (default $RSNN_BRIAN_DATA)")


def main(argv=None):
    return training_protocol(__doc__, "batch_size", conditions, SEEDS, argv, extra)


if __name__ == "__main__":
    main()
