"""A trained network's activity on a test sample, before and after training, and its confusion matrix.

Reads saved results only; never simulates. Input: the results folder of
``protocols/network_activity.py`` (activity_initial.npz, activity_trained.npz,
confusion.csv, run.json); the committed one is figures/measured/activity_demo
(the demo preset's run).

network_activity.png / .pdf: two columns (initial weights, trained), rows: the
spike raster of every layer (input, hidden, reservoir, output), the membrane
potential of the traced neurons (Brian2 StateMonitor) with their threshold,
and the output spike counts (the answer: most spikes). confusion.png / .pdf: the
trained network on the whole test split, % of each true class.

    python figures/network_activity.py figures/measured/activity_demo --sample 0 --out figures/out
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from rsnn_brian.brian.record import ActivityRecording  # noqa: E402
from rsnn_brian.plotting import plot_confusion, plot_output_counts, plot_raster, plot_traces, save_figure  # noqa: E402

STATES = ("initial", "trained")
LAYER_NAMES = {"R": "reservoir", "": "hidden"}


def layer_titles(architecture: str) -> list[str]:
    parts = architecture.split("-")
    names = [f"input ({parts[0]})"]
    for p in parts[1:-1]:
        names.append(f"{LAYER_NAMES['R' if p.startswith('R') else '']} ({p.lstrip('R')})")
    return names + [f"output ({parts[-1]})"]


def load(folder: Path):
    acts = {s: ActivityRecording.load(folder / f"activity_{s}.npz") for s in STATES}
    run = json.loads((folder / "run.json").read_text())
    return acts, run


def sample_spikes(act: ActivityRecording, sample: int) -> pd.DataFrame:
    """Tidy spikes of one sample (layer, neuron, step, time_ms)."""
    df = act.spikes_frame()
    return df[df["sample"] == sample].reset_index(drop=True)


def draw_activity(acts, run, sample: int):
    arch = run["architecture"]
    titles = layer_titles(arch)
    n_layers = len(titles)
    sizes = [int(p.lstrip("R")) for p in arch.split("-")]
    names = run.get("class_names")
    fig, axes = plt.subplots(n_layers + 3, 2, figsize=(11, 2.0 * (n_layers + 3)), sharex="row",
                             gridspec_kw={"height_ratios": [1.4] + [1] * (n_layers - 1) + [1.2, 1.2, 1.1]})
    drawn = {}
    for col, state in enumerate(STATES):
        act = acts[state]
        spikes = sample_spikes(act, sample)
        label = act.meta["labels"][sample]
        out_k = n_layers - 1
        for k in range(n_layers):
            sk = spikes[spikes["layer"] == k]
            ax = plot_raster(sk, ax=axes[k, col], n_neurons=sizes[k], size=1.0 if k == 0 else 2.0,
                             title=f"{state}: {titles[k]}, {len(sk)} spikes")
            drawn[(state, k)] = sum(len(c.get_offsets()) for c in ax.collections)     # the ticks on the axes
            axes[k, col].set_xlim(0, act.n_steps * act.dt_ms)
        tr = act.traces_frame()
        tr = tr[(tr["sample"] == sample) & (tr["variable"] == "v")]
        counts = act.recording.counts(out_k)[sample]
        thresholds = act.meta.get("thresholds") or [None] * n_layers
        hid = tr[tr["layer"] == 1]
        plot_traces(hid, ax=axes[n_layers, col], v_th=thresholds[0],
                    title=f"{state}: {titles[1]} neurons {', '.join(map(str, sorted(hid.neuron.unique())))}, v")
        # the true class's output neuron and its strongest rival
        rival = max((n for n in range(len(counts)) if n != label), key=lambda n: counts[n])
        v = tr[(tr["layer"] == out_k) & tr["neuron"].isin([label, rival])]
        plot_traces(v, ax=axes[n_layers + 1, col], v_th=thresholds[-1], palette={label: "C2", rival: "0.45"},
                    title=f"{state}: output neurons {label} (true class) and {rival} (strongest other), v")
        counts = act.recording.counts(out_k)[sample]
        frame = pd.DataFrame({"neuron": range(len(counts)), "count": counts})
        pred = int(counts.argmax()) if counts.max() > 0 else None
        answer = names[pred] if (names and pred is not None) else ("no output spike" if pred is None else pred)
        ax = plot_output_counts(frame, ax=axes[n_layers + 2, col], label=label, class_names=names,
                                title=f"{state}: output spike counts (true: {names[label] if names else label}; "
                                      f"answer: {answer})")
        bars = sorted((p.get_x() + p.get_width() / 2, p.get_height()) for p in ax.patches if p.get_width() > 0)
        drawn[(state, "output counts")] = [round(h) for _, h in bars if not np.isnan(h)]
    for ax in axes[:n_layers + 2].ravel():
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    sns.despine(fig)
    fig.suptitle(f"{arch} on {run['dataset']} test sample {acts['trained'].meta['sample_index'][sample]}: "
                 f"initial weights and after {run['epochs']} epochs ({run['test_accuracy']:.1f} % test accuracy)",
                 fontsize="medium")
    fig.tight_layout()
    return fig, drawn


def draw_confusion(folder: Path, run):
    conf = pd.read_csv(folder / "confusion.csv")
    fig, ax = plt.subplots(figsize=(6.5, 5.4))
    plot_confusion(conf, ax=ax, class_names=run.get("class_names"),
                   title=f"{run['architecture']}, {run['n_test']} test samples: {run['test_accuracy']:.1f} % correct")
    fig.tight_layout()
    return fig, conf


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, nargs="?", default=Path(__file__).parent / "measured" / "activity_demo")
    ap.add_argument("--sample", type=int, default=0, help="which recorded sample (0-based)")
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    acts, run = load(args.folder)
    n = acts["trained"].n_samples
    if not 0 <= args.sample < n:
        raise SystemExit(f"--sample: the folder holds {n} recorded samples (0..{n - 1})")
    args.out.mkdir(parents=True, exist_ok=True)
    sns.set_theme(style="ticks", context="paper")
    fig, drawn = draw_activity(acts, run, args.sample)
    save_figure(fig, args.out, "network_activity")
    fig, conf = draw_confusion(args.folder, run)
    save_figure(fig, args.out, "confusion")
    table = pd.DataFrame([{"state": s, "layer": k, "spikes": c} for (s, k), c in drawn.items() if k != "output counts"])
    table.to_csv(args.out / "network_activity_spikes.csv", index=False)
    print(f"wrote {args.out / 'network_activity.png'} and {args.out / 'confusion.png'}")
    return drawn, conf


if __name__ == "__main__":
    main()
