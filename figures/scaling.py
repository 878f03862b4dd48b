"""Training-step time and peak memory against T and the layer size: ST-RSBP beside snnTorch BPTT.

Reads only the CSV of benchmarks/bench_scaling.py (never measures). Six
panels on log-log axes: wall and CPU ms per training sample and peak memory
(MB) against T (at the CSV's fixed layer size) and against the hidden and
recurrent layer size N (at its fixed T), one line per implementation.

    python figures/scaling.py figures/measured/scaling.csv --out figures/measured
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter  # noqa: E402

from rsnn_brian.plotting import save_figure  # noqa: E402

SWEEPS = {"T": ("T", "T (steps of 1 ms)"), "N": ("n_hidden", "hidden and recurrent layer size N")}
METRICS = {"ms_per_sample": "wall ms per training sample", "cpu_ms_per_sample": "CPU ms per training sample",
           "peak_mb": "peak memory (MB)"}
LABELS = {"st-rsbp": "ST-RSBP (Brian2 + engine)", "snntorch-bptt": "snnTorch BPTT"}


def tidy(csv: Path) -> pd.DataFrame:
    data = pd.read_csv(csv)
    missing = {"impl", "sweep", "T", "n_hidden", "batch", *METRICS} - set(data.columns)
    if missing:
        raise SystemExit(f"{csv}: not a bench_scaling.py CSV (no column {', '.join(sorted(missing))})")
    data["implementation"] = data["impl"].map(LABELS).fillna(data["impl"])
    return data


def draw(data: pd.DataFrame):
    fig, axes = plt.subplots(len(METRICS), 2, figsize=(9, 3.4 * len(METRICS)))
    order = [LABELS.get(i, i) for i in dict.fromkeys(data["impl"])]      # one colour per implementation
    palette = dict(zip(order, sns.color_palette(n_colors=len(order))))
    for col, (sweep, (x, xlabel)) in enumerate(SWEEPS.items()):
        part = data[data["sweep"] == sweep].sort_values(x)
        fixed = "n_hidden" if sweep == "T" else "T"
        where = ", ".join(f"{fixed if fixed == 'T' else 'N'} = {v}" for v in sorted(part[fixed].unique()))
        for row, (y, ylabel) in enumerate(METRICS.items()):
            ax = axes[row, col]
            sns.lineplot(data=part, x=x, y=y, hue="implementation", style="implementation", hue_order=order,
                         style_order=order, palette=palette, markers=True, dashes=False, ax=ax,
                         legend=(row == 0 and col == 0))
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xticks(sorted(part[x].unique()))
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if y != "peak_mb"
                                                  else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_title(f"{ylabel} ({where})", fontsize=9)
            ax.grid(True, which="major", alpha=0.3)
    batches = ", ".join(str(b) for b in sorted(data["batch"].unique()))
    fig.suptitle(f"One training step of 784-N-RN-10, batch {batches}")
    fig.tight_layout()
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path, help="the CSV written by benchmarks/bench_scaling.py")
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    fig = draw(tidy(args.csv))
    save_figure(fig, args.out, "scaling")
    print(f"wrote {args.out / 'scaling.png'}")


if __name__ == "__main__":
    main()
