"""How regular, how fast and how coupled are a network's neurons, measured by Elephant on exported spikes?

Question: for the samples a network simulated, what firing rate does each layer have, how regular
are its neurons' spike trains (the coefficient of variation of their inter-spike intervals; 1 for
a Poisson process, 0 for a clock), and do the two most active neurons of the first recurrent
layer (the first hidden layer if there is none) fire together (their cross-correlogram, summed
over the samples)? Elephant computes all three on neo objects that rsnn_brian exports, and the
rates must equal the package's own, spike counts / (T * dt).

Source: ``--run RUN_DIR`` (the run's test samples with its weights, ``--samples``), ``--nwb FILE``
(a file written by ``rsnn-brian export``), or by default an untrained 20-15-R12-5 network
(``rsnn_brian.connectivity.init_weights``, seed 0) on random Bernoulli input, simulated by the
NumPy reference simulator: no data set or training needed.

Output (``--out``, default ``results/export_elephant``): ``recording.nwb`` (one Units row per
neuron, samples as trials), ``recording_neo.nwb`` (neo's layout; it is re-read here with plain
``neo.io.NWBIO``), ``rates.csv`` (tidy: layer, neuron, trial, rate by Elephant and from the
counts), ``layers.csv`` (per layer: mean rate, mean CV-ISI), ``cch.csv`` (lag, coincidences),
``elephant.png`` and ``run.json`` (parameters, versions, statistics).

Usage::

    python protocols/export_elephant.py [--run runs/demo --samples 0:20] [--nwb FILE] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- parameters
PARAMS = dict(
    architecture="20-15-R12-5",   # the default untrained network
    thresholds=(2.0, 2.0, 2.0),   # low enough that every layer fires on this input
    input_rate=0.1,               # Bernoulli spike probability per input neuron and 1 ms step
    n_samples=8,                  # random input samples (--quick: 4)
    n_steps=200,                  # T, steps of dt = 1 ms (--quick: 100)
    seed=0,
    cch_window_ms=20,             # lags -20..20 ms
    min_spikes_for_cv=3,          # CV-ISI needs at least 2 intervals
)


def synthetic(p):
    """An untrained network on random input: a NetworkRecording with its weights."""
    from rsnn_brian.connectivity import init_weights
    from rsnn_brian.export import NetworkRecording
    from rsnn_brian.network import LayerParams
    from rsnn_brian.reference.simulate import simulate
    from rsnn_brian.spikes import SpikeTrains
    rng = np.random.default_rng(p["seed"])
    weights = init_weights(p["architecture"], rng)
    params = [LayerParams(v_th=th) for th in p["thresholds"]]
    inputs = [SpikeTrains.from_dense(rng.random((p["n_steps"], weights.arch.n_inputs)) < p["input_rate"])
              for _ in range(p["n_samples"])]
    rec = simulate(weights, params, inputs)
    return NetworkRecording(rec, p["architecture"], dt=1e-3, params=params, weights=weights, device="numpy",
                            description=f"untrained {p['architecture']} on Bernoulli input p={p['input_rate']}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, help="a run directory: record its test samples with its weights")
    ap.add_argument("--samples", default=None, help="with --run: START:STOP (default the first 20)")
    ap.add_argument("--nwb", type=Path, help="an NWB file written by rsnn-brian export")
    ap.add_argument("--out", default=REPO / "results" / "export_elephant", type=Path)
    ap.add_argument("--quick", action="store_true", help="fewer, shorter samples (for CI)")
    a = ap.parse_args(argv)
    p = dict(PARAMS)
    if a.quick:
        p.update(n_samples=4, n_steps=100)

    import elephant
    import neo
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import cross_correlation_histogram
    from elephant.statistics import cv, isi, mean_firing_rate

    from rsnn_brian.export import read_neo, read_nwb, record_run, write_neo, write_nwb

    if a.run:
        data = record_run(a.run, samples=a.samples)
    elif a.nwb:
        data = read_nwb(a.nwb)
    else:
        data = synthetic(p)
    a.out.mkdir(parents=True, exist_ok=True)
    write_nwb(data, a.out / "recording.nwb", force=True)
    write_neo(data, a.out / "recording_neo.nwb", force=True)

    # neo alone reads the neo-layout file: one Segment per sample
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = neo.io.NWBIO(str(a.out / "recording_neo.nwb"), mode="r").read_block()
    assert len(plain.segments) == data.n_samples
    block = read_neo(a.out / "recording_neo.nwb", align=True)   # annotated: a Group per layer, samples from 0 s

    dt, T = data.dt, data.n_steps
    rows, layers = [], []
    for k, group in enumerate(block.groups):
        cvs = []
        for st in group.spiketrains:
            b, i = st.segment.index, st.annotations["index_in_layer"]
            rows.append(dict(layer=group.name, layer_kind=group.annotations["layer_kind"], neuron=i, trial=b,
                             sample_index=int(data.sample_index[b]), n_spikes=len(st),
                             rate_hz_elephant=float(mean_firing_rate(st).rescale("Hz").magnitude),
                             rate_hz_counts=float(data.rates(k)[b, i])))
            if len(st) >= p["min_spikes_for_cv"]:
                cvs.append(float(cv(isi(st))))
        df = pd.DataFrame([r for r in rows if r["layer"] == group.name])
        layers.append(dict(layer=group.name, kind=group.annotations["layer_kind"], size=group.annotations["size"],
                           mean_rate_hz=float(df["rate_hz_elephant"].mean()),
                           silent_fraction=float((df["n_spikes"] == 0).mean()),
                           mean_cv_isi=float(np.mean(cvs)) if cvs else None, n_trains_with_cv=len(cvs)))
    rates = pd.DataFrame(rows)
    assert np.allclose(rates["rate_hz_elephant"], rates["rate_hz_counts"]), "Elephant and the counts disagree"

    kinds = [g.annotations["layer_kind"] for g in block.groups]
    k = kinds.index("recurrent") if "recurrent" in kinds else 1
    counts = data.recording.counts(k).sum(axis=0)
    i, j = (int(x) for x in np.argsort(-counts, kind="stable")[:2])
    w = p["cch_window_ms"]
    cch = np.zeros(2 * w + 1)
    for seg in block.segments:
        trains = {st.annotations["index_in_layer"]: st for st in seg.spiketrains
                  if st.annotations["layer_number"] == k}
        if len(trains[i]) and len(trains[j]):
            binned = [BinnedSpikeTrain(trains[n], bin_size=dt * pq.s) for n in (i, j)]
            hist, lags = cross_correlation_histogram(*binned, window=[-w, w], border_correction=False)
            cch += np.asarray(hist.magnitude).ravel()
    lags_ms = np.arange(-w, w + 1) * dt * 1e3
    name = block.groups[k].name

    rates.to_csv(a.out / "rates.csv", index=False)
    pd.DataFrame(layers).to_csv(a.out / "layers.csv", index=False)
    pd.DataFrame({"lag_ms": lags_ms, "coincidences": cch}).to_csv(a.out / "cch.csv", index=False)

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    ax = axes[0]
    for n, lay in enumerate(layers):
        r = rates.loc[rates["layer"] == lay["layer"], "rate_hz_elephant"]
        ax.scatter(np.full(r.size, n) + np.random.default_rng(n).uniform(-0.2, 0.2, r.size), r, s=4, alpha=0.5)
    ax.set_xticks(range(len(layers)), [lay["layer"] for lay in layers])
    ax.set_ylabel("firing rate (Hz, Elephant)")
    ax.set_title(f"{data.architecture}: {data.n_samples} samples of {T * dt * 1e3:g} ms")
    ax = axes[1]
    ax.bar(lags_ms, cch, width=dt * 1e3, color="C0")
    ax.set_xlabel(f"lag of {name}[{j}] after {name}[{i}] (ms)")
    ax.set_ylabel("coincidences (all samples)")
    ax.set_title("cross-correlogram, Elephant")
    fig.tight_layout()
    fig.savefig(a.out / "elephant.png", dpi=80 if a.quick else 150)
    plt.close(fig)

    stats = dict(layers=layers, cch_pair=[f"{name}[{i}]", f"{name}[{j}]"], cch_total=float(cch.sum()),
                 cch_at_zero=float(cch[w]), n_spikes=data.n_spikes)
    run = dict(params=p, source=str(a.run or a.nwb or "synthetic"), description=data.description, stats=stats,
               versions=dict(python=sys.version.split()[0], numpy=np.__version__, neo=neo.__version__,
                             elephant=elephant.__version__, platform=platform.platform()))
    (a.out / "run.json").write_text(json.dumps(run, indent=2))
    print(pd.DataFrame(layers).to_string(index=False))
    print(f"wrote {a.out}/recording.nwb, recording_neo.nwb, rates.csv, layers.csv, cch.csv, elephant.png, run.json")
    return stats


if __name__ == "__main__":
    main()
