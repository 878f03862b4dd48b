"""Learning curves of the paper's experiments against the authors' per-epoch curves.

Reads saved results only; never simulates. Ours: the committed metrics in
figures/measured/ (Fashion-MNIST fashion-mnist-b16, seeds 0-2; MNIST with the
fashion-mnist-b16 settings, seed 0; FSDD official split, seeds 0-2) or, with
``--fashion-mnist FOLDER`` / ``--mnist FOLDER`` / ``--fsdd FOLDER``, a training
protocol's results folder (its metrics.csv: every epoch of every seed). The
authors': their training logs (figures/reference/reference_learning_curves.csv;
Fashion-MNIST 784-400-R400-10 and TI46-Digits 78-200-R200-200-10, batch 1);
for MNIST, where they published no ST-RSBP log, the log of HM2-BP, their earlier
spiking MLP (784-800-10, figures/reference/hm2bp_mnist_784-800-10.csv), and its
best test accuracy over 200 epochs, 98.93 %, as a dotted line. Mean ± s.d. over seeds as a band; the authors'
curve dashed, cut to our epochs plus two.

Writes paper_learning_curves.png / .pdf and paper_learning_curves.csv (the tidy data drawn).

    python figures/paper_learning_curves.py --out figures/out
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from rsnn_brian.plotting import epochs_trained, plot_seed_curves, save_figure  # noqa: E402

HERE = Path(__file__).resolve().parent
MEASURED = HERE / "measured"
REFERENCE = HERE / "reference" / "reference_learning_curves.csv"
HM2BP = HERE / "reference" / "hm2bp_mnist_784-800-10.csv"      # the authors' earlier spiking MLP on MNIST
PANELS = {   # panel: (our committed metrics files, our label, the authors' run or None, their label)
    "Fashion-MNIST, 784-400-R400-10": (
        ["fashion_mnist_b16_noreg_metrics.csv", "fashion_mnist_b16_noreg_seed1_metrics.csv",
         "fashion_mnist_b16_noreg_seed2_metrics.csv"], "rsnn_brian, fashion-mnist-b16",
        "fashion-mnist 784-400-R400-10", "authors, batch 1"),
    "MNIST, 784-400-R400-10": (
        ["mnist_b16_metrics.csv"], "rsnn_brian, fashion-mnist-b16 settings",
        "hm2bp mnist 784-800-10", "authors' HM2-BP, 784-800-10, batch 1"),
    "spoken digits, 78-200-R200-200-10": (
        ["fsdd_official_metrics.csv", "fsdd_official_seed1_metrics.csv", "fsdd_official_seed2_metrics.csv"],
        "rsnn_brian, FSDD official split", "ti46-digits 78-200-R200-200-10", "authors, TI46-Digits"),
}
#: panel: (label, test accuracy %) of a published figure drawn as a dotted line
TARGETS = {"MNIST, 784-400-R400-10": ("HM2-BP's best (after 101 epochs)", 98.93)}
EXTRA_EPOCHS = 2          # the authors' curve is drawn this many epochs past ours


def ours_from_files(files, label, folder=MEASURED) -> pd.DataFrame:
    frames = []
    for seed, f in enumerate(files):
        m = pd.read_csv(folder / f)
        frames.append(pd.DataFrame({"epochs trained": epochs_trained(m), "test accuracy (%)": m["test_accuracy"],
                                    "source": label, "seed": seed}))
    return pd.concat(frames, ignore_index=True)


def ours_from_protocol(folder, label) -> pd.DataFrame:
    m = pd.read_csv(Path(folder) / "metrics.csv")
    return pd.DataFrame({"epochs trained": epochs_trained(m), "test accuracy (%)": m["test_accuracy"],
                         "source": label, "seed": m["seed"]})


def tidy(overrides: dict | None = None, folder=MEASURED, reference=REFERENCE, hm2bp=HM2BP) -> pd.DataFrame:
    ref = pd.concat([pd.read_csv(reference), pd.read_csv(hm2bp)], ignore_index=True)
    rows = []
    for panel, (files, label, run, ref_label) in PANELS.items():
        mine = ours_from_protocol(overrides[panel], label) if overrides and panel in overrides else \
            ours_from_files(files, label, folder)
        last = int(mine["epochs trained"].max())
        parts = [mine]
        if run is not None:
            a = ref[(ref["run"] == run) & (ref["epoch"] + 1 <= last + EXTRA_EPOCHS)]     # their logs count from 0
            parts.append(pd.DataFrame({"epochs trained": a["epoch"] + 1, "test accuracy (%)": a["test_accuracy"],
                                       "source": ref_label, "seed": 0}))
        rows.append(pd.concat(parts, ignore_index=True).assign(panel=panel))
    return pd.concat(rows, ignore_index=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fashion-mnist", type=Path, help="results folder of protocols/fashion_mnist.py")
    ap.add_argument("--mnist", type=Path, help="results folder of protocols/mnist.py")
    ap.add_argument("--fsdd", type=Path, help="results folder of protocols/fsdd.py --split official")
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    keys = list(PANELS)
    overrides = {k: v for k, v in zip(keys, (args.fashion_mnist, args.mnist, args.fsdd)) if v is not None}
    data = tidy(overrides)
    args.out.mkdir(parents=True, exist_ok=True)
    sns.set_theme(style="ticks", context="paper")
    fig, axes = plt.subplots(1, len(PANELS), figsize=(5.2 * len(PANELS), 3.8))
    for ax, panel in zip(axes, PANELS):
        plot_seed_curves(data[data["panel"] == panel], ax=ax)
        if panel in TARGETS:
            label, value = TARGETS[panel]
            ax.axhline(value, color="0.3", ls=":", lw=1.2, label=f"{label}, {value:.2f} %")
            ax.legend(fontsize="small", frameon=False)
        n = data[(data["panel"] == panel) & data["source"].str.startswith("rsnn")]["seed"].nunique()
        ax.set_title(f"{panel} ({n} seed{'s' if n > 1 else ''}, mean ± s.d.)" if n > 1 else panel,
                     fontsize="medium")
    sns.despine(fig)
    fig.tight_layout()
    save_figure(fig, args.out, "paper_learning_curves")
    data.to_csv(args.out / "paper_learning_curves.csv", index=False)
    print(f"wrote {args.out / 'paper_learning_curves.png'}")
    return data


if __name__ == "__main__":
    main()
