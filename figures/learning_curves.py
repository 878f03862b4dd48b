"""Learning curves of rsnn_brian runs beside the authors' (ST-RSBP, Fashion-MNIST and speech).

Reads saved results only; never simulates. Inputs: one or more run
directories (each with metrics.csv) and the authors' per-epoch figures
(shipped with the package as rsnn_brian/data/reference/authors_learning_curves.csv,
or --reference).

    python figures/learning_curves.py runs/fmnist --out figures/out
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from rsnn_brian.plotting import epochs_trained, save_figure  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[1] / "rsnn_brian" / "data" / "reference" / "authors_learning_curves.csv"


def tidy(run_dirs, reference: Path | None, reference_run: str | None) -> pd.DataFrame:
    rows = []
    for d in run_dirs:
        m = pd.read_csv(Path(d) / "metrics.csv")
        rows.append(pd.DataFrame({"epochs trained": epochs_trained(m), "test accuracy (%)": m["test_accuracy"],
                                  "source": f"rsnn_brian: {Path(d).name}"}))
    if reference is not None and reference.is_file():
        ref = pd.read_csv(reference)
        if reference_run:
            ref = ref[ref["run"].str.startswith(reference_run)]
        max_epoch = max(int(r["epochs trained"].max()) for r in rows) if rows else None
        if max_epoch is not None:
            ref = ref[ref["epoch"] + 1 <= max_epoch + 2]
        # the authors' logs count epochs from 0
        rows.append(pd.DataFrame({"epochs trained": ref["epoch"] + 1, "test accuracy (%)": ref["test_accuracy"],
                                  "source": "authors: " + ref["run"]}))
    return pd.concat(rows, ignore_index=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run directories holding metrics.csv")
    ap.add_argument("--reference", type=Path, default=REFERENCE)
    ap.add_argument("--reference-run", default="fashion-mnist", help="prefix of the authors' run name")
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    data = tidy(args.runs, args.reference, args.reference_run)
    args.out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    sns.lineplot(data=data, x="epochs trained", y="test accuracy (%)", hue="source", marker="o", ax=ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Test accuracy per epoch")
    fig.tight_layout()
    save_figure(fig, args.out, "learning_curves")
    data.to_csv(args.out / "learning_curves.csv", index=False)
    print(f"wrote {args.out / 'learning_curves.png'}")


if __name__ == "__main__":
    main()
