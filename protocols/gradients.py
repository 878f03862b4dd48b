"""The authors' rule against the exact gradient: ``reference`` and ``exact`` on the same runs.

Question: ST-RSBP's published rule (the ``reference`` gradient: the authors'
formulas, effect ratios from fitted tables; Zhang & Li 2019, eq. 11-16) is an
approximation of the gradient of its own linearised spike-train model; this
package also computes that model's exact gradient (``exact``, checked against
finite differences, docs/algorithm.md). Does training with the exact gradient
learn better, worse, or the same? Same network, data, seeds and budget:
784-400-R400-10, the ``fashion-mnist-b16`` settings, ``--epochs`` (default 1)
on ``--train-limit`` samples (default 20,000).

Writes metrics.csv, summary.csv, one run directory per (gradient, seed).
Runtime: full about 40 min per (gradient, seed) on 2 cores; --quick about 8 s.

    python protocols/gradients.py --seeds 0 1 2 --out results/gradients
"""

from __future__ import annotations

from _protocol import training_protocol

SEEDS = (0,)
GRADIENTS = ("reference", "exact")
PRESET = "fashion-mnist-b16"


def conditions(args):
    import rsnn_brian as rb
    base = rb.load_preset(PRESET).replace(train_limit=args.train_limit, epochs=args.epochs, data_dir=args.data_dir)
    return {f"gradient {g}": base.replace(gradient=g) for g in GRADIENTS}


def extra(ap):
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-limit", type=int, default=20_000)
    ap.add_argument("--data-dir", help="data root (default $RSNN_BRIAN_DATA)")


def main(argv=None):
    return training_protocol(__doc__, "gradients", conditions, SEEDS, argv, extra)


if __name__ == "__main__":
    main()
