"""Does the synaptic current's shape matter? Exponential, alpha and dual-exponential currents, same budget.

Question: ST-RSBP derives its S-PSPs, effect ratios and gradients from the
neuron's equations (docs/algorithm.md section 7), so any linear current-based
synapse trains. With the same charge per spike (every kernel integrates to
the same drive), the same architecture, thresholds, seeds and budget, does the
shape of the current -- first-order exponential (tau_s 8 ms, the paper's),
alpha (peak at tau_s) or dual-exponential (rise 2 ms, decay 8 ms) -- change the
test accuracy on Fashion-MNIST (784-400-R400-10, the ``fashion-mnist-b16``
settings) and on spoken digits (FSDD, 78-200-R200-200-10, the ``fsdd`` settings
with mini-batches of 16)?

Writes ``kernels.csv`` and ``kernels.png`` (each model's PSP kernel from the
engine beside a Brian2 simulation of one neuron given one input spike),
``metrics.csv`` (tidy: one row per condition, seed and epoch), ``summary.csv``
(final and best test accuracy per condition) and one run directory per
(data set, model, seed).

Runtime: full several hours per seed on 2 cores (``--train-limit`` for a
subset); ``--quick`` about 10 s once the effect-ratio tables are cached (about
2 min the first time; the built-in Fashion-MNIST subset and 40 FSDD recordings,
networks 20 times smaller at lower thresholds, T 60 and 100, one epoch, NumPy
simulator: a smoke test, its accuracies are at chance).

    python protocols/synapse_models.py --quick --out results/synapse_models-quick
    python protocols/synapse_models.py --seeds 0 1 2 --train-limit 6000
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _protocol import Results, parser, quick_config, shrink, summarise, train_conditions  # noqa: E402

SEEDS = (0, 1, 2)
#: model name -> per-layer settings (times with units); the same charge per spike in every model
MODELS = {
    "exponential": dict(model="exponential", tau_s="8 ms"),
    "alpha": dict(model="alpha", tau_s="8 ms"),
    "dual-exponential": dict(model="dual-exponential", tau_s="8 ms", tau_r="2 ms"),
}
DATASETS = {"fashion-mnist": ("fashion-mnist-b16", {}),
            "fsdd": ("fsdd", dict(batch_size=16, epochs=5, workers=2))}
KERNEL_MS = 120           # kernel plot length (ms)
QUICK_THRESHOLDS = {"fashion-mnist": (4.0, 3.0, 2.0), "fsdd": (1.5, 1.5, 1.5, 1.0)}


def conditions(args) -> dict:
    import rsnn_brian as rb
    out = {}
    for data, (preset, changes) in DATASETS.items():
        base = rb.load_preset(preset).replace(train_limit=args.train_limit, data_dir=args.data_dir, **changes)
        if args.quick:
            base = _quick(base, data, args)
        for name, m in MODELS.items():
            out[f"{data} {name}"] = base.replace(**m)
    return out


def _quick(cfg, data: str, args):
    """Networks 20 times smaller spike at lower thresholds (every layer fires in --quick)."""
    if data == "fashion-mnist":
        return quick_config(cfg).replace(thresholds=QUICK_THRESHOLDS[data])
    from rsnn_brian.config import TrainConfig
    d = cfg.to_dict()
    d.update(architecture=shrink(cfg.architecture, n_inputs=78), train_limit=40, test_limit=20, epochs=1,
             n_steps=100, device="numpy", workers=1, batch_size=8, checkpoint_every=0, data_dir=args.data_dir,
             thresholds=QUICK_THRESHOLDS[data])
    return TrainConfig(**d)


def kernels(dt_ms: float = 1.0) -> pd.DataFrame:
    """Each model's PSP kernel (engine) and a Brian2 simulation of one neuron given one spike at t = 0."""
    from brian2 import Network, NeuronGroup, SpikeGeneratorGroup, StateMonitor, Synapses, defaultclock, ms, prefs

    from rsnn_brian.brian.model import NeuronConfig, neuron_kwargs, synapse_on_pre
    from rsnn_brian.engine.neuron import BRIAN2
    from rsnn_brian.units import parse_time
    prefs.codegen.target = "numpy"
    rows = []
    n = int(KERNEL_MS / dt_ms)
    for name, m in MODELS.items():
        consts = {"tau_r": parse_time(m["tau_r"]) * 1e3 * ms} if "tau_r" in m else {}
        cfg = NeuronConfig(v_th=1e9, tau_s=parse_time(m["tau_s"]) * 1e3 * ms, model=m["model"], constants=consts)
        defaultclock.dt = dt_ms * ms
        g = NeuronGroup(1, name=f"neuron_{name.replace('-', '_')}", **neuron_kwargs(cfg))
        src = SpikeGeneratorGroup(1, [0], [0] * ms)
        syn = Synapses(src, g, "w : 1", on_pre=synapse_on_pre(cfg))
        syn.connect()
        syn.w = 1.0
        mon = StateMonitor(g, "v", record=0, when="end")      # v after the update of each step
        Network(g, src, syn, mon).run(n * dt_ms * ms)
        h = BRIAN2.psp_kernel(cfg.to_params(dt_ms * ms), n)
        t = np.arange(n) * dt_ms
        rows += [dict(model=name, t_ms=ti, source="engine", v=vi) for ti, vi in zip(t, h)]
        rows += [dict(model=name, t_ms=ti, source="brian2", v=vi) for ti, vi in zip(t, np.asarray(mon.v[0]))]
    return pd.DataFrame(rows)


