"""Learning curves: a run's, several seeds' against the authors' per-epoch figures."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["plot_learning_curve", "authors_curve", "epochs_trained", "AUTHORS_RUNS", "plot_seed_curves", "source_label",
           "plot_conditions", "save_figure"]

# (dataset, architecture) of this package -> the authors' run it is compared with
# (rsnn_brian/data/reference/authors_learning_curves.csv: per-epoch figures from the
# training logs in the authors' public code, stonezwr/ST-RSBP, Result/*.txt).
AUTHORS_RUNS = {
    ("fashion-mnist", "784-400-R400-10"): ("fashion-mnist 784-400-R400-10", "authors, Fashion-MNIST"),
    ("fsdd", "78-200-R200-200-10"): ("ti46-digits 78-200-R200-200-10", "authors, TI46-Digits"),
}


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, out, name: str, formats=("png", "pdf"), dpi: int = 130) -> Path:
    """Write ``fig`` as ``out/name.png`` and ``.pdf`` (creating ``out``), close it; returns the PNG's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for ext in formats:
        fig.savefig(out / f"{name}.{ext}", dpi=dpi)
    _plt().close(fig)
    return out / f"{name}.{formats[0]}"


def source_label(path) -> str:
    """A results file's path for a tidy frame's ``source`` column: relative to the current directory when
    inside it (so that committed tables hold no machine's absolute paths), else as given."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def authors_curve(dataset: str, architecture: str) -> tuple[pd.DataFrame, str] | None:
    """The authors' per-epoch figures for a comparable run, and a label; None if there is none.

    Columns: epoch (0-based, as in their logs; add 1 for epochs trained),
    train_accuracy, test_accuracy (%).
    """
    key = AUTHORS_RUNS.get((dataset, str(architecture)))
    if key is None:
        return None
    path = resources.files("rsnn_brian.data") / "reference" / "authors_learning_curves.csv"
    ref = pd.read_csv(path)
    ref = ref[ref["run"] == key[0]]
    return ref[["epoch", "train_accuracy", "test_accuracy"]].reset_index(drop=True), key[1]


def epochs_trained(metrics: pd.DataFrame) -> pd.Series:
    """Epochs trained at each row of a run's ``metrics.csv`` (1 after the first epoch).

    ``metrics.csv`` counts epochs from 1 in its ``epoch`` column; files written
    before that counted from 0 (their first row says 0) and are shifted by one.
    """
    epoch = metrics["epoch"].astype(int)
    return epoch + 1 if len(epoch) and epoch.min() == 0 else epoch


def plot_learning_curve(metrics: pd.DataFrame, path: str | Path | None = None, ax=None,
                        reference: pd.DataFrame | None = None, reference_label: str = "authors"):
    """Train and test accuracy (%) against the number of epochs trained.

    ``metrics`` has one row per epoch, as ``metrics.csv`` (``epoch`` from 1;
    older files from 0, see :func:`epochs_trained`); the x axis counts epochs
    trained, in whole epochs. ``reference`` (columns epoch, test_accuracy,
    optionally train_accuracy; 0-based epochs as in the authors' logs) is
    drawn dashed, cut to the epochs the run has.
    """
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator
    plt = _plt()
    trained = epochs_trained(metrics)
    long = metrics.assign(**{"epochs trained": trained}).melt(
        id_vars="epochs trained", value_vars=["train_accuracy", "test_accuracy"],
        var_name="split", value_name="accuracy (%)")
    long["split"] = long["split"].str.replace("_accuracy", "")
    n_epochs = int(trained.max())
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
    palette = {"train": "C0", "test": "C1"}
    sns.lineplot(data=long, x="epochs trained", y="accuracy (%)", hue="split", palette=palette,
                 marker="o", ax=ax)
    if reference is not None and len(reference):
        ref = reference[reference["epoch"] + 1 <= n_epochs]
        for split in ("train", "test"):
            col = f"{split}_accuracy"
            if col in ref and len(ref):
                ax.plot(ref["epoch"] + 1, ref[col], ls="--", marker="x", lw=1, color=palette[split],
                        label=f"{reference_label} ({split})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0.7, max(1, n_epochs) + 0.3)
    ax.legend(fontsize="small")
    ax.set_title("ST-RSBP learning curve")
    if own and path is not None:
        ax.figure.tight_layout()
        ax.figure.savefig(path, dpi=120)
        plt.close(ax.figure)
    return ax


def plot_seed_curves(data: pd.DataFrame, ax=None, y: str = "test accuracy (%)"):
    """Test accuracy against epochs trained, one line per ``source`` with its mean and s.d. band.

    ``data``: tidy, columns ``epochs trained``, ``y``, ``source`` and ``seed`` (several rows of one
    source and epoch are several seeds: the band is their s.d.); a source whose name starts with
    "authors" is drawn dashed.
    """
    import seaborn as sns
    from matplotlib.ticker import MaxNLocator
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    sources = list(dict.fromkeys(data["source"]))
    dashes = {s: (4, 2) if s.startswith("authors") else "" for s in sources}
    sns.lineplot(data=data, x="epochs trained", y=y, hue="source", style="source", dashes=dashes,
                 markers=True, errorbar="sd", ax=ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_conditions(data: pd.DataFrame, ax=None, x: str = "network", y: str = "test accuracy (%)",
                    order=None):
    """One column per condition: every seed as a dot, the mean with its s.d. as a bar beside it.

    ``data``: tidy, one row per (condition, seed), columns ``x`` and ``y``; ``order`` the conditions
    from left to right (default: as they first appear).
    """
    import seaborn as sns
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.8))
    order = list(order) if order is not None else list(dict.fromkeys(data[x]))
    sns.stripplot(data=data, x=x, y=y, order=order, color="0.35", size=6, jitter=0.08, ax=ax,
                  label="one seed")
    sns.pointplot(data=data, x=x, y=y, order=order, errorbar="sd", color="C3", markers="D",
                  markersize=5, linestyle="none", capsize=0.08, err_kws={"linewidth": 1.2}, ax=ax, label="mean ± s.d.")
    handles, labels = ax.get_legend_handles_labels()
    keep = dict(zip(labels, handles))            # one legend entry per label
    ax.legend(keep.values(), keep.keys(), fontsize="small", frameon=False)
    return ax
