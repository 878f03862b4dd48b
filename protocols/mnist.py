"""MNIST, 784-400-R400-10: the paper's MNIST result, over seeds.

Question: what does ST-RSBP reach on MNIST with the paper's network (Zhang &
Li 2019, table 1: 784-400-R400-10)? The authors' ST-RSBP code holds no MNIST
log; figures/results_table.py and figures/paper_learning_curves.py set our runs
beside the MNIST log of their earlier HM2-BP (784-800-10, 200 epochs, best
98.93 % after 101 of them; figures/reference/hm2bp_mnist_784-800-10.csv).

Settings (``--settings``): ``paper`` (default) is the preset ``mnist`` (the
Fashion-MNIST settings of the paper: batch 1, eta_0 0.001, regulariser on);
``b16`` the Fashion-MNIST b16 settings on MNIST (batch 16, eta_0 0.004, no
regulariser). Thresholds 20/20/15, tau_m 64 ms, T = 400, 3 epochs (``--epochs``;
a finished run in ``--out`` is resumed and extended).

Writes metrics.csv, summary.csv and one run directory per seed. Runtime on 2
cores: about 21 min per epoch with b16 (19 min training, 2 min test), about
5 h per seed with batch 1; --quick about 5 s.

    python protocols/mnist.py --settings b16 --seeds 0 1 2 --out results/mnist
    python protocols/mnist.py --settings b16 --seeds 0 --epochs 7 --out results/mnist --overwrite  # extend
"""

from __future__ import annotations

from _protocol import training_protocol

SEEDS = (0, 1, 2)


def conditions(args):
    import rsnn_brian as rb
    cfg = rb.load_preset("mnist") if args.settings == "paper" else \
        rb.load_preset("fashion-mnist-b16").replace(dataset="mnist")
    if args.data_dir:
        cfg = cfg.replace(data_dir=args.data_dir)
    if args.epochs is not None:
        if args.epochs < 1:
            raise SystemExit(f"--epochs must be at least 1, got {args.epochs}")
        cfg = cfg.replace(epochs=args.epochs)
    return {f"mnist-{args.settings}": cfg}


def extra(ap):
    ap.add_argument("--settings", choices=["paper", "b16"], default="paper")
    ap.add_argument("--data-dir", help="data root (default $RSNN_BRIAN_DATA)")
    ap.add_argument("--epochs", type=int, help="epochs per seed (default: the preset's 3); a finished run in "
                    "--out is extended to this many, never shortened")


def main(argv=None):
    return training_protocol(__doc__, "mnist", conditions, SEEDS, argv, extra)


if __name__ == "__main__":
    main()
