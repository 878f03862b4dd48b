"""The results table: our test accuracy beside the authors', mean ± s.d. and best over seeds.

Reads saved results only; never simulates. Ours: the committed metrics files
in figures/measured/ (one metrics.csv per run, as a run directory writes it;
or the metrics.csv of a training protocol's results folder, with ``--protocol
NAME=FOLDER``). The authors': their per-epoch training logs
(figures/reference/reference_learning_curves.csv; single runs, best epoch
picked on the test set); for MNIST, where they published no ST-RSBP log, the
log of their earlier HM2-BP (784-800-10, figures/reference/hm2bp_mnist_784-800-10.csv).
For each experiment: the test accuracy after the last epoch ("final") and the
best epoch ("best"), mean ± s.d. over our runs (seeds; held-out speakers), the
best single run, and the authors' test accuracy after the same number of
epochs and at their best epoch. Runs of one experiment are compared after the
number of epochs every one of them reached (a longer run is cut there; its
whole length can be a row of its own).

Writes results_table.md and results_table.csv (tidy: one row per experiment and source).

    python figures/results_table.py --out figures/out
    python figures/results_table.py --protocol fashion-mnist=results/fashion_mnist --out figures/out
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
MEASURED = HERE / "measured"
REFERENCE = HERE / "reference" / "reference_learning_curves.csv"
HM2BP = HERE / "reference" / "hm2bp_mnist_784-800-10.csv"      # the authors' earlier spiking MLP on MNIST

# experiment -> (architecture, our metrics files in figures/measured/ (one per run), what varies
# between them, the authors' run in the reference file or None, a note)
EXPERIMENTS = {
    "fashion-mnist": ("784-400-R400-10",
                      ["fashion_mnist_b16_noreg_metrics.csv", "fashion_mnist_b16_noreg_seed1_metrics.csv",
                       "fashion_mnist_b16_noreg_seed2_metrics.csv"], "seeds 0, 1, 2",
                      "fashion-mnist 784-400-R400-10", "preset fashion-mnist-b16; authors: batch 1"),
    "mnist": ("784-400-R400-10", ["mnist_b16_metrics.csv", "mnist_b16_seed1_metrics.csv",
                                  "mnist_b16_seed2_metrics.csv"], "seeds 0, 1, 2", "hm2bp mnist 784-800-10",
              "fashion-mnist-b16 settings (protocols/mnist.py --settings b16); authors: no ST-RSBP log, their "
              "HM2-BP spiking MLP 784-800-10 instead"),
    "mnist, longest run": ("784-400-R400-10", ["mnist_b16_metrics.csv"], "seed 0", "hm2bp mnist 784-800-10",
                           "the same settings, seed 0 trained further"),
    "fsdd official split": ("78-200-R200-200-10", ["fsdd_official_metrics.csv", "fsdd_official_seed1_metrics.csv",
                             "fsdd_official_seed2_metrics.csv"], "seeds 0, 1, 2",
                            "ti46-digits 78-200-R200-200-10", "preset fsdd, batch 8; authors: TI46-Digits"),
    "fsdd speaker held out": ("78-200-R200-200-10",
                              [f"fsdd_speaker_{s}_metrics.csv" for s in
                               ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")],
                              "6 held-out speakers", None, "trained on 5 speakers, tested on the 6th"),
    "n-tidigits": ("64-400-R400-400-11", [], "", "n-tidigits 64-400-R400-400-11",
                   "not run: needs the N-TIDIGITS data (python protocols/ntidigits.py --train)"),
}


def run_summary(metrics: pd.DataFrame) -> dict:
    """final (last epoch) and best test accuracy (%) and the number of epochs of one run."""
    return {"final": float(metrics["test_accuracy"].iloc[-1]), "best": float(metrics["test_accuracy"].max()),
            "epochs": int(len(metrics))}


def ours(files, folder: Path = MEASURED) -> list[pd.DataFrame]:
    """The metrics of our runs, one frame per committed metrics file."""
    return [pd.read_csv(folder / f) for f in files]


def protocol_runs(folder: Path) -> list[pd.DataFrame]:
    """The runs of a training protocol's results folder (metrics.csv with condition and seed)."""
    m = pd.read_csv(Path(folder) / "metrics.csv")
    return [g.sort_values("epoch") for _, g in m.groupby(["condition", "seed"], sort=False)]


def common_epochs(runs: list[pd.DataFrame]) -> list[dict]:
    """run_summary of each run after the number of epochs all of them reached."""
    n = min((len(r) for r in runs), default=0)
    return [run_summary(r.head(n)) for r in runs]


