"""figures/network_activity.py and figures/weights_and_rates.py on the committed demo recording.

The committed folder figures/measured/activity_demo comes from protocols/network_activity.py on the
demo preset's run; the tests check that what is drawn is what was recorded.
"""

import json

import numpy as np
import pandas as pd
import pytest
from script_loader import ROOT, load_script

DEMO = ROOT / "figures" / "measured" / "activity_demo"


def test_activity_figure_draws_the_recorded_spikes(tmp_path):
    import rsnn_brian as rb
    mod = load_script("figures", "network_activity")
    drawn, conf = mod.main([str(DEMO), "--sample", "1", "--out", str(tmp_path)])
    for state in ("initial", "trained"):
        act = rb.ActivityRecording.load(DEMO / f"activity_{state}.npz")
        for k in range(len(act.recording.layers)):
            assert drawn[(state, k)] == act.recording.layers[k][1].n_spikes      # ticks drawn = spikes recorded
        counts = act.recording.counts(len(act.recording.layers) - 1)[1]
        assert drawn[(state, "output counts")] == [int(c) for c in counts]           # one bar per output neuron
    saved = pd.read_csv(tmp_path / "network_activity_spikes.csv")
    assert saved["spikes"].sum() == sum(v for k, v in drawn.items() if k[1] != "output counts")
    run = json.loads((DEMO / "run.json").read_text())
    assert conf["count"].sum() == run["n_test"] == 500
    assert conf[conf.true == conf.predicted]["count"].sum() / 5 == pytest.approx(run["test_accuracy"])
    for name in ("network_activity", "confusion"):
        for ext in ("png", "pdf"):
            assert (tmp_path / f"{name}.{ext}").stat().st_size > 10_000
    with pytest.raises(SystemExit, match="recorded samples"):
        mod.main([str(DEMO), "--sample", "99", "--out", str(tmp_path)])


def test_raster_and_counts_plots_hold_the_data():
    from rsnn_brian.plotting import plot_confusion, plot_output_counts, plot_raster, plot_traces
    from rsnn_brian.plotting.activity import confusion_percent
    spikes = pd.DataFrame({"time_ms": [1.0, 5.0, 5.0, 9.0], "neuron": [0, 2, 3, 2]})
    ax = plot_raster(spikes, n_neurons=4)
    offsets = ax.collections[0].get_offsets()
    assert len(offsets) == 4 and ax.get_ylim() == (-0.5, 3.5) and ax.get_xlabel() == "time (ms)"
    ax = plot_output_counts(pd.DataFrame({"neuron": range(3), "count": [2, 7, 1]}), label=1)
    heights = sorted(round(p.get_height()) for p in ax.patches if p.get_height() > 0)
    assert heights == [1, 2, 7]
    tr = pd.DataFrame({"time_ms": [0, 1, 2, 0, 1, 2], "neuron": [0, 0, 0, 1, 1, 1], "value": [0, 1, 2, 0, 3, 0.0]})
    ax = plot_traces(tr, v_th=2.5)
    assert [ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_linestyle() == "--"] == [2.5]
    conf = pd.DataFrame({"true": [0, 0, 1, 1], "predicted": [0, 1, 1, 1], "count": [3, 1, 0, 4]})
    pct = confusion_percent(conf)
    assert pct.loc[0, 0] == 75 and pct.loc[1, 1] == 100
    plot_confusion(conf, class_names=["a", "b"])


def test_weights_and_rates_figure(tmp_path):
    mod = load_script("figures", "weights_and_rates")
    fields, hist, rates = mod.main([str(DEMO), "--out", str(tmp_path)])
    with np.load(DEMO / "receptive_fields.npz") as f:
        assert fields["trained"].shape == (16, 784)
        np.testing.assert_array_equal(fields["initial"], f["initial"])
    # the initial first-layer weights are the run's seed's: init_weights(arch, default_rng(0))
    from rsnn_brian.config import load_config
    from rsnn_brian.export.activity import initial_weights
    cfg = load_config(ROOT / "rsnn_brian" / "presets" / "demo.toml")
    np.testing.assert_array_equal(fields["initial"], initial_weights(cfg).layers[0].ff[:16].astype(np.float32))
    # 784-200-R100-10: every synapse is counted once per state
    per = hist.groupby(["state", "array"])["count"].sum().unstack()
    assert per.loc["initial", "ff1"] == per.loc["trained", "ff1"] == 200 * 784
    assert per.loc["initial", "ff3"] == 10 * 100
    summary = pd.read_csv(tmp_path / "rates_summary.csv")
    means = rates.groupby(["state", "layer"])["rate_hz"].mean()
    np.testing.assert_allclose(summary["mean"], means.to_numpy())
    assert (tmp_path / "receptive_fields.png").stat().st_size > 10_000
    assert (tmp_path / "weights_and_rates.pdf").is_file()
