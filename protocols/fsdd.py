"""Spoken digits (FSDD), 78-200-R200-200-10: official split and speaker held out, over seeds.

Question: does the paper's speech network (Zhang & Li 2019, table 3,
TI46-Digits 78-200-R200-200-10: best 99.39 % in the authors' log) learn spoken
digits from the Free Spoken Digit Dataset through Lyon's ear model, and does
it generalise to a speaker it never heard?

``--split official``: recordings 0-4 of every speaker are the test set.
``--split speaker``: one run per held-out speaker (``--speakers``, default all
six), trained on the other five. Preset ``fsdd`` with batch 8 (the measured run
of figures/measured/fsdd_official_metrics.csv): thresholds 5/5/5/5, tau_m 128
ms, T = 700 steps of 1 ms, eta_0 0.005, no regulariser; 20 epochs (official),
12 (speaker, ``--epochs``).

Writes metrics.csv, summary.csv, one run directory per (split, speaker, seed).
Runtime: full about 15 min (official) and 1 h (six speakers) per seed on 2
cores, after encoding the audio once (cached); --quick about 5 s (built-in
images stand in for speech: 784-10-R10-10-10, tau_m 128 ms, T 60).

    python protocols/fsdd.py --split official --seeds 0 1 2 --out results/fsdd_official
    python protocols/fsdd.py --split speaker --out results/fsdd_speaker
"""

from __future__ import annotations

from _protocol import training_protocol

SEEDS = (0,)
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")   # FSDD's six speakers
BATCH_SIZE = 8                     # the measured official-split run
EPOCHS = {"official": 20, "speaker": 12}


def conditions(args):
    import rsnn_brian as rb
    base = rb.load_preset("fsdd").replace(batch_size=BATCH_SIZE, samples_per_run=None,
                                          epochs=args.epochs or EPOCHS[args.split])
    if args.data_dir:
        base = base.replace(data_dir=args.data_dir)
    if args.split == "official":
        return {"fsdd-official": base}
    return {f"fsdd-speaker-{s}": base.replace(split_kind="speaker", held_out_speaker=s) for s in args.speakers}


def extra(ap):
    ap.add_argument("--split", choices=["official", "speaker"], default="official")
    ap.add_argument("--speakers", nargs="+", default=list(SPEAKERS))
    ap.add_argument("--epochs", type=int, help="default: 20 official, 12 speaker held out")
    ap.add_argument("--data-dir", help="data root holding fsdd/ (default $RSNN_BRIAN_DATA)")


def main(argv=None):
    return training_protocol(__doc__, "fsdd", conditions, SEEDS, argv, extra)


if __name__ == "__main__":
    main()
