"""FSDD speaker-held-out accuracy: one bar per held-out speaker (final and best epoch).

Reads saved results only; never simulates. Inputs: run directories of
``rsnn-brian train --preset fsdd --held-out-speaker NAME`` (each with
config.toml and metrics.csv), optionally the official-split run for a
reference line.

    python figures/speaker_held_out.py runs/fsdd-speaker-* --official runs/fsdd --out figures/measured
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402


def tidy(run_dirs) -> pd.DataFrame:
    """One row per (speaker, which): which is 'final' or 'best' test accuracy."""
    rows = []
    for d in map(Path, run_dirs):
        cfg = tomllib.loads((d / "config.toml").read_text())
        if cfg.get("split_kind") != "speaker":
            raise SystemExit(f"{d}: not a speaker-held-out run (split_kind = {cfg.get('split_kind')!r})")
        m = pd.read_csv(d / "metrics.csv")
        spk = cfg.get("held_out_speaker") or "theo"
        rows.append(dict(speaker=spk, which="final", accuracy=m["test_accuracy"].iloc[-1], epochs=len(m)))
        rows.append(dict(speaker=spk, which="best", accuracy=m["test_accuracy"].max(), epochs=len(m)))
    return pd.DataFrame(rows).sort_values(["speaker", "which"], ignore_index=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="speaker-held-out run directories")
    ap.add_argument("--official", type=Path, help="official-split run directory (reference line)")
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    data = tidy(args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    sns.set_theme(style="ticks", context="paper")
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sns.barplot(data=data, x="speaker", y="accuracy", hue="which", hue_order=["final", "best"], ax=ax)
    mean_final = data[data.which == "final"].accuracy.mean()
    ax.axhline(mean_final, color="C0", ls=":", lw=1, label=f"mean final {mean_final:.1f} %")
    if args.official is not None:
        off = pd.read_csv(args.official / "metrics.csv")["test_accuracy"].iloc[-1]
        ax.axhline(off, color="k", ls="--", lw=1, label=f"official split, final {off:.1f} %")
    ax.axhline(10, color="0.6", lw=0.8, label="chance")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xlabel("held-out speaker (trained on the other five)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    sns.despine(fig)
    fig.tight_layout()
    fig.savefig(args.out / "fsdd_speaker_held_out.png", dpi=130)
    data.to_csv(args.out / "fsdd_speaker_held_out.csv", index=False)
    print(data.pivot(index="speaker", columns="which", values="accuracy").round(2).to_string())
    print(f"mean final {mean_final:.2f} %, mean best {data[data.which == 'best'].accuracy.mean():.2f} %")
    print(f"wrote {args.out / 'fsdd_speaker_held_out.png'}")


if __name__ == "__main__":
    main()
