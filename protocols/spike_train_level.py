"""The spike-train level picture of ST-RSBP on a network recorded in Brian2.

Question: do the quantities ST-RSBP is built on hold for the paper's network
as Brian2 simulates it? (Zhang & Li 2019, section 3: the S-PSP e_ij, eq. 5-8;
the identity of section 3.2; the effect ratio de_ij/do_i of section 3.3 and the
authors' quartic tables, supplement.) Four tables:

1. psp_kernel.csv: the PSP kernel h(t) of one input spike (tau_m 64 and 128 ms,
   tau_s 8 ms), the kernel every S-PSP sums;
2. spsp_identity.csv: for every neuron of every layer and sample, the total PSP
   a_i = sum_j w_ij e_ij (+ recurrent) against the sum of the membrane values
   Brian2 recorded at i's spikes (equal to rounding: spec 2.3);
3. the same rows hold the firing count o_i: o_i against a_i / v_th is the
   approximation the gradient relies on (o_i ~ a_i / v_th, since v ~ v_th at a spike);
4. effect_ratio.csv: the mean S-PSP E(n_pre, n_post) and the effect ratio
   dE/dn_post of this package's tables (Brian2's discretisation, Monte Carlo)
   beside the authors' tables (figures/reference/).

The network: 784-400-R400-10 at its initial weights (seed), thresholds
20/20/15, tau_m 64 ms, T = 400, on built-in Fashion-MNIST test images (Bernoulli
rate code), simulated by Brian2 runtime mode (numpy target: nothing to
compile). Runtime: full about 20 s once the effect-ratio tables are cached in
$RSNN_BRIAN_CACHE (generating them takes minutes); --quick about 4 s
(784-40-R20-10, T = 100, 4 samples, small tables).

    python protocols/spike_train_level.py --out results/spike_train_level
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from _protocol import Results, parser

REFERENCE = Path(__file__).resolve().parents[1] / "figures" / "reference"

# -- parameters --------------------------------------------------------------------------------
TAU_S_MS, REFRACTORY_MS, DT_MS = 8.0, 2.0, 1.0       # ms
KERNEL_SETTINGS = {"tau_m 64 ms": 64.0, "tau_m 128 ms": 128.0}
KERNEL_MS = 300                                      # kernel length, ms
FULL = dict(architecture="784-400-R400-10", thresholds=(20.0, 20.0, 15.0), n_steps=400, samples=4,
            tables={"tau_m 64 ms, T 400": (64.0, 400, "effect_ratio_poly_taum64_T400.txt"),
                    "tau_m 128 ms, T 700": (128.0, 700, "effect_ratio_poly_taum128_T700.txt")},
            n_pre_max=None, table_samples=2000, n_pre_shown=(5, 20, 50), target="numpy")
QUICK = dict(architecture="784-40-R20-10", thresholds=(20.0, 20.0, 15.0), n_steps=100, samples=4,
             tables={"tau_m 64 ms, T 400": (64.0, 400, "effect_ratio_poly_taum64_T400.txt")},
             n_pre_max=12, table_samples=50, n_pre_shown=(5, 10), target="numpy")


def psp_kernel_frame() -> pd.DataFrame:
    from rsnn_brian.engine.neuron import psp_kernel
    from rsnn_brian.network import LayerParams
    rows = []
    for name, tau_m in KERNEL_SETTINGS.items():
        p = LayerParams(v_th=1.0, tau_m=tau_m / DT_MS, tau_s=TAU_S_MS / DT_MS, refractory=int(REFRACTORY_MS / DT_MS))
        h = psp_kernel(p, KERNEL_MS)
        rows.append(pd.DataFrame({"setting": name, "time_ms": np.arange(KERNEL_MS) * DT_MS, "psp": h}))
    return pd.concat(rows, ignore_index=True)


def identity_frame(mode: dict, seed: int) -> pd.DataFrame:
    """Every (sample, layer, neuron): count, sum of v at spikes, total PSP a_i, v_th."""
    import rsnn_brian as rb
    from rsnn_brian.engine import layer_spsps
    cfg = rb.TrainConfig(dataset="builtin", architecture=mode["architecture"], thresholds=mode["thresholds"],
                         n_steps=mode["n_steps"], seed=seed)
    arch = rb.parse_architecture(cfg.architecture)
    weights = rb.init_weights(arch, np.random.default_rng(seed))
    images, labels = rb.load_builtin("test", flatten=True)
    inputs = rb.RateEncoder(images, rb.EncoderSettings(n_steps=cfg.n_steps, seed=seed)).encode(range(mode["samples"]))
    act = rb.record_activity(weights, inputs=inputs, config=cfg, neurons={}, target=mode["target"])
    rec, params = act.recording, cfg.layer_params()
    e_ff, e_rec = layer_spsps(rec, weights, params)
    rows = []
    for k in range(1, len(arch.layers)):
        lw = weights.layers[k - 1]
        a = np.einsum("bij,ij->bi", e_ff[k], lw.ff)
        if e_rec[k] is not None:
            a += np.einsum("bij,ij->bi", e_rec[k], lw.rec)
        vsum = np.stack([np.bincount(tr.neuron, weights=tr.v, minlength=tr.n_neurons) for tr in rec.layers[k]])
        B, n = a.shape
        rows.append(pd.DataFrame({"sample": np.repeat(np.arange(B), n), "layer": k, "neuron": np.tile(np.arange(n), B),
                                  "count": rec.counts(k).ravel(), "v_sum_at_spikes": vsum.ravel(),
                                  "total_psp": a.ravel(), "v_th": params[k - 1].v_th}))
    return pd.concat(rows, ignore_index=True)


def effect_ratio_frame(mode: dict, seed: int) -> pd.DataFrame:
    from rsnn_brian.engine import effect_ratio_table, load_reference_table, make_table
    from rsnn_brian.network import LayerParams
    rows = []
    for name, (tau_m, T, ref_file) in mode["tables"].items():
        p = LayerParams(v_th=1.0, tau_m=tau_m / DT_MS, tau_s=TAU_S_MS / DT_MS, refractory=int(REFRACTORY_MS / DT_MS))
        authors = load_reference_table(REFERENCE / ref_file)
        n_max = mode["n_pre_max"] or authors.n_pre_max
        ours = (make_table(p, T, n_max, n_samples=mode["table_samples"], seed=seed) if mode["n_pre_max"]
                else effect_ratio_table(p, T, n_max, n_samples=mode["table_samples"], seed=seed))
        x = np.arange(1, n_max + 1)
        for source, table in (("this package (Brian2 discretisation)", ours), ("authors' table", authors)):
            for n_pre in mode["n_pre_shown"]:
                rows.append(pd.DataFrame({"setting": name, "source": source, "n_pre": n_pre, "n_post": x,
                                          "mean_spsp": table.value(n_pre, x),
                                          "effect_ratio": table.derivative(n_pre, x)}))
    return pd.concat(rows, ignore_index=True)


def main(argv=None):
    args = parser(__doc__, "results/spike_train_level").parse_args(argv)
    mode = QUICK if args.quick else FULL
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in mode.items() if k not in ("tables", "target")}
    params.update(tau_s_ms=TAU_S_MS, refractory_ms=REFRACTORY_MS, dt_ms=DT_MS, tables=list(mode["tables"]),
                  kernel_ms=KERNEL_MS)
    res = Results(args.out, "spike_train_level", params, args.seeds[:1], args.quick, args.overwrite)
    seed = args.seeds[0]
    res.csv("psp_kernel", psp_kernel_frame())
    ident = identity_frame(mode, seed)
    res.csv("spsp_identity", ident)
    res.csv("effect_ratio", effect_ratio_frame(mode, seed))
    fired = ident[ident["count"] > 0]
    rel = (fired.total_psp - fired.v_sum_at_spikes).abs() / fired.v_sum_at_spikes.abs()
    silent = ident[ident["count"] == 0]
    print(f"S-PSP identity: max relative error {rel.max():.2e} over {len(fired)} firing neurons; "
          f"{len(silent)} silent, max |a_i| {silent.total_psp.abs().max() if len(silent) else 0:.2e}")
    slope = float(np.polyfit(fired.total_psp / fired.v_th, fired["count"], 1)[0])
    print(f"firing count against total PSP / v_th: slope {slope:.3f} (1 if v = v_th exactly at every spike)")
    return res.finish(max_identity_error=float(rel.max()), count_vs_psp_slope=slope)


if __name__ == "__main__":
    main()
