"""A trained network's activity on test samples, before and after training, recorded by Brian2.

Question: what does a network trained with ST-RSBP do on its test samples:
which neurons fire when, how many spikes each output neuron gives, what the
membrane potentials of chosen neurons look like, which classes it confuses,
and how weights, receptive fields and firing rates changed with training?
(Extends the paper's accuracy tables, Zhang & Li 2019 table 1-3, with the
activity behind them.)

From a run directory (``rsnn-brian train ... --out RUN_DIR``): the weights the
run started from (redrawn from its seed) and its latest checkpoint, each run on
the same test samples in Brian2 runtime mode with StateMonitors
(``rb.record_activity``). Writes:

    activity_initial.npz, activity_trained.npz   spikes of every layer and v, I traces (TRACE_SAMPLES)
    rates.csv          state, layer, neuron, rate_hz over RATE_SAMPLES test samples
    output_counts.csv  state, sample, label, neuron, count (output layer, TRACE_SAMPLES)
    confusion.csv      true, predicted, count over the whole test split (trained weights)
    weight_hist.csv    state, array, bin_left, bin_right, count (every weight array)
    receptive_fields.npz   first-layer weights (n_inputs per neuron) of RF_NEURONS hidden neurons

Runtime: full (the demo preset's run, ``rsnn-brian train --preset demo``)
about 80 s on 2 cores (4 min the first time: Cython builds the recording
network; then the cpp_standalone build and 500 test samples for the confusion
matrix); --quick about 6 s (trains its own 784-20-R10-10 run on 40 built-in
images for one epoch, numpy device and numpy target).

    python protocols/network_activity.py runs/demo --out figures/measured/activity_demo
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from _protocol import Results, parser

# -- parameters -----------------------------------------------------------------------------
TRACE_SAMPLES = 3          # test samples with spikes and traces stored (the raster and membrane figures)
TRACED_PER_LAYER = 4       # traced neurons per hidden layer (all output neurons are traced)
RATE_SAMPLES = 40          # test samples for the firing-rate distributions
RF_NEURONS = 16            # hidden neurons whose receptive fields are kept
HIST_BINS = 80             # bins of the weight histograms, over [-W_RANGE, W_RANGE]
W_RANGE = 2.0              # weights (dimensionless) shown in the histograms; outside: clipped into the end bins
QUICK_RUN = dict(dataset="builtin", architecture="784-20-R10-10", thresholds=[20.0, 20.0, 15.0], n_steps=60,
                 train_limit=40, test_limit=20, epochs=1, batch_size=8, lr=0.002, device="numpy")


def _quick_run(results, seed):
    import rsnn_brian as rb
    cfg = rb.TrainConfig(**QUICK_RUN, seed=seed)
    run_dir = results.path / "runs" / "quick"
    if not (run_dir / "config.toml").is_file():
        rb.train(cfg, run_dir, progress=False)
    return run_dir


def _rates(act, dt_ms) -> pd.DataFrame:
    T = act.n_steps * dt_ms / 1000.0
    rows = []
    for k in range(1, len(act.recording.layers)):
        counts = act.recording.counts(k).mean(axis=0)
        rows.append(pd.DataFrame({"layer": k, "neuron": np.arange(counts.size), "rate_hz": counts / T}))
    return pd.concat(rows, ignore_index=True)


def _hist(weights) -> pd.DataFrame:
    edges = np.linspace(-W_RANGE, W_RANGE, HIST_BINS + 1)
    rows = []
    masks = weights.trainable_masks()
    for name, w in weights.trainable().items():
        vals = w[masks[name]] if name in masks else w.ravel()
        counts, _ = np.histogram(np.clip(vals, -W_RANGE, W_RANGE), bins=edges)
        rows.append(pd.DataFrame({"array": name, "bin_left": edges[:-1], "bin_right": edges[1:], "count": counts}))
    return pd.concat(rows, ignore_index=True)


def main(argv=None):
    ap = parser(__doc__, "results/network_activity")
    ap.add_argument("run_dir", nargs="?", help="the trained run (with --quick: trained here if not given)")
    ap.add_argument("--target", choices=["cython", "numpy"], help="Brian2 codegen target (--quick: numpy)")
    args = ap.parse_args(argv)
    if args.run_dir is None and not args.quick:
        raise SystemExit("network_activity: give the run directory (e.g. runs/demo from "
                         "rsnn-brian train --preset demo --out runs/demo), or --quick")
    import rsnn_brian as rb
    from rsnn_brian.export.activity import initial_weights
    from rsnn_brian.training.api import open_run
    target = args.target or ("numpy" if args.quick else None)
    params = {"run_dir": args.run_dir or "(trained by --quick)", "trace_samples": TRACE_SAMPLES,
              "traced_per_layer": TRACED_PER_LAYER, "rate_samples": RATE_SAMPLES, "rf_neurons": RF_NEURONS,
              "hist_bins": HIST_BINS, "w_range": W_RANGE}
    res = Results(args.out, "network_activity", params, args.seeds[:1], args.quick, args.overwrite)
    run_dir = args.run_dir or _quick_run(res, args.seeds[0])
    opened = open_run(run_dir, "test")
    cfg, trained = opened.config, opened.weights
    arch = trained.arch
    sizes = [s.size for s in arch.layers]
    n_test = len(opened.dataset)
    neurons = {k: range(min(TRACED_PER_LAYER, sizes[k])) for k in range(1, len(sizes) - 1)}
    neurons[len(sizes) - 1] = range(sizes[-1])
    rates, counts, hists = [], [], []
    for state, ckpt, w in (("initial", "initial", initial_weights(cfg)), ("trained", None, trained)):
        act = rb.record_activity(run_dir, samples=f"0:{min(TRACE_SAMPLES, n_test)}", checkpoint=ckpt,
                                 neurons=neurons, target=target)
        act.save(res.path / f"activity_{state}.npz", float32=True)
        out = act.recording.counts(len(sizes) - 1)
        for b, lab in enumerate(act.meta["labels"]):
            counts.append(pd.DataFrame({"state": state, "sample": b, "label": lab, "neuron": np.arange(out.shape[1]),
                                        "count": out[b]}))
        many = rb.record_activity(run_dir, samples=f"0:{min(RATE_SAMPLES, n_test)}", checkpoint=ckpt, neurons={},
                                  target=target)
        rates.append(_rates(many, act.dt_ms).assign(state=state))
        hists.append(_hist(w).assign(state=state))
    res.csv("rates", pd.concat(rates, ignore_index=True))
    res.csv("output_counts", pd.concat(counts, ignore_index=True))
    res.csv("weight_hist", pd.concat(hists, ignore_index=True))
    w0 = initial_weights(cfg)
    np.savez_compressed(res.path / "receptive_fields.npz", neurons=np.arange(min(RF_NEURONS, sizes[1])),
                        initial=w0.layers[0].ff[:RF_NEURONS].astype(np.float32),
                        trained=trained.layers[0].ff[:RF_NEURONS].astype(np.float32),
                        image_shape=np.array([28, 28] if sizes[0] == 784 else [sizes[0], 1]))
    ev = rb.evaluate_run(run_dir, progress=False)
    ds = opened.dataset
    conf = pd.crosstab(pd.Series(ds.labels, name="true"), pd.Series(ev.predictions, name="predicted"))
    conf = conf.reindex(index=range(sizes[-1]), columns=range(sizes[-1]), fill_value=0)
    conf = conf.stack().rename("count").reset_index()
    names = list(ds.class_names) if ds.class_names else [str(i) for i in range(sizes[-1])]
    conf["true_name"] = [names[i] for i in conf["true"]]
    conf["predicted_name"] = [names[i] for i in conf["predicted"]]
    res.csv("confusion", conf)
    (res.path / "run.json").write_text(json.dumps({
        "run_dir": str(run_dir), "architecture": str(arch), "dataset": cfg.dataset,
        "epochs": int(opened.state["epoch"]), "test_accuracy": ev.accuracy, "n_test": ev.n_samples,
        "class_names": names}, indent=2) + "\n")
    print(f"{run_dir}: test accuracy {ev.accuracy:.2f} % on {ev.n_samples} samples")
    return res.finish(test_accuracy=ev.accuracy)


if __name__ == "__main__":
    main()
