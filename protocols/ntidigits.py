"""N-TIDIGITS: the silicon-cochlea spoken digits of the paper, read and (when the package can) trained.

Question: what do the N-TIDIGITS18 spike trains look like binned as the paper
bins them (64 channels, 1 ms, T = 700), and does the paper's network
64-400-R400-400-11 (Zhang & Li 2019, table 3: best 93.90 % in the authors'
log; thresholds 8/8/8/6, tau_m 128 ms) learn them?

1. the reader (rsnn_brian.data.ntidigits): per utterance of each split its class,
   spikes, events cut at T and last spike step (utterances.csv); spikes per
   channel and class (channels.csv);
2. the network, ``--train``: trains through ``rsnn_brian.train`` once the
   package's TrainConfig accepts ``dataset = "ntidigits"`` (not yet: then it
   says so in one line and stops after the reader part).

The data: ``n-tidigits.hdf5`` under ``--data-dir`` (default
$RSNN_BRIAN_DATA/n-tidigits/); the protocol stops with one line if it is absent.
Runtime: reader about 1 min for the whole file; training (when available) many
hours; --quick about 1 s (a synthetic file of 22 utterances in the same HDF5 layout).

    python protocols/ntidigits.py --data-dir ~/data --out results/ntidigits
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from _protocol import Results, parser

# -- parameters ----------------------------------------------------------------------------
N_STEPS = 700                  # T, steps of DT_S
DT_S = 1e-3                    # bin width, s
ARCHITECTURE = "64-400-R400-400-11"
THRESHOLDS = [8.0, 8.0, 8.0, 6.0]
TAU_M = "128 ms"
FILE = "n-tidigits.hdf5"


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
    ap.add_argument("--train", action="store_true", help="also train the paper's network (when the package can)")
    args = ap.parse_args(argv)
    params = {"n_steps": N_STEPS, "dt_s": DT_S, "architecture": ARCHITECTURE, "thresholds": THRESHOLDS,
              "tau_m": TAU_M}
    if args.quick:
        res = Results(args.out, "ntidigits", params | {"data": "synthetic"}, args.seeds[:1], True, args.overwrite)
        path = write_synthetic(res.path / "synthetic.hdf5", args.seeds[0])
    else:
        root = args.data_dir or (Path(os.environ["RSNN_BRIAN_DATA"]) if "RSNN_BRIAN_DATA" in os.environ else None)
        cands = [] if root is None else [root / "n-tidigits" / FILE, root / FILE]
        path = next((p for p in cands if p.is_file()), None)
        if path is None:
            raise SystemExit(f"ntidigits: {FILE} not found (looked in {', '.join(map(str, cands)) or 'nothing'}); "
                             "pass --data-dir")
        res = Results(args.out, "ntidigits", params | {"data": str(path)}, args.seeds, False, args.overwrite)
    utt, chan = reader_tables(path)
    res.csv("utterances", utt)
    res.csv("channels", chan)
    print(utt.groupby("split").agg(utterances=("key", "count"), spikes_mean=("spikes", "mean")).round(1).to_string())
    if args.train:
        from rsnn_brian.config import DATASETS
        if "ntidigits" not in DATASETS:
            print("ntidigits: training needs dataset = \"ntidigits\" in rsnn_brian.config (not there yet); "
                  "reader part done")
        else:                                      # pragma: no cover - once the package has the entry
            from _protocol import summarise, train_conditions

            import rsnn_brian as rb
            cfg = rb.TrainConfig(dataset="ntidigits", architecture=ARCHITECTURE, thresholds=THRESHOLDS,
                                 tau_m=TAU_M, n_steps=N_STEPS, data_dir=str(path.parent))
            res.csv("summary", summarise(train_conditions(res, {"ntidigits": cfg}, args.seeds)))
    return res.finish()


if __name__ == "__main__":
    main()
