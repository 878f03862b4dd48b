"""The paper's regulariser on Fashion-MNIST: learning curves with and without it beside the authors' 36 epochs.

Reads saved results only; never simulates. Ours (784-400-R400-10, preset
``fashion-mnist-b16``, all 60,000 training and 10,000 test images): the
committed runs in figures/measured/ (regulariser off: seeds 0-2, three epochs;
lambda 10 everywhere: seed 0, two epochs; lambda 1 everywhere: seed 0, one
epoch) and the per-array settings of ``protocols/regulariser.py`` on the full
set (figures/measured/regulariser_full/, seed 0, one epoch; the chosen setting,
first-layer lambda 0.03, seeds 0-2 for three epochs in regulariser_full_3ep/). ``--protocol
FOLDER`` adds a protocol results folder (its metrics.csv: condition, seed,
epoch), e.g. the three-epoch or long runs of docs/regulariser.md; its rows
replace committed rows of the same setting, seed and epoch. The authors':
their Fashion-MNIST log (batch 1, regulariser on, one run, 94 epochs, best after 37).

Left: test accuracy against epochs trained, on the authors' whole run, with
how many epochs each of ours reached. Middle: the same lines over the first three
epochs, on a linear axis. Right: every setting after epoch 1,
each seed a dot, the authors' 84.71 % as a line.

Writes regulariser.png/.pdf, regulariser.csv (tidy: setting, seed, epochs,
test_accuracy, source), regulariser_epoch1.csv (per setting after epoch 1:
seeds, mean, s.d., best, the mean minus the authors') and regulariser_epochs.csv
(the same per setting and epoch 1-3, beside the authors' 84.71 / 86.07 / 87.19 %).

    python figures/regulariser.py --out figures/out
    python figures/regulariser.py --protocol results/regulariser_full --out figures/out
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from rsnn_brian.plotting import source_label

HERE = Path(__file__).resolve().parent
MEASURED = HERE / "measured"
REFERENCE = HERE / "reference" / "reference_learning_curves.csv"
AUTHORS_RUN = "fashion-mnist 784-400-R400-10"
AUTHORS = "authors (batch 1, regulariser on)"
#: setting -> the committed run metrics of each seed (0, 1, ...)
RUNS = {
    "off": ["fashion_mnist_b16_noreg_metrics.csv", "fashion_mnist_b16_noreg_seed1_metrics.csv",
            "fashion_mnist_b16_noreg_seed2_metrics.csv"],
    "lambda 10 everywhere": ["fashion_mnist_b16_metrics.csv"],
    "lambda 1 everywhere": ["fashion_mnist_b16_lambda1_metrics.csv"],
}
PROTOCOL = MEASURED / "regulariser_full"              # per-array settings, seed 0, one epoch
PROTOCOL_3EP = MEASURED / "regulariser_full_3ep"      # the chosen setting, seeds 0-2, three epochs
#: drawn as lines on the left and in the middle (the settings run for more than one epoch, or that the paper names)
CURVES = ["off", "ff1 lambda 0.03", "lambda 10 everywhere"]
#: the epochs the per-epoch table compares with the authors (their 84.71 / 86.07 / 87.19 %)
TABLE_EPOCHS = (1, 2, 3)


def _epochs(metrics: pd.DataFrame) -> pd.Series:
    from rsnn_brian.plotting import epochs_trained
    return epochs_trained(metrics)


def _rows(setting, seed, metrics: pd.DataFrame, source) -> pd.DataFrame:
    return pd.DataFrame({"setting": setting, "seed": int(seed), "epochs": _epochs(metrics).to_numpy(),
                         "test_accuracy": metrics["test_accuracy"].to_numpy(), "source": source_label(source)})


def tidy(protocols=(PROTOCOL,), runs=None, folder: Path = MEASURED) -> pd.DataFrame:
    """Every (setting, seed, epochs trained) with its test accuracy; later inputs replace earlier rows."""
    runs = RUNS if runs is None else runs
    frames = [_rows(setting, seed, pd.read_csv(folder / f), folder / f) for setting, files in runs.items()
              for seed, f in enumerate(files)]
    for p in protocols:
        path = Path(p) / "metrics.csv"
        if not path.is_file():
            raise SystemExit(f"regulariser.py: {path} does not exist (a folder written by protocols/regulariser.py)")
        m = pd.read_csv(path)
        missing = {"condition", "seed", "epoch", "test_accuracy"} - set(m.columns)
        if missing:
            raise SystemExit(f"regulariser.py: {path} lacks the columns {sorted(missing)}")
        frames += [_rows(c, s, g, path) for (c, s), g in m.groupby(["condition", "seed"], sort=False)]
    data = pd.concat(frames, ignore_index=True)
    return data.drop_duplicates(["setting", "seed", "epochs"], keep="last").reset_index(drop=True)


def authors(reference: Path = REFERENCE) -> pd.DataFrame:
    ref = pd.read_csv(reference)
    ref = ref[ref["run"] == AUTHORS_RUN]
    return pd.DataFrame({"epochs": ref["epoch"].to_numpy() + 1, "test_accuracy": ref["test_accuracy"].to_numpy()})


def epoch1(data: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """Per setting after epoch 1: seeds, mean, s.d. (NaN for one seed), best, mean minus the authors'."""
    a1 = float(theirs.loc[theirs["epochs"] == 1, "test_accuracy"].iloc[0])
    g = data[data["epochs"] == 1].groupby("setting", sort=False)["test_accuracy"]
    out = pd.DataFrame({"seeds": g.size(), "mean": g.mean(), "sd": g.std(ddof=1), "best": g.max()})
    out["minus_authors"] = out["mean"] - a1
    return out.sort_values("mean", ascending=False).reset_index()


