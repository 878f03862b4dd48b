"""How do the membrane time constant and the reservoir size change what ST-RSBP learns?

Question: the paper fixes tau_m = 64 ms for images and a reservoir of 400
neurons (Zhang & Li 2019, section 4 and the settings table of its supplement);
how sensitive is the accuracy to either? ``--sweep tau_m`` trains
784-400-R400-10 at tau_m = TAU_M_MS; ``--sweep reservoir`` trains
784-400-R<N>-10 for N in RESERVOIR_SIZES at tau_m 64 ms. Everything else:
the ``fashion-mnist-b16`` settings (thresholds 20/20/15, batch 16, eta_0 0.004,
no regulariser, T = 400), ``--epochs`` (default 1) on ``--train-limit`` samples
(default 10,000) and the whole test set. The effect-ratio tables follow tau_m
(generated once per value, cached).

Writes metrics.csv, summary.csv, one run directory per (value, seed).
Runtime: full about 20 min per (value, seed) on 2 cores at the defaults;
--quick about 5 s (two values, built-in subset, networks 20 times smaller).

    python protocols/sweeps.py --sweep tau_m --out results/sweep_tau_m
    python protocols/sweeps.py --sweep reservoir --out results/sweep_reservoir
"""

from __future__ import annotations

from _protocol import training_protocol

SEEDS = (0,)
TAU_M_MS = (16, 32, 64, 128, 256)              # membrane time constants swept, ms
RESERVOIR_SIZES = (50, 100, 200, 400, 800)     # reservoir neurons swept
PRESET = "fashion-mnist-b16"


def conditions(args):
    import rsnn_brian as rb
    base = rb.load_preset(PRESET).replace(train_limit=args.train_limit, epochs=args.epochs, data_dir=args.data_dir)
    if args.sweep == "tau_m":
        values = TAU_M_MS[1:4:2] if args.quick else TAU_M_MS
        return {f"tau_m {v} ms": base.replace(tau_m=f"{v} ms") for v in values}
    values = RESERVOIR_SIZES[1:4:2] if args.quick else RESERVOIR_SIZES
    # --quick shrinks every hidden layer 20 times: reservoirs of 100 and 400 become 5 and 20
    return {f"reservoir {n}": base.replace(architecture=f"784-400-R{n}-10") for n in values}


def extra(ap):
    ap.add_argument("--sweep", choices=["tau_m", "reservoir"], default="tau_m")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-limit", type=int, default=10_000)
    ap.add_argument("--data-dir", help="data root (default $RSNN_BRIAN_DATA)")


def main(argv=None):
    return training_protocol(__doc__, "sweeps", conditions, SEEDS, argv, extra)


if __name__ == "__main__":
    main()
