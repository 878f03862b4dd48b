"""Does the recurrent layer help? Test accuracy of 784-400-R400-10, 784-400-400-10 and 784-400-10 over seeds.

Reads saved results only; never simulates. Inputs: the results folder of
``protocols/recurrence.py`` (its metrics.csv: one row per network, seed and
epoch), and, for a network that folder does not hold, run metrics files
(``--runs NETWORK=FILE ...``; by default the three committed Fashion-MNIST
``fashion-mnist-b16`` runs of seeds 0, 1, 2 stand for the recurrent network,
the same preset and seeds as the protocol's). All runs are compared after the
same number of epochs (``--epoch``; default: the most that every run has).

Writes recurrence.png/.pdf, recurrence.csv (tidy: network, seed, epochs, test
accuracy, source file) and recurrence_differences.csv (the recurrent network
minus each other one, paired by seed: per-seed differences, their mean and s.d.).

    python figures/recurrence.py --out figures/out
    python figures/recurrence.py --protocol results/recurrence --runs none --out figures/out
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from rsnn_brian.plotting import source_label

HERE = Path(__file__).resolve().parent
MEASURED = HERE / "measured"
PROTOCOL = MEASURED / "recurrence_full"
RECURRENT = "recurrent 784-400-R400-10"
ORDER = [RECURRENT, "feed-forward 784-400-400-10", "shallow 784-400-10"]
#: the committed runs of the recurrent network (preset fashion-mnist-b16, seeds 0, 1, 2)
DEFAULT_RUNS = {RECURRENT: ["fashion_mnist_b16_noreg_metrics.csv", "fashion_mnist_b16_noreg_seed1_metrics.csv",
                            "fashion_mnist_b16_noreg_seed2_metrics.csv"]}


def _epochs(metrics: pd.DataFrame) -> pd.Series:
    from rsnn_brian.plotting import epochs_trained
    return epochs_trained(metrics)


def tidy(protocol: Path | None, runs: dict[str, list[Path]]) -> pd.DataFrame:
    """Every (network, seed, epochs trained) with its test accuracy, from both kinds of input."""
    frames = []
    if protocol is not None:
        m = pd.read_csv(Path(protocol) / "metrics.csv")
        for (network, seed), g in m.groupby(["condition", "seed"], sort=False):
            frames.append(pd.DataFrame({"network": network, "seed": int(seed), "epochs": _epochs(g).to_numpy(),
                                        "test_accuracy": g["test_accuracy"].to_numpy(),
                                        "source": source_label(Path(protocol) / "metrics.csv")}))
    have = {f["network"].iloc[0] for f in frames}
    for network, files in runs.items():
        if network in have:
            raise SystemExit(f"--runs {network}: the protocol folder holds this network already")
        for seed, f in enumerate(files):
            g = pd.read_csv(f)
            frames.append(pd.DataFrame({"network": network, "seed": seed, "epochs": _epochs(g).to_numpy(),
                                        "test_accuracy": g["test_accuracy"].to_numpy(), "source": source_label(f)}))
    if not frames:
        raise SystemExit("recurrence.py: no runs given")
    return pd.concat(frames, ignore_index=True)


def at_epoch(data: pd.DataFrame, epoch: int | None = None) -> pd.DataFrame:
    """One row per (network, seed): the test accuracy after ``epoch`` epochs (default: the most all have)."""
    most = int(data.groupby(["network", "seed"])["epochs"].max().min())
    epoch = most if epoch is None else int(epoch)
    if epoch > most:
        raise SystemExit(f"--epoch {epoch}: some runs have only {most} epochs")
    return data[data["epochs"] == epoch].reset_index(drop=True)


def differences(final: pd.DataFrame, against: str = RECURRENT) -> pd.DataFrame:
    """``against`` minus each other network, paired by seed (only seeds both have)."""
    wide = final.pivot(index="seed", columns="network", values="test_accuracy")
    rows = []
    for other in [n for n in wide.columns if n != against]:
        d = (wide[against] - wide[other]).dropna()
        rows.append({"comparison": f"{against} minus {other}", "seeds": len(d),
                     "per_seed": " ".join(f"{v:+.2f}" for v in d), "mean": d.mean(),
                     "sd": d.std(ddof=1) if len(d) > 1 else float("nan")})
    return pd.DataFrame(rows)


def draw(final: pd.DataFrame, path: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    from rsnn_brian.plotting import plot_conditions
    sns.set_theme(style="ticks", context="paper")
    order = [n for n in ORDER if n in set(final["network"])] + sorted(set(final["network"]) - set(ORDER))
    data = final.assign(network=final["network"].str.replace(" ", "\n", n=1)).rename(
        columns={"test_accuracy": "test accuracy (%)"})
    fig, ax = plt.subplots(figsize=(6, 3.8))
    plot_conditions(data, ax=ax, order=[n.replace(" ", "\n", 1) for n in order])
    epoch = int(final["epochs"].iloc[0])
    n = final.groupby("network")["seed"].nunique()
    seeds = f"{n.min()}" if n.min() == n.max() else f"{n.min()}-{n.max()}"
    ax.set_title(f"Fashion-MNIST, {epoch} epoch{'s' if epoch > 1 else ''}, "
                 f"{seeds} seeds per network (preset fashion-mnist-b16)")
    ax.set_xlabel("")
    sns.despine(fig)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(path.with_suffix(f".{ext}"), dpi=130)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", type=Path, default=PROTOCOL,
                    help="recurrence.py results folder (default %(default)s)")
    ap.add_argument("--runs", nargs="+", metavar="NETWORK=FILE[,FILE...]",
                    help="metrics files (one per seed, seeds 0, 1, ...) of a network the folder lacks; "
                         "'none' for no extra runs (default: the committed recurrent runs)")
    ap.add_argument("--epoch", type=int, help="compare after this many epochs (default: the most all runs have)")
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    if args.runs is None:
        runs = {k: [MEASURED / f for f in v] for k, v in DEFAULT_RUNS.items()}
    elif args.runs == ["none"]:
        runs = {}
    else:
        runs = {}
        for item in args.runs:
            name, _, files = item.partition("=")
            if not files:
                raise SystemExit(f"--runs {item!r}: give NETWORK=FILE[,FILE...]")
            runs[name] = [Path(f) for f in files.split(",")]
    data = tidy(args.protocol, runs)
    final = at_epoch(data, args.epoch)
    diff = differences(final)
    args.out.mkdir(parents=True, exist_ok=True)
    final.to_csv(args.out / "recurrence.csv", index=False)
    diff.to_csv(args.out / "recurrence_differences.csv", index=False)
    draw(final, args.out / "recurrence.png")
    summary = final.groupby("network", sort=False)["test_accuracy"].agg(["mean", "std", "count"])
    print(summary.round(2).to_string())
    print(diff.round(2).to_string(index=False))
    return final, diff


if __name__ == "__main__":
    main()
