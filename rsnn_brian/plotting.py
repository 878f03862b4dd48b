"""Figures from tidy pandas frames (seaborn). Functions take ``ax=None`` and return the axes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["plot_learning_curve"]


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def plot_learning_curve(metrics: pd.DataFrame, path: str | Path | None = None, ax=None,
                        reference: pd.DataFrame | None = None):
    """Train and test accuracy (%) per epoch; optional reference curve (columns epoch, test_accuracy)."""
    import seaborn as sns
    plt = _plt()
    long = metrics.melt(id_vars="epoch", value_vars=["train_accuracy", "test_accuracy"],
                        var_name="split", value_name="accuracy (%)")
    long["split"] = long["split"].str.replace("_accuracy", "")
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(5, 3.5))
    sns.lineplot(data=long, x="epoch", y="accuracy (%)", hue="split", marker="o", ax=ax)
    if reference is not None:
        ax.plot(reference["epoch"], reference["test_accuracy"], "k--", lw=1, label="authors (test)")
        ax.legend()
    ax.set_title("ST-RSBP learning curve")
    if own and path is not None:
        ax.figure.tight_layout()
        ax.figure.savefig(path, dpi=120)
        plt.close(ax.figure)
    return ax
