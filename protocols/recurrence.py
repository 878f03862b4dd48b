"""Does the recurrent layer help? 784-400-R400-10 against 784-400-400-10 and 784-400-10, same budget.

Question: the paper's networks put a recurrent reservoir between feed-forward
layers (Zhang & Li 2019, tables 1-3); is it the recurrence that helps, or the
extra layer? Three networks trained with the same budget (epochs, batch size,
learning rate, seeds, data): the paper's 784-400-R400-10, the same with a
feed-forward second layer 784-400-400-10, and the shallow 784-400-10.
Thresholds 20 per hidden layer and 15 at the output, tau_m 64 ms, T = 400; the
``fashion-mnist-b16`` settings (batch 16, eta_0 0.004, no regulariser), 3
epochs; ``--epochs`` for fewer (or more), ``--train-limit`` for a cheaper subset,
``--networks`` to train only some of the three (by the first word of the name:
``recurrent``, ``feed-forward``, ``shallow``).

Writes metrics.csv, summary.csv (final and best test accuracy per network,
mean and s.d. over seeds) and one run directory per (network, seed).
Runtime: full about 5 h per seed on 2 cores (all of Fashion-MNIST); --quick
about 5 s (built-in subset, networks 20 times smaller, T 60).

    python protocols/recurrence.py --seeds 0 1 2 --out results/recurrence
    python protocols/recurrence.py --epochs 1 --networks feed-forward shallow --seeds 0 1 2
"""

from __future__ import annotations

from _protocol import training_protocol

SEEDS = (0, 1, 2)
NETWORKS = {                                   # name: (architecture, thresholds per layer)
    "recurrent 784-400-R400-10": ("784-400-R400-10", [20.0, 20.0, 15.0]),
    "feed-forward 784-400-400-10": ("784-400-400-10", [20.0, 20.0, 15.0]),
    "shallow 784-400-10": ("784-400-10", [20.0, 15.0]),
}
PRESET = "fashion-mnist-b16"                   # batch 16, eta_0 0.004, no regulariser, 3 epochs


def conditions(args):
    import rsnn_brian as rb
    base = rb.load_preset(PRESET).replace(train_limit=args.train_limit, data_dir=args.data_dir,
                                          epochs=args.epochs)
    keys = {name.split()[0]: name for name in NETWORKS}
    unknown = sorted(set(args.networks or ()) - set(keys))
    if unknown:
        raise SystemExit(f"recurrence.py: unknown network {', '.join(unknown)}; choose from {', '.join(keys)}")
    chosen = [keys[k] for k in args.networks] if args.networks else list(NETWORKS)
    return {name: base.replace(architecture=NETWORKS[name][0], thresholds=NETWORKS[name][1]) for name in chosen}


def extra(ap):
    ap.add_argument("--train-limit", type=int, help="class-balanced training subset (default: all)")
    ap.add_argument("--data-dir", help="data root (default $RSNN_BRIAN_DATA)")
    ap.add_argument("--epochs", type=int, help=f"epochs per run (default: the {PRESET} preset's)")
    ap.add_argument("--networks", nargs="+", metavar="NAME",
                    help="train only these: recurrent, feed-forward, shallow (default: all three)")


def main(argv=None):
    return training_protocol(__doc__, "recurrence", conditions, SEEDS, argv, extra)


if __name__ == "__main__":
    main()