def per_epoch(data: pd.DataFrame, theirs: pd.DataFrame, epochs=TABLE_EPOCHS) -> pd.DataFrame:
    """Per setting and epoch (of ``epochs``): seeds, mean, s.d., best, the authors' figure, mean minus theirs."""
    d = data[data["epochs"].isin(epochs)]
    g = d.groupby(["setting", "epochs"], sort=False)["test_accuracy"]
    out = pd.DataFrame({"seeds": g.size(), "mean": g.mean(), "sd": g.std(ddof=1), "best": g.max()}).reset_index()
    out["authors"] = out["epochs"].map(theirs.set_index("epochs")["test_accuracy"])
    out["minus_authors"] = out["mean"] - out["authors"]
    order = {s: k for k, s in enumerate(epoch1(data, theirs)["setting"])}
    return out.sort_values(["setting", "epochs"], key=lambda c: c.map(order) if c.name == "setting" else c
                           ).reset_index(drop=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", type=Path, action="append",
                    help="a protocols/regulariser.py results folder (repeatable; default: the committed full-set runs)")
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    data = tidy(args.protocol or (PROTOCOL, PROTOCOL_3EP))
    theirs = authors()
    table = epoch1(data, theirs)
    epochs = per_epoch(data, theirs)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

    from rsnn_brian.plotting import plot_conditions, plot_seed_curves, save_figure
    sns.set_theme(style="ticks", context="paper")
    fig, (left, mid, right) = plt.subplots(1, 3, figsize=(16, 4.4), gridspec_kw={"width_ratios": [1.1, 0.75, 1]})
    reached = data.groupby("setting")["epochs"].max()
    curves = [s for s in CURVES if s in reached.index]
    lines = data[data["setting"].isin(curves)]
    def _n(k, what):
        return f"{k} {what}{'s' if k != 1 else ''}"

    labels = {s: f"{s} ({_n(lines[lines.setting == s].seed.nunique(), 'seed')}, {_n(int(reached[s]), 'epoch')})"
              for s in curves}
    drawn = pd.concat([pd.DataFrame({"epochs trained": lines["epochs"], "test accuracy (%)": lines["test_accuracy"],
                                     "source": lines["setting"].map(labels), "seed": lines["seed"]}),
                       pd.DataFrame({"epochs trained": theirs["epochs"], "test accuracy (%)": theirs["test_accuracy"],
                                     "source": f"{AUTHORS}, {int(theirs.epochs.max())} epochs", "seed": 0})])
    plot_seed_curves(drawn, ax=left)
    left.set_xscale("log", base=2)                  # the first epochs and the authors' whole run
    ticks = [2 ** k for k in range(int(np.log2(theirs.epochs.max())) + 1)]
    left.set_xticks(ticks, [str(t) for t in ticks])
    best = theirs.loc[theirs["test_accuracy"].idxmax()]
    last = theirs.iloc[-1]
    left.annotate(f"authors: best {best.test_accuracy:.2f} % after {int(best.epochs)} epochs,\n"
                  f"{last.test_accuracy:.2f} % after {int(last.epochs)}", (best.epochs, best.test_accuracy),
                  xytext=(0.45, 0.45), textcoords="axes fraction", fontsize="small",
                  arrowprops=dict(arrowstyle="->", color="0.4", lw=0.8))
    left.set_title("Fashion-MNIST 784-400-R400-10, test accuracy per epoch (mean ± s.d. over seeds)",
                   fontsize="medium")
    first = max(TABLE_EPOCHS)
    plot_seed_curves(drawn[drawn["epochs trained"] <= first], ax=mid)
    mid.get_legend().remove()                       # the same lines as on the left
    mid.set_xticks(list(TABLE_EPOCHS))
    mid.set_title(f"the first {first} epochs (mean ± s.d. over seeds)", fontsize="medium")
    one = data[data["epochs"] == 1].rename(columns={"test_accuracy": "test accuracy (%)"})
    plot_conditions(one, ax=right, x="setting", order=list(table["setting"]))
    a1 = float(theirs.loc[theirs["epochs"] == 1, "test_accuracy"].iloc[0])
    right.axhline(a1, ls="--", color="0.4", lw=1)
    right.text(len(table) - 0.5, a1 + 0.15, f"authors after epoch 1: {a1:.2f} %", ha="right", fontsize="small")
    right.set_title("after epoch 1, by regulariser setting (lambda per array)", fontsize="medium")
    right.set_xlabel("")
    right.tick_params(axis="x", rotation=30, labelsize="small")
    for t in right.get_xticklabels():
        t.set_horizontalalignment("right")
    sns.despine(fig)
    fig.tight_layout()
    save_figure(fig, args.out, "regulariser")
    data.to_csv(args.out / "regulariser.csv", index=False)
    table.to_csv(args.out / "regulariser_epoch1.csv", index=False)
    epochs.to_csv(args.out / "regulariser_epochs.csv", index=False)
    print(epochs.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"wrote {args.out / 'regulariser.png'}")
    return data, table, epochs


if __name__ == "__main__":
    main()
