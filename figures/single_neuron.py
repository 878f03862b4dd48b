"""The single neuron at the paper's settings: v and I traces, f-I and rate-in-rate-out curves.

Reads saved results only; never simulates. Input: the results folder of
``protocols/single_neuron.py`` (traces.csv, spikes.csv, fi_curve.csv,
rate_curve.csv); the committed one is figures/measured/single_neuron (full mode).

single_neuron.png / .pdf: top, the membrane potential of one neuron driven by
20 Poisson inputs at 30 Hz for each setting (tau_m 64 ms with v_th 20 and 15,
tau_m 128 ms with v_th 5), threshold dashed, spikes as ticks; bottom, its
synaptic current I, the f-I curve (clamped current: Brian2 points, closed form
line) and the output rate against the input rate.

    python figures/single_neuron.py figures/measured/single_neuron --out figures/out
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

from rsnn_brian.plotting import save_figure  # noqa: E402


def load(folder: Path) -> dict:
    return {n: pd.read_csv(folder / f"{n}.csv") for n in ("traces", "spikes", "fi_curve", "rate_curve")}


def threshold_of(setting: str) -> float:
    """'tau_m 64 ms, v_th 20' -> 20.0"""
    return float(setting.rsplit("v_th", 1)[1])


def draw(data: dict, params: dict):
    settings = list(dict.fromkeys(data["traces"]["setting"]))
    palette = dict(zip(settings, sns.color_palette("deep", len(settings))))
    fig, axes = plt.subplots(2, len(settings), figsize=(4.2 * len(settings), 6.4))
    tr, sp = data["traces"], data["spikes"]
    for ax, s in zip(axes[0], settings):
        v = tr[(tr.setting == s) & (tr.variable == "v")]
        sns.lineplot(data=v, x="time_ms", y="value", color=palette[s], lw=0.9, ax=ax)
        th = threshold_of(s)
        ax.axhline(th, color="k", ls="--", lw=0.8, label=f"threshold {th:g}")
        t = sp[sp.setting == s]["time_ms"]
        ax.plot(t, [th * 1.12] * len(t), "|", color="k", ms=6, label=f"{len(t)} spikes")
        ax.set(title=s, xlabel="time (ms)", ylabel="v (dimensionless)")
        ax.legend(fontsize="x-small", frameon=False, loc="lower right")
    current = tr[tr.variable == "I"]
    sns.lineplot(data=current, x="time_ms", y="value", hue="setting", palette=palette, lw=0.7, ax=axes[1, 0],
                 legend=False)
    axes[1, 0].set(title=f"synaptic current, {params['n_in']} inputs at {params['trace_rate_hz']:g} Hz",
                   xlabel="time (ms)", ylabel="I (dimensionless)")
    fi = data["fi_curve"]
    sns.lineplot(data=fi[fi.source == "closed form"], x="current", y="rate_hz", hue="setting", palette=palette,
                 lw=1, ax=axes[1, 1], legend=False)
    sns.scatterplot(data=fi[fi.source == "Brian2"], x="current", y="rate_hz", hue="setting", palette=palette,
                    s=14, ax=axes[1, 1])
    axes[1, 1].set(title="f-I: Brian2 (points), closed form (lines)", xlabel="clamped current I (dimensionless)",
                   ylabel="output rate (Hz)")
    axes[1, 1].legend(fontsize="x-small", frameon=False)
    sns.lineplot(data=data["rate_curve"], x="input_rate_hz", y="output_rate_hz", hue="setting", palette=palette,
                 marker="o", ms=3, ax=axes[1, 2], legend=False)
    axes[1, 2].set(title=f"rate in, rate out ({params['n_in']} inputs, w = {params['w_in']:g})",
                   xlabel="rate of each input (Hz)", ylabel="output rate (Hz)")
    sns.despine(fig)
    fig.suptitle("The ST-RSBP neuron in Brian2 (tau_s 8 ms, refractory 2 ms, dt 1 ms)", fontsize="medium")
    fig.tight_layout()
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, nargs="?", default=Path(__file__).parent / "measured" / "single_neuron")
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    data = load(args.folder)
    params = tomllib.loads((args.folder / "config.toml").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    sns.set_theme(style="ticks", context="paper")
    fig = draw(data, params)
    save_figure(fig, args.out, "single_neuron", dpi=120)
    print(f"wrote {args.out / 'single_neuron.png'}")
    return data


if __name__ == "__main__":
    main()
