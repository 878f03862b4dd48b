"""A network's activity: spike rasters, output spike counts, membrane traces, confusion matrices.

Every function takes a tidy frame (as written by ``ActivityRecording.spikes_frame()``,
``traces_frame()`` or protocols/network_activity.py), ``ax=None``, and returns the axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .curves import _plt

__all__ = ["plot_raster", "plot_output_counts", "plot_traces", "plot_confusion"]


def _axes(ax, figsize):
    if ax is None:
        _, ax = _plt().subplots(figsize=figsize)
    return ax


def plot_raster(spikes: pd.DataFrame, ax=None, n_neurons: int | None = None, title: str | None = None,
                color="k", size: float = 2.0):
    """One layer's spikes: time (ms) against neuron index, one tick per spike.

    ``spikes``: columns ``time_ms`` and ``neuron`` (one sample and layer; filter first).
    ``n_neurons`` sets the y range (the layer's size), so that silent neurons show as empty rows.
    """
    import seaborn as sns
    ax = _axes(ax, (6, 2.5))
    if len(spikes):
        sns.scatterplot(data=spikes, x="time_ms", y="neuron", marker="|", s=size * 10, linewidth=0.6,
                        color=color, ax=ax, legend=False)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    if n_neurons is not None:
        ax.set_ylim(-0.5, n_neurons - 0.5)
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def plot_output_counts(counts: pd.DataFrame, ax=None, label: int | None = None, class_names=None,
                       title: str | None = None):
    """Spike count of every output neuron for one sample; the neuron of the true class highlighted.

    ``counts``: columns ``neuron`` and ``count`` (one sample). The network's answer is the neuron
    with the most spikes (spec section 6).
    """
    import seaborn as sns
    ax = _axes(ax, (4, 2.5))
    data = counts.assign(which=np.where(counts["neuron"] == label, "true class", "other"))
    sns.barplot(data=data, x="neuron", y="count", hue="which", hue_order=["true class", "other"],
                palette={"true class": "C2", "other": "0.6"}, dodge=False, ax=ax)
    if class_names is not None:
        ax.set_xticks(range(len(class_names)))
        ax.set_xticklabels(class_names, rotation=60, ha="right", fontsize="x-small")
    ax.set_xlabel("output neuron (class)")
    ax.set_ylabel("spikes")
    ax.set_ylim(0, max(1, float(counts["count"].max()) * 1.1 if len(counts) else 1))
    ax.legend(fontsize="x-small", frameon=False)
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def plot_traces(traces: pd.DataFrame, ax=None, v_th: float | None = None, title: str | None = None,
                y: str = "value", ylabel: str = "v (dimensionless)", palette="tab10"):
    """Membrane (or current) traces against time, one line per neuron; ``v_th`` dashed.

    ``traces``: columns ``time_ms``, ``neuron`` and ``y`` (one sample, layer and variable);
    ``palette``: a seaborn palette name, or {neuron: colour}.
    """
    import seaborn as sns
    ax = _axes(ax, (6, 2.5))
    sns.lineplot(data=traces, x="time_ms", y=y, hue="neuron", palette=palette, lw=0.8, ax=ax,
                 legend="full" if traces["neuron"].nunique() <= 10 else False)
    if v_th is not None:
        ax.axhline(v_th, color="k", ls="--", lw=0.8, label=f"threshold {v_th:g}")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(ylabel)
    if ax.get_legend() is not None or v_th is not None:
        ax.legend(fontsize="x-small", frameon=False, title="neuron", title_fontsize="x-small",
                  loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def confusion_percent(conf: pd.DataFrame) -> pd.DataFrame:
    """(true, predicted) -> % of the true class's samples, as a square table (rows: true class)."""
    table = conf.pivot_table(index="true", columns="predicted", values="count", aggfunc="sum", fill_value=0)
    return table.div(table.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0) * 100


def plot_confusion(conf: pd.DataFrame, ax=None, class_names=None, title: str | None = None):
    """Confusion matrix in % of each true class (rows), from a tidy (true, predicted, count) frame."""
    import seaborn as sns
    ax = _axes(ax, (5, 4.2))
    table = confusion_percent(conf)
    names = class_names if class_names is not None else [str(c) for c in table.index]
    sns.heatmap(table, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, cbar_kws={"label": "% of true class"},
                xticklabels=names, yticklabels=names, annot_kws={"fontsize": 6}, ax=ax)
    ax.set_xlabel("predicted class (most output spikes)")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title, fontsize="medium")
    return ax
