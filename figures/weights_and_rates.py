"""Receptive fields, weight and firing-rate distributions per layer, before and after training.

Reads saved results only; never simulates. Input: the results folder of
``protocols/network_activity.py`` (receptive_fields.npz, weight_hist.csv,
rates.csv, run.json); the committed one is figures/measured/activity_demo.

receptive_fields.png / .pdf: the first-layer weights of the first hidden
neurons as 28 x 28 images, initial (the run's seed) and trained, one colour
scale. weights_and_rates.png / .pdf: a weight histogram per weight array
(initial and trained, density), and the firing rates of every neuron per layer
over the protocol's test samples.

    python figures/weights_and_rates.py figures/measured/activity_demo --out figures/out
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from rsnn_brian.plotting import plot_rate_distribution, plot_receptive_fields, plot_weight_hist  # noqa: E402


def draw_fields(folder: Path, run: dict):
    with np.load(folder / "receptive_fields.npz") as f:
        fields = {s: f[s] for s in ("initial", "trained")}
        neurons, shape = f["neurons"], tuple(int(x) for x in f["image_shape"])
    n = len(neurons)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, 2 * cols + 1, figsize=(2.5 * cols + 1.5, 1.3 * rows + 0.9),
                             gridspec_kw={"width_ratios": [1] * cols + [0.35] + [1] * cols})
    for ax in axes[:, cols]:
        ax.set_axis_off()
    vmax = float(max(np.abs(a).max() for a in fields.values()))
    titles = [f"neuron {i}" for i in neurons]
    for g, (state, w) in enumerate(fields.items()):
        grid = axes[:, g * (cols + 1):g * (cols + 1) + cols]
        im = plot_receptive_fields(w, shape, axes=grid.ravel(), vmax=vmax, titles=titles)
        grid[0, 0].annotate(state, xy=(0, 1.45), xycoords="axes fraction", fontsize="medium", weight="bold")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.7, label="weight from pixel (dimensionless)")
    fig.suptitle(f"{run['architecture']}: first-layer weights (28 x 28 pixels) of hidden neurons 0-{n - 1}, "
                 f"initial and after {run['epochs']} epochs", fontsize="medium")
    return fig, fields


def draw_distributions(folder: Path, run: dict):
    hist = pd.read_csv(folder / "weight_hist.csv")
    rates = pd.read_csv(folder / "rates.csv")
    arrays = list(dict.fromkeys(hist["array"]))
    fig, axes = plt.subplots(1, len(arrays) + 1, figsize=(3.2 * (len(arrays) + 1), 3.0),
                             gridspec_kw={"width_ratios": [1] * len(arrays) + [1.5]})
    for ax, name in zip(axes, arrays):
        plot_weight_hist(hist[hist["array"] == name], ax=ax, title=f"weights {name}")
    plot_rate_distribution(rates, ax=axes[-1], title="firing rate of every neuron")
    sns.despine(fig)
    fig.suptitle(f"{run['architecture']} on {run['dataset']}: initial weights and after {run['epochs']} epochs",
                 fontsize="medium")
    fig.tight_layout()
    return fig, hist, rates


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, nargs="?", default=Path(__file__).parent / "measured" / "activity_demo")
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    run = json.loads((args.folder / "run.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    sns.set_theme(style="ticks", context="paper")
    fig, fields = draw_fields(args.folder, run)
    for ext in ("png", "pdf"):
        fig.savefig(args.out / f"receptive_fields.{ext}", dpi=130, bbox_inches="tight")
    plt.close(fig)
    fig, hist, rates = draw_distributions(args.folder, run)
    for ext in ("png", "pdf"):
        fig.savefig(args.out / f"weights_and_rates.{ext}", dpi=130)
    plt.close(fig)
    summary = rates.groupby(["state", "layer"])["rate_hz"].agg(["mean", "median", "max"]).reset_index()
    summary.to_csv(args.out / "rates_summary.csv", index=False)
    print(summary.round(2).to_string(index=False))
    print(f"wrote {args.out / 'receptive_fields.png'} and {args.out / 'weights_and_rates.png'}")
    return fields, hist, rates


if __name__ == "__main__":
    main()
