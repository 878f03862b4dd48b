"""MNIST, 784-400-R400-10: the paper's MNIST result, over seeds.

Question: what does ST-RSBP reach on MNIST with the paper's network (Zhang &
Li 2019, table 1: 784-400-R400-10)? The authors' public code holds no MNIST
log, so figures/results_table.py shows only our numbers for it.

Settings (``--settings``): ``paper`` (default) is the preset ``mnist`` (the
Fashion-MNIST settings of the paper: batch 1, eta_0 0.001, regulariser on);
``b16`` the Fashion-MNIST b16 settings on MNIST (batch 16, eta_0 0.004, no
regulariser). Thresholds 20/20/15, tau_m 64 ms, T = 400, 3 epochs.

Writes metrics.csv, summary.csv and one run directory per seed. Runtime: full
about 2 h (b16) to 5 h (batch 1) per seed on 2 cores; --quick about 5 s.

    python protocols/mnist.py --seeds 0 1 2 --out results/mnist
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
    return {f"mnist-{args.settings}": cfg}


def extra(ap):
    ap.add_argument("--settings", choices=["paper", "b16"], default="paper")
    ap.add_argument("--data-dir", help="data root (default $RSNN_BRIAN_DATA)")


def main(argv=None):
    return training_protocol(__doc__, "mnist", conditions, SEEDS, argv, extra)


if __name__ == "__main__":
    main()
