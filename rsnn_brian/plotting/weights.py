"""Weights and firing rates before and after training: receptive fields, distributions per layer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .curves import _plt

__all__ = ["plot_receptive_fields", "plot_weight_hist", "plot_rate_distribution"]


def plot_receptive_fields(fields: np.ndarray, shape=(28, 28), axes=None, vmax: float | None = None,
                          titles=None, cmap: str = "RdBu_r"):
    """First-layer weights of several neurons as images, one per axis; returns the last image.

    fields : (n_neurons, n_inputs) weights; shape : the image shape of the inputs.
    axes : a flat sequence of at least n_neurons axes (default: a new square grid).
    vmax : colour range [-vmax, vmax] (default the largest |weight|), shared by all images.
    """
    plt = _plt()
    fields = np.asarray(fields)
    n = fields.shape[0]
    if axes is None:
        cols = int(np.ceil(np.sqrt(n)))
        _, grid = plt.subplots(int(np.ceil(n / cols)), cols, figsize=(1.2 * cols, 1.2 * np.ceil(n / cols)))
        axes = np.ravel(grid)
    vmax = float(np.abs(fields).max()) if vmax is None else vmax
    im = None
    for i, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.set_axis_off()
            continue
        im = ax.imshow(fields[i].reshape(shape), cmap=cmap, vmin=-vmax, vmax=vmax)
        if titles is not None:
            ax.set_title(titles[i], fontsize="x-small")
    return im


def plot_weight_hist(hist: pd.DataFrame, ax=None, title: str | None = None):
    """A weight histogram per ``state`` (e.g. initial, trained) from binned counts.

    ``hist``: columns ``bin_left``, ``bin_right``, ``count``, ``state`` (one weight array);
    drawn as density per state, so arrays of different sizes compare.
    """
    import seaborn as sns
    ax = ax if ax is not None else _plt().subplots(figsize=(4, 2.8))[1]
    data = hist.assign(weight=(hist["bin_left"] + hist["bin_right"]) / 2)
    edges = np.union1d(hist["bin_left"], hist["bin_right"])
    sns.histplot(data=data, x="weight", weights="count", hue="state", binwidth=float(np.diff(edges).min()),
                 binrange=(float(edges[0]), float(edges[-1])), stat="density",
                 common_norm=False, element="step", fill=False, ax=ax)
    used = hist[hist["count"] > 0]
    if len(used):
        pad = 0.5 * float(np.diff(edges).min())
        ax.set_xlim(float(used["bin_left"].min()) - pad, float(used["bin_right"].max()) + pad)
    ax.set_xlabel("weight (dimensionless)")
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def plot_rate_distribution(rates: pd.DataFrame, ax=None, title: str | None = None):
    """Firing rates (Hz) of every neuron, per layer, one box per ``state``.

    ``rates``: columns ``layer``, ``rate_hz``, ``state``.
    """
    import seaborn as sns
    ax = ax if ax is not None else _plt().subplots(figsize=(5, 3))[1]
    sns.boxplot(data=rates, x="layer", y="rate_hz", hue="state", fliersize=1.5, ax=ax)
    ax.set_xlabel("layer")
    ax.set_ylabel("firing rate (Hz)")
    ax.legend(fontsize="small", frameon=False)
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def plot_weight_bands(shares: pd.DataFrame, ax=None, band: tuple[float, float] = (0.03, 0.25),
                      title: str | None = None):
    """Per condition, the shares of weights with |w| below, inside and above ``band``, as stacked bars.

    ``shares``: one row per condition (the index, drawn top to bottom), columns ``share_below``,
    ``share_in_range``, ``share_above`` (fractions that add up to 1).
    """
    ax = ax if ax is not None else _plt().subplots(figsize=(5, 3))[1]
    lo, hi = band
    parts = [("share_below", f"|w| < {lo:g}", "0.75"), ("share_in_range", f"{lo:g} <= |w| <= {hi:g}", "C2"),
             ("share_above", f"|w| > {hi:g}", "C0")]
    y = np.arange(len(shares))[::-1]
    left = np.zeros(len(shares))
    for col, label, color in parts:
        values = 100 * shares[col].to_numpy(dtype=float)
        ax.barh(y, values, left=left, color=color, label=label, height=0.7)
        for yi, x0, v in zip(y, left, values):
            if v >= 8:
                ax.text(x0 + v / 2, yi, f"{v:.0f}", ha="center", va="center", fontsize="x-small")
        left += values
    ax.set_yticks(y, [str(i) for i in shares.index])
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the weights (%)")
    ax.legend(fontsize="small", frameon=False, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    if title:
        ax.set_title(title, fontsize="medium", pad=22)
    return ax