def authors(run: str, epochs: int | None, reference: Path = REFERENCE) -> dict:
    ref = pd.concat([pd.read_csv(reference), pd.read_csv(HM2BP)], ignore_index=True)
    ref = ref[ref["run"] == run].sort_values("epoch")
    at = ref[ref["epoch"] + 1 == epochs]["test_accuracy"] if epochs else ref["test_accuracy"].tail(1)  # 0-based
    return {"final": float(at.iloc[0]) if len(at) else float("nan"), "best": float(ref["test_accuracy"].max()),
            "epochs": int(epochs) if epochs else int(len(ref)), "epochs_logged": int(len(ref))}


def table(protocols: dict | None = None, folder: Path = MEASURED, reference: Path = REFERENCE) -> pd.DataFrame:
    rows = []
    for name, (arch, files, varies, authors_run, note) in EXPERIMENTS.items():
        runs = common_epochs(protocol_runs(protocols[name]) if protocols and name in protocols else
                             ours(files, folder))
        if protocols and name in protocols:
            varies = f"{len(runs)} runs of {protocols[name]}"
        df = pd.DataFrame(runs)
        epochs = int(df["epochs"].max()) if len(df) else None
        if len(df):
            rows.append({"experiment": name, "architecture": arch, "source": "rsnn_brian", "runs": len(df),
                         "varies": varies, "epochs": epochs, "final_mean": df["final"].mean(),
                         "final_sd": df["final"].std(ddof=1) if len(df) > 1 else float("nan"),
                         "best_mean": df["best"].mean(),
                         "best_sd": df["best"].std(ddof=1) if len(df) > 1 else float("nan"),
                         "best_run": df["best"].max(), "note": note})
        else:
            rows.append({"experiment": name, "architecture": arch, "source": "rsnn_brian", "runs": 0, "note": note})
        if authors_run:
            a = authors(authors_run, epochs, reference)
            rows.append({"experiment": name, "architecture": authors_run.split()[-1],      # their network
                         "source": "authors (log)", "runs": 1,
                         "varies": authors_run, "epochs": a["epochs"], "final_mean": a["final"],
                         "best_mean": a["best"], "best_run": a["best"],
                         "note": f"best of {a['epochs_logged']} logged epochs"})
    return pd.DataFrame(rows)


def _pm(mean, sd) -> str:
    if pd.isna(mean):
        return "—"
    return f"{mean:.2f}" if pd.isna(sd) else f"{mean:.2f} ± {sd:.2f}"


def markdown(t: pd.DataFrame) -> str:
    lines = ["| experiment | network | source | runs | epochs | final test % | best test % | best run % | note |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in t.itertuples():
        runs = int(r.runs)
        epochs = "—" if pd.isna(getattr(r, "epochs", float("nan"))) else int(r.epochs)
        lines.append(f"| {r.experiment} | {r.architecture} | {r.source} | {runs}"
                     f"{f' ({r.varies})' if runs and isinstance(r.varies, str) and r.varies else ''} | {epochs} | "
                     f"{_pm(r.final_mean, r.final_sd)} | {_pm(r.best_mean, r.best_sd)} | "
                     f"{'—' if pd.isna(r.best_run) else f'{r.best_run:.2f}'} | {r.note} |")
    return "\n".join(lines) + "\n\nfinal: after the last epoch; best: the best epoch of each run (picked on the " \
        "test set, as the authors' logs do); mean ± s.d. over runs; authors: their single logged run, at the " \
        "same number of epochs (final) and at their best epoch.\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", action="append", default=[], metavar="EXPERIMENT=FOLDER",
                    help=f"take an experiment's runs from a training protocol's results ({', '.join(EXPERIMENTS)})")
    ap.add_argument("--measured", type=Path, default=MEASURED)
    ap.add_argument("--reference", type=Path, default=REFERENCE)
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    protocols = {}
    for item in args.protocol:
        name, _, folder = item.partition("=")
        if name not in EXPERIMENTS or not folder:
            raise SystemExit(f"--protocol {item!r}: give EXPERIMENT=FOLDER, EXPERIMENT one of {', '.join(EXPERIMENTS)}")
        protocols[name] = Path(folder)
    t = table(protocols, args.measured, args.reference)
    args.out.mkdir(parents=True, exist_ok=True)
    t.to_csv(args.out / "results_table.csv", index=False)
    md = markdown(t)
    (args.out / "results_table.md").write_text(md)
    print(md)
    return t


if __name__ == "__main__":
    main()