def plot_kernels(k: pd.DataFrame, path) -> None:
    fig, axes = plt.subplots(1, len(MODELS), figsize=(3.2 * len(MODELS), 2.8), sharey=True)
    for ax, name in zip(axes, MODELS):
        sub = k[k.model == name]
        e, b = sub[sub.source == "engine"], sub[sub.source == "brian2"]
        ax.plot(e.t_ms, e.v, color="k", lw=1.5, label="engine: (P^k c)_v")
        ax.plot(b.t_ms[::4], b.v[::4], "o", ms=3, color="tab:orange", label="Brian2 simulation")
        ax.set(title=name, xlabel="time after the spike (ms)")
    axes[0].set_ylabel("v (unit weight)")
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)


def main(argv=None):
    ap = parser(__doc__, "results/synapse_models", SEEDS)
    ap.add_argument("--train-limit", type=int, help="class-balanced training subset (default: all)")
    ap.add_argument("--data-dir", default=os.environ.get("RSNN_BRIAN_DATA"), help="data root")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds = args.seeds[:1]
    conds = conditions(args)
    params = {"conditions": list(conds)}
    for c, cfg in conds.items():
        params.update({f"{c}.{f}": v for f, v in cfg.to_dict().items() if v is not None})
    res = Results(args.out, "synapse_models", params, args.seeds, args.quick, args.overwrite)
    k = kernels()
    res.csv("kernels", k)
    plot_kernels(k, res.path / "kernels.png")
    wide = k.pivot_table(index=["model", "t_ms"], columns="source", values="v")
    worst = (wide["engine"] - wide["brian2"]).abs().groupby("model").max()
    print("kernel: max |engine - Brian2| per model:", {m: f"{v:.2e}" for m, v in worst.items()})
    metrics = train_conditions(res, conds, args.seeds)
    metrics["dataset"] = metrics["condition"].str.split(" ").str[0]
    metrics["model"] = metrics["condition"].str.split(" ").str[1]
    res.csv("metrics", metrics)
    summary = summarise(metrics)
    res.csv("summary", summary)
    print(summary.round(2).to_string(index=False))
    res.finish(kernel_max_abs_difference={m: float(v) for m, v in worst.items()})
    return summary


if __name__ == "__main__":
    main()
