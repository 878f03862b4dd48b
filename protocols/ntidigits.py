"""N-TIDIGITS: the silicon-cochlea spoken digits of the paper, read and (when the package can) trained.

Question: what do the N-TIDIGITS18 spike trains look like binned as the paper
bins them (64 channels, 1 ms, T = 700), and does the paper's network
64-400-R400-400-11 (Zhang & Li 2019, table 3: best 93.90 % in the authors'
log; thresholds 8/8/8/6, tau_m 128 ms) learn them?

1. the reader (rsnn_brian.data.ntidigits): per utterance of each split its class,
   spikes, events cut at T and last spike step (utterances.csv); spikes per
   channel and class (channels.csv);
2. the network, ``--train``: the ``ntidigits`` preset (the paper's network and
   neuron settings) trained through ``rsnn_brian.train``, one run per seed;
   ``--quick --train`` trains a 20-times smaller network on the synthetic file.

The data: ``n-tidigits.hdf5`` under ``--data-dir`` (default
$RSNN_BRIAN_DATA/n-tidigits/); the protocol stops with one line if it is absent.
Runtime: reader about 1 min for the whole file; training many hours (20 epochs);
--quick about 1 s (a synthetic file of 22 utterances in the same HDF5 layout),
a few seconds more with --train.

    python protocols/ntidigits.py --data-dir ~/data --out results/ntidigits
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from _protocol import Results, parser, shrink

from rsnn_brian.data.ntidigits import FILE

# -- parameters ----------------------------------------------------------------------------
N_STEPS = 700                  # T, steps of DT_S
DT_S = 1e-3                    # bin width, s
ARCHITECTURE = "64-400-R400-400-11"
THRESHOLDS = [8.0, 8.0, 8.0, 6.0]
TAU_M = "128 ms"


def write_synthetic(path: Path, seed: int, per_class: int = 1) -> Path:
    """A small file in the distributed layout: one utterance per class and split, Poisson events."""
    import h5py
    rng = np.random.default_rng(seed)
    names = ["z", *map(str, range(1, 10)), "o"]
    with h5py.File(path, "w") as f:
        for split in ("train", "test"):
            keys = [f"man-s{r}-{d}" for d in names for r in range(per_class)] + ["woman-x-12"]   # one multi-digit
            f.create_dataset(f"{split}_labels", data=np.array([k.encode() for k in keys]))
            ga, gt = f.create_group(f"{split}_addresses"), f.create_group(f"{split}_timestamps")
            for k in keys:
                n = int(rng.integers(200, 2000))
                ga.create_dataset(k, data=rng.integers(0, 64, n).astype(np.int8))
                gt.create_dataset(k, data=np.sort(rng.uniform(0.0, 0.9, n)))
    return path


def reader_tables(path: Path):
    from rsnn_brian.data.ntidigits import DIGIT_CLASSES, load_ntidigits
    names = {v: k for k, v in DIGIT_CLASSES.items()}
    utt, chan = [], []
    for split in ("train", "test"):
        trains, labels, keys = load_ntidigits(path, split, N_STEPS, DT_S)
        for tr, lab, key in zip(trains, labels, keys):
            utt.append({"split": split, "key": key, "label": int(lab), "digit": names[int(lab)],
                        "spikes": tr.n_spikes, "last_step": int(tr.step.max()) if tr.n_spikes else -1})
        counts = np.stack([tr.counts() for tr in trains]) if trains else np.zeros((0, 64))
        for lab in np.unique(labels):
            mean = counts[labels == lab].mean(axis=0)
            chan.append(pd.DataFrame({"split": split, "label": int(lab), "digit": names[int(lab)],
                                      "channel": np.arange(mean.size), "spikes_per_utterance": mean,
                                      "rate_hz": mean / (N_STEPS * DT_S)}))
    return pd.DataFrame(utt), pd.concat(chan, ignore_index=True)


def main(argv=None):
    ap = parser(__doc__, "results/ntidigits")
    ap.add_argument("--data-dir", type=Path, help="folder holding n-tidigits/n-tidigits.hdf5 (or the file's folder)")
    ap.add_argument("--train", action="store_true", help="also train the paper's network (the ntidigits preset)")
    ap.add_argument("--epochs", type=int, help="epochs of --train (default: the preset's 20)")
    args = ap.parse_args(argv)
    params = {"n_steps": N_STEPS, "dt_s": DT_S, "architecture": ARCHITECTURE, "thresholds": THRESHOLDS,
              "tau_m": TAU_M}
    if args.quick:
        res = Results(args.out, "ntidigits", params | {"data": "synthetic"}, args.seeds[:1], True, args.overwrite)
        (res.path / "synthetic").mkdir(exist_ok=True)
        path = write_synthetic(res.path / "synthetic" / FILE, args.seeds[0])
    else:
        from rsnn_brian.data.ntidigits import find_ntidigits
        try:
            path = find_ntidigits(args.data_dir)
        except FileNotFoundError as e:
            raise SystemExit(f"ntidigits: {e}; or pass --data-dir") from None
        res = Results(args.out, "ntidigits", params | {"data": str(path)}, args.seeds, False, args.overwrite)
    utt, chan = reader_tables(path)
    res.csv("utterances", utt)
    res.csv("channels", chan)
    print(utt.groupby("split").agg(utterances=("key", "count"), spikes_mean=("spikes", "mean")).round(1).to_string())
    if args.train:
        from _protocol import quick_config, summarise, train_conditions

        from rsnn_brian.config import load_preset
        cfg = load_preset("ntidigits").replace(data_dir=str(path.parent), epochs=args.epochs)
        if args.quick:          # the synthetic file through a network 20 times smaller, one epoch, T = 60
            cfg = quick_config(cfg).replace(dataset="ntidigits", data_dir=str(path.parent),
                                            architecture=shrink(ARCHITECTURE, n_inputs=64))
        res.csv("summary", summarise(train_conditions(res, {"ntidigits": cfg}, args.seeds[:1] if args.quick
                                                      else args.seeds)))
    return res.finish()


if __name__ == "__main__":
    main()
