"""The regulariser grid of protocols/regulariser.py: accuracy and weight sizes of each per-array setting.

Reads a saved results folder only; never simulates. The default is the
committed grid (figures/measured/regulariser_grid/: 784-400-R400-10, preset
``fashion-mnist-b16`` with the regulariser on, one epoch on 20,000 training
and 2,000 test images, seeds 0-2). Any folder written by
``protocols/regulariser.py`` (its settings.csv and weight_stats.csv) works,
e.g. the 4,000-image grid in figures/measured/regulariser/.

Three panels:
- test accuracy per setting, every seed a dot, mean ± s.d.;
- the first-layer weights from rarely active pixels (0.1-0.5 % of the
  samples): the shares below, inside and above the sizes 0.03-0.25 that the
  authors' log shows after ten epochs, mean over seeds, U(-1, 1) at the top;
- the mean |w| of every trained array per setting (mean over seeds).

Writes regulariser_grid.png/.pdf and regulariser_grid.csv: per setting the
seeds, the mean, s.d. and best test accuracy, the mean and s.d. over seeds of
the paired difference to ``off`` (same seed), the rare-pixel shares and the
mean |w| per array.

    python figures/regulariser_grid.py --out figures/out
    python figures/regulariser_grid.py --results results/regulariser --out figures/out
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT = HERE / "measured" / "regulariser_grid"
ARRAYS = ["ff1", "ff2", "rec2", "ff3"]
BASELINE = "off"


def _read(folder: Path, name: str, columns: set) -> pd.DataFrame:
    path = folder / name
    if not path.is_file():
        raise SystemExit(f"regulariser_grid.py: {path} does not exist (a folder written by protocols/regulariser.py)")
    frame = pd.read_csv(path)
    missing = columns - set(frame.columns)
    if missing:
        raise SystemExit(f"regulariser_grid.py: {path} lacks the columns {sorted(missing)}")
    return frame


def scale(folder: Path) -> str:
    """'20,000 / 2,000 images, 1 epoch' from the protocol's config.toml (empty if it is not there)."""
    path = folder / "config.toml"
    if not path.is_file():
        return ""
    cfg = tomllib.loads(path.read_text())
    first = cfg.get("conditions", [""])[0]
    n_train, n_test, epochs = (cfg.get(f"{first}.{k}") for k in ("train_limit", "test_limit", "epochs"))
    if n_train is None or n_train == "none":
        return ""
    return f"{n_train:,} / {n_test:,} images, {epochs} epoch{'s' if epochs != 1 else ''}"


def table(settings: pd.DataFrame, stats: pd.DataFrame) -> pd.DataFrame:
    """One row per setting (best mean first): accuracy over seeds, paired difference to ``off``, weight sizes."""
    g = settings.groupby("setting", sort=False)["test_accuracy"]
    out = pd.DataFrame({"seeds": g.size(), "mean": g.mean(), "sd": g.std(ddof=1), "best": g.max()})
    if BASELINE in out.index:
        base = settings[settings["setting"] == BASELINE].set_index("seed")["test_accuracy"]
        diff = settings.assign(d=settings["test_accuracy"] - settings["seed"].map(base)).dropna(subset=["d"])
        dg = diff.groupby("setting", sort=False)["d"]
        out[f"minus_{BASELINE}_mean"], out[f"minus_{BASELINE}_sd"] = dg.mean(), dg.std(ddof=1)
    for col in ("rare_share_below", "rare_share_in_range", "rare_share_above", "rare_median_abs"):
        out[col] = settings.groupby("setting", sort=False)[col].mean()
    sizes = stats[(stats["group"] == "all") & (stats["setting"] != "initial")]
    sizes = sizes.groupby(["setting", "array"])["mean_abs"].mean().unstack("array")
    for a in ARRAYS:
        if a in sizes:
            out[f"{a}_mean_abs"] = sizes[a]
    return out.sort_values("mean", ascending=False).rename_axis("setting").reset_index()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=DEFAULT,
                    help="a protocols/regulariser.py results folder (default: the committed 20,000-image grid)")
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    settings = _read(args.results, "settings.csv", {"setting", "seed", "test_accuracy", "rare_share_below",
                                                     "rare_share_in_range", "rare_share_above", "rare_median_abs"})
    stats = _read(args.results, "weight_stats.csv", {"setting", "array", "group", "mean_abs", "share_below",
                                                      "share_in_range", "share_above"})
    tab = table(settings, stats)
    order = list(tab["setting"])

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from rsnn_brian.plotting import plot_conditions, plot_weight_bands, save_figure
    sns.set_theme(style="ticks", context="paper")
    fig, (acc, bands, heat) = plt.subplots(1, 3, figsize=(15, 4.6), gridspec_kw={"width_ratios": [1.15, 1, 0.8]})
    n_seeds = settings.groupby("setting")["seed"].nunique()
    if BASELINE in tab["setting"].values:          # drawn first: plot_conditions puts it in its legend
        acc.axhline(float(tab.loc[tab["setting"] == BASELINE, "mean"].iloc[0]), ls=":", color="0.5", lw=1,
                    label=f"{BASELINE}: mean")
    plot_conditions(settings.rename(columns={"test_accuracy": "test accuracy (%)"}), ax=acc, x="setting",
                    order=order)
    acc.set_xlabel("")
    acc.tick_params(axis="x", rotation=30, labelsize="small")
    for t in acc.get_xticklabels():
        t.set_horizontalalignment("right")
    what = scale(args.results)
    seeds = f"{int(n_seeds.min())}-{int(n_seeds.max())}" if n_seeds.min() != n_seeds.max() else f"{int(n_seeds.min())}"
    acc.set_title(f"test accuracy{' (' + what + ')' if what else ''}, {seeds} seeds per setting", fontsize="medium")

    rare = settings.groupby("setting", sort=False)[["rare_share_below", "rare_share_in_range", "rare_share_above"]]
    rare = rare.mean().rename(columns=lambda c: c.replace("rare_", "")).reindex(order)
    init = stats[(stats["setting"] == "initial") & (stats["array"] == "ff1") & (stats["group"] == "rare")]
    if len(init):
        rare = pd.concat([init[["share_below", "share_in_range", "share_above"]].mean().to_frame("initial U(-1, 1)").T,
                          rare])
    plot_weight_bands(rare, ax=bands, title="first-layer weights from rarely active pixels (0.1-0.5 %)\n"
                                            "the authors' log: sizes 0.03-0.25 after 10 epochs")
    bands.tick_params(axis="y", labelsize="small")

    sizes = tab.set_index("setting")[[f"{a}_mean_abs" for a in ARRAYS if f"{a}_mean_abs" in tab]]
    sizes.columns = [c.replace("_mean_abs", "") for c in sizes.columns]
    sns.heatmap(sizes, annot=True, fmt=".2f", cmap="viridis", vmin=0, vmax=0.6, cbar_kws={"label": "mean |w|"},
                ax=heat, annot_kws={"fontsize": "x-small"})
    heat.set_ylabel("")
    heat.set_xlabel("trained array")
    heat.tick_params(axis="y", labelsize="small")
    heat.set_title("mean |w| after training (U(-1, 1): 0.50)", fontsize="medium")
    sns.despine(fig=fig, ax=acc)
    fig.tight_layout()
    save_figure(fig, args.out, "regulariser_grid")
    tab.to_csv(args.out / "regulariser_grid.csv", index=False)
    print(tab.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"wrote {args.out / 'regulariser_grid.png'}")
    return tab


if __name__ == "__main__":
    main()
