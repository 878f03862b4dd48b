"""The spike-train level picture: PSP kernel, S-PSP identity, count against total PSP, effect ratios.

Reads saved results only; never simulates. Input: the results folder of
``protocols/spike_train_level.py`` (psp_kernel.csv, spsp_identity.csv,
effect_ratio.csv); the committed one is figures/measured/spike_train_level
(784-400-R400-10 at its initial weights, 4 built-in test images, Brian2).

spike_train_level.png / .pdf: (a) the PSP kernel of one input spike; (b) for
every neuron that fired, the total PSP sum_j w_ij e_ij against the sum of its
membrane values at its spikes (the identity: on the diagonal); (c) its firing
count against total PSP / v_th (the approximation o ~ a / v_th the gradient
uses); (d, e) the effect ratio dE/dn_post of this package's tables and the
authors', for tau_m 64 ms, T = 400 and tau_m 128 ms, T = 700.

    python figures/spike_train_level.py figures/measured/spike_train_level --out figures/out
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from rsnn_brian.plotting import save_figure  # noqa: E402

LAYERS = {1: "hidden", 2: "reservoir", 3: "output"}


def load(folder: Path) -> dict:
    return {n: pd.read_csv(folder / f"{n}.csv") for n in ("psp_kernel", "spsp_identity", "effect_ratio")}


def draw(data: dict):
    settings = list(dict.fromkeys(data["effect_ratio"]["setting"]))
    fig, axes = plt.subplots(1, 3 + len(settings), figsize=(4.25 * (3 + len(settings)), 3.9))
    sns.lineplot(data=data["psp_kernel"], x="time_ms", y="psp", hue="setting", ax=axes[0])
    axes[0].set(title="(a) PSP kernel of one input spike", xlabel="time after the spike (ms)",
                ylabel="PSP (dimensionless, weight 1)")
    ident = data["spsp_identity"]
    fired = ident[ident["count"] > 0].assign(layer=lambda d: d["layer"].map(LAYERS))
    rel = ((fired.total_psp - fired.v_sum_at_spikes).abs() / fired.v_sum_at_spikes.abs()).max()
    sns.scatterplot(data=fired, x="v_sum_at_spikes", y="total_psp", hue="layer", s=8, linewidth=0, ax=axes[1])
    lim = [0, float(max(fired.v_sum_at_spikes.max(), fired.total_psp.max())) * 1.05]
    axes[1].plot(lim, lim, "k--", lw=0.7, label="equal")
    axes[1].set(title=f"(b) S-PSP identity, {len(fired)} neurons (max rel. error {rel:.1e})",
                xlabel="sum of v at the neuron's spikes (Brian2)", ylabel="sum_j w_ij e_ij (engine)")
    axes[1].legend(fontsize="x-small", frameon=False)
    psp = fired.assign(**{"total PSP / v_th": fired.total_psp / fired.v_th})
    sns.scatterplot(data=psp, x="total PSP / v_th", y="count", hue="layer", s=8, linewidth=0, ax=axes[2],
                    legend=False)
    hi = float(psp["total PSP / v_th"].max())
    axes[2].plot([0, hi], [0, hi], "k--", lw=0.7)
    slope = float(np.polyfit(psp["total PSP / v_th"], psp["count"], 1)[0])
    axes[2].set(title=f"(c) firing count against total PSP (slope {slope:.2f})", xlabel="total PSP / v_th",
                ylabel="spikes in the sample")
    for ax, setting, letter in zip(axes[3:], settings, "defg"):
        er = data["effect_ratio"]
        er = er[er.setting == setting]
        sns.lineplot(data=er, x="n_post", y="effect_ratio", hue="n_pre", style="source", palette="viridis", ax=ax)
        ax.set(title=f"({letter}) effect ratio dE/dn_post, {setting}", xlabel="postsynaptic spikes n_post",
               ylabel="dE / dn_post")
        ax.legend(fontsize="x-small", frameon=False)
    sns.despine(fig)
    fig.tight_layout()
    return fig, slope, rel


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, nargs="?", default=Path(__file__).parent / "measured" / "spike_train_level")
    ap.add_argument("--out", type=Path, default=Path("figures/out"))
    args = ap.parse_args(argv)
    data = load(args.folder)
    args.out.mkdir(parents=True, exist_ok=True)
    sns.set_theme(style="ticks", context="paper")
    fig, slope, rel = draw(data)
    save_figure(fig, args.out, "spike_train_level", dpi=120)
    print(f"identity max relative error {rel:.2e}; count against PSP / v_th slope {slope:.3f}")
    print(f"wrote {args.out / 'spike_train_level.png'}")
    return data, slope, rel


if __name__ == "__main__":
    main()
