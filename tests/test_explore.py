"""rsnn_brian.explore without a browser: the views' data, the settings' checks, a run directory, the page object."""

import re
import subprocess
import sys
import tomllib

import numpy as np
import pandas as pd
import pytest

from rsnn_brian.config import TrainConfig, load_preset
from rsnn_brian.explore import model as M
from rsnn_brian.explore.params import ExploreInputError, ExploreParams, from_preset, preset_choices
from rsnn_brian.explore.run import (
    RunError,
    SampleSimulator,
    learning_curves,
    open_run,
    receptive_fields,
    weight_histograms,
)

#: A small, fast setting: few inputs, a short T.
FAST = ExploreParams(n_inputs=40, rate_hz=40.0, n_recurrent=30, n_steps=200)


def make_tiny_run(path):
    """A real run directory of one epoch (NumPy simulator, built-in data, a tiny network): ~2 s."""
    from rsnn_brian.training import train
    cfg = TrainConfig(dataset="builtin", architecture="784-12-R10-10", thresholds=(5.0,), train_limit=20,
                      test_limit=10, n_steps=100, epochs=1, batch_size=4, device="numpy", seed=0)
    train(cfg, path, progress=False)
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return make_tiny_run(tmp_path_factory.mktemp("explore") / "run")


# -- settings ------------------------------------------------------------------------

def test_the_defaults_are_the_trainers_neuron():
    p = ExploreParams()
    assert p.layer_params() == TrainConfig().layer_params()[0]       # tau_m 64, tau_s 8, refractory 2, v_th 20
    cfg = p.neuron_config()
    assert (float(cfg.tau_m), float(cfg.tau_s), cfg.v_th, float(cfg.refractory)) == (0.064, 0.008, 20.0, 0.002)


@pytest.mark.parametrize("change, words", [
    (dict(v_th=0), "threshold must be > 0, got 0"),
    (dict(v_th=-3), "threshold must be > 0"),
    (dict(tau_s_ms=64.0), "tau_s (64 ms) must be shorter than tau_m (64 ms)"),
    (dict(tau_s_ms=80.0), "must be shorter than tau_m"),
    (dict(tau_m_ms=0.0), "tau_m must be > 0 ms"),
    (dict(rate_hz=-5.0), "input rate must be between 0 and 1000 Hz"),
    (dict(rate_hz=2000.0), "input rate must be between 0 and 1000 Hz"),
    (dict(refractory_ms=1.5), "refractory period must be a whole number"),
    (dict(n_inputs=0), "number of inputs must be a whole number from 1 to 2000"),
    (dict(density=1.5), "connection density must be between 0 and 1"),
    (dict(inhibitory=-0.1), "inhibitory fraction must be between 0 and 1"),
    (dict(weight=-1.0), "weight scale must be >= 0"),
    (dict(n_steps=2.5), "T must be a whole number"),
    (dict(v_th=float("nan")), "threshold must be a finite number"),
    (dict(preset="nope"), "unknown preset 'nope'"),
])
def test_bad_settings_are_said_in_words(change, words):
    p = ExploreParams(**change)
    assert any(words in m for m in p.problems()), p.problems()
    with pytest.raises(ExploreInputError, match="must|unknown"):
        p.check()
    with pytest.raises(ExploreInputError):       # every view refuses them the same way
        M.psp_kernel(p)


def test_every_problem_is_listed_at_once():
    probs = ExploreParams(v_th=0, tau_s_ms=70.0, rate_hz=-1.0).problems()
    assert len(probs) == 3
    assert ExploreParams().problems() == []


def test_presets_are_the_papers_settings():
    fm, sp = from_preset("fashion-mnist"), from_preset("fsdd")
    assert (fm.tau_m_ms, fm.tau_s_ms, fm.v_th, fm.refractory_ms, fm.n_steps) == (64.0, 8.0, 20.0, 2.0, 400)
    assert (sp.tau_m_ms, sp.v_th, sp.n_steps) == (128.0, 5.0, 700)
    assert sp.n_recurrent == ExploreParams().n_recurrent                # the network's size stays
    assert list(preset_choices().values())[:2] == ["fashion-mnist", "fsdd"]


def test_the_toml_snippet_is_a_valid_train_config():
    p = ExploreParams(v_th=25.0, tau_m_ms=100.0, tau_s_ms=5.0, n_recurrent=50, n_steps=300, seed=3)
    cfg = TrainConfig.from_dict(tomllib.loads(p.toml()))
    assert cfg == p.train_config()
    assert cfg.thresholds == (25.0, 25.0, 18.75)                        # 20/20/15 scaled to the first = 25
    assert (cfg.tau_m, cfg.tau_s, cfg.n_steps, cfg.seed) == ("100 ms", "5 ms", 300, 3)
    assert cfg.architecture == "784-400-R50-10"
    base = load_preset("fashion-mnist")
    assert (cfg.lr, cfg.batch_size, cfg.dataset) == (base.lr, base.batch_size, base.dataset)
    speech = TrainConfig.from_dict(tomllib.loads(from_preset("fsdd").toml()))
    assert speech.architecture == "78-200-R100-200-10" and speech.thresholds == (5.0,) * 4
    assert p.toml().startswith("# rsnn-brian explore") and "rsnn-brian train --config" in p.toml()


def test_the_equations_are_the_trainers_with_units():
    from rsnn_brian.brian.model import EQUATIONS
    text = ExploreParams(tau_m_ms=128.0, v_th=5.0).equations()
    assert EQUATIONS.strip() in text
    assert "tau_m = 128. ms" in text and "tau_s = 8. ms" in text and "v_th = 5.0" in text
    assert "refractory=2. ms" in text and "I_post += w" in text


# -- one neuron ------------------------------------------------------------------------

def test_a_higher_threshold_gives_fewer_spikes():
    counts = [M.neuron_trace(FAST.replace(v_th=th)).n_spikes for th in (5.0, 10.0, 20.0, 40.0)]
    assert counts == sorted(counts, reverse=True), counts
    assert counts[0] > counts[-1] and counts[0] > 0


def test_the_trace_stays_below_threshold_and_resets_at_spikes():
    tr = M.neuron_trace(FAST)
    assert tr.n_spikes > 2 and len(tr.trace) == FAST.n_steps
    assert tr.trace["v"].max() <= FAST.v_th                             # recorded at each step's start
    assert tr.trace["I"].min() >= 0 and tr.trace["I"].iloc[0] == 0
    after = np.searchsorted(tr.trace["t_ms"], tr.spikes_ms + 1.0)       # the step after a spike: v = 0
    assert np.all(tr.trace["v"].to_numpy()[after[after < len(tr.trace)]] == 0)
    assert tr.rate_hz == pytest.approx(1e3 * tr.n_spikes / FAST.n_steps)


def test_the_rate_curve_is_monotone_in_the_input_rate():
    curve = M.rate_curve(FAST)
    rates = curve["output_rate_hz"].to_numpy()
    assert np.all(np.diff(curve["input_rate_hz"]) > 0) and curve["input_rate_hz"].iloc[0] == 0
    assert np.all(np.diff(rates) >= 0), rates
    assert rates[0] == 0 and rates[-1] > 0
    chosen = curve[curve["chosen"]]
    assert len(chosen) == 1 and chosen["input_rate_hz"].iloc[0] == FAST.rate_hz
    assert chosen["n_spikes"].iloc[0] == M.neuron_trace(FAST).n_spikes    # the same draws as the trace
    odd = M.rate_curve(FAST.replace(rate_hz=3.3))                         # a rate off the grid is added
    assert 3.3 in odd["input_rate_hz"].to_numpy()


@pytest.mark.parametrize("tau_m, tau_s", [(64.0, 8.0), (128.0, 8.0), (20.0, 5.0)])
def test_the_psp_kernel_peaks_where_the_continuous_one_does(tau_m, tau_s):
    from rsnn_brian.engine.neuron import psp_kernel
    p = ExploreParams(tau_m_ms=tau_m, tau_s_ms=tau_s)
    k = M.psp_kernel(p)
    peak = k["t_ms"].iloc[int(k["v"].argmax())]
    assert abs(peak - M.psp_peak_ms(tau_m, tau_s)) <= 1.0
    assert k["v"].iloc[0] == 0 and k["I"].iloc[0] == 1
    np.testing.assert_array_equal(k["v"].to_numpy(), psp_kernel(p.layer_params(), len(k)))
    assert len(k) >= 5 * tau_m


# -- the network -------------------------------------------------------------------------

def test_counts_against_total_psp_obey_the_identity():
    act = M.network_activity(FAST)
    assert act.identity_error < 1e-9                                     # spec 2.3 on Brian2's own v
    ident = act.identity
    assert set(ident["layer"]) == {"R30", "output"} and len(ident) == 30 + M.N_OUTPUTS
    assert ident["count"].sum() > 0
    # v is above threshold at every spike, so a_i / v_th >= o_i
    assert np.all(ident["psp_per_threshold"] >= ident["count"] - 1e-9)
    line = M.identity_line(ident)
    assert line["x"].tolist() == line["y"].tolist() and line["x"].iloc[0] == 0
    assert line["x"].iloc[-1] >= max(ident["psp_per_threshold"].max(), ident["count"].max())
    r = act.raster
    assert act.counts == {name: int((r["layer"] == name).sum()) for name in ("input", "R30", "output")}
    assert r["row"].max() < FAST.n_inputs + 30 + M.N_OUTPUTS


def test_the_recurrent_wiring_follows_density_and_inhibitory_fraction():
    rng = np.random.default_rng(0)
    mask, inh = M.recurrent_mask(200, 0.05, 0.3, rng)
    assert inh.sum() == 60 and not np.any(np.diag(mask))
    assert mask.sum() / (200 * 199) == pytest.approx(0.05, rel=0.1)
    p = FAST.replace(inhibitory=0.5, density=0.2)
    w, inh = M.network_weights(p, np.random.default_rng(1))
    rec = w.layers[0].rec
    assert np.all(rec[:, inh] <= 0) and np.all(rec[:, ~inh] >= 0)      # the presynaptic neuron's sign
    assert np.all(w.layers[0].ff >= 0) and w.layers[0].ff.max() <= 2 * p.weight
    dense = M.network_activity(FAST.replace(density=0.0, inhibitory=0.0))
    assert dense.density == 0


def test_effect_ratio_curves_are_the_engines_table():
    from rsnn_brian.engine.effect_ratio import make_table
    curves = M.effect_ratio_curves(FAST, n_pre=(1, 10), n_post_max=20, n_samples=100)
    assert set(curves["n_pre"]) == {1, 10} and curves["n_post"].max() == 20
    lp = FAST.layer_params()
    table = make_table(lp, FAST.n_steps, 20, (1, 20), 100, FAST.seed)
    ten = curves[curves["n_pre"] == 10]
    np.testing.assert_allclose(ten["mean_spsp"], table.value(10, ten["n_post"].to_numpy(float)))
    np.testing.assert_allclose(ten["ratio"], ten["mean_spsp"] / 10)
    np.testing.assert_allclose(ten["q"], table.derivative(10, ten["n_post"].to_numpy(float)))
    before = M._table.cache_info().hits
    M.effect_ratio_curves(FAST.replace(v_th=33.0, rate_hz=1.0), n_pre=(1, 10), n_post_max=20, n_samples=100)
    assert M._table.cache_info().hits == before + 1                     # the threshold does not enter


# -- a run directory ---------------------------------------------------------------------

def test_a_folder_that_is_no_run_is_said_so(tmp_path):
    with pytest.raises(RunError, match="not a run directory: it has no config.toml"):
        open_run(tmp_path)
    with pytest.raises(RunError, match="does not exist"):
        open_run(tmp_path / "nope")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(RunError, match="is a file"):
        open_run(tmp_path / "f.txt")
    with pytest.raises(RunError, match="give the path"):
        open_run("  ")


def test_a_runs_curves_weights_and_a_sample(tiny_run):
    run = open_run(tiny_run)
    assert run.epochs_done == 1 and str(run.weights.arch) == "784-12-R10-10"
    curves = learning_curves(run)
    mine = curves[curves["source"] == "this run"]
    assert sorted(mine["split"]) == ["test", "train"] and set(mine["epoch"]) == {1}
    assert mine["accuracy"].tolist() == [run.metrics["train_accuracy"].iloc[0], run.metrics["test_accuracy"].iloc[0]]
    hist = weight_histograms(run.weights)
    assert hist.groupby("array")["count"].sum().to_dict() == {"ff1": 784 * 12, "ff2": 10 * 12,
                                                              "rec2": int(run.weights.layers[1].rec_mask.sum()),
                                                              "ff3": 10 * 10}
    img, n = receptive_fields(run.weights)
    assert n == 12 and img.shape == (3 * 29 - 1, 4 * 29 - 1)           # 12 fields of 28 x 28 in a 4-wide grid
    np.testing.assert_array_equal(img[::-1][:28, :28], run.weights.layers[0].ff[0].reshape(28, 28))
    sim = SampleSimulator(run)
    try:
        act = sim.simulate(3)
        assert len(sim) == 10 and act.index == 3 and act.label == int(sim.dataset.labels[3])
        assert act.prediction == int(np.argmax(act.output["count"]))
        assert act.output["is_label"].sum() == 1 and act.input_image.shape == (28, 28)
        assert set(act.layer_sizes) == {"input", "1: 12", "2: R10", "output"}
        assert act.input_image.sum() == (act.raster["layer"] == "input").sum()
        with pytest.raises(RunError, match=r"samples 0\.\.9"):
            sim.simulate(10)
    finally:
        sim.close()


# -- the command line and the page -------------------------------------------------------------

def test_the_command_line_registers_explore_without_importing_panel_or_brian2():
    code = ("import sys\nfrom rsnn_brian.cli import build_parser\n"
            "a = build_parser().parse_args(['explore'])\n"
            "print(a.host, a.port, a.run_dir, a.no_browser)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('panel', 'bokeh', 'brian2')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["127.0.0.1 5006 None False", "[]"]


@pytest.mark.filterwarnings("ignore:There is no current event loop:DeprecationWarning")   # tornado, no loop yet
def test_the_server_listens_on_localhost_only_and_refuses_a_non_run(tmp_path):
    pytest.importorskip("panel", reason="the explorer needs Panel: pip install .[explore]")
    from rsnn_brian.explore.command import make_server
    server = make_server(port=0)
    try:
        assert server.address == "127.0.0.1" and server.port > 0
        assert f"127.0.0.1:{server.port}" in server._tornado.websocket_origins
    finally:
        server.stop()
    with pytest.raises(RunError, match="not a run directory"):
        make_server(tmp_path, port=0)


def test_the_page_keeps_its_last_good_plots_on_bad_input(tiny_run, tmp_path):
    pytest.importorskip("panel", reason="the explorer needs Panel: pip install .[explore]")
    from rsnn_brian.explore import app
    ex = app().explorer
    try:
        assert not ex.message.visible and ex.params == ExploreParams()
        src = ex.figs.sources["neuron_spikes"]
        before = list(src.data["t_ms"])
        ex.controls["v_th"].value = 0.0
        assert ex.refresh() is False and ex.message.visible
        assert "threshold must be > 0" in ex.message.object
        assert list(src.data["t_ms"]) == before and ex.params.v_th == 20.0
        ex.controls["v_th"].value = 40.0
        assert ex.refresh() and not ex.message.visible
        assert len(src.data["t_ms"]) < len(before)
        assert "v_th = 40.0" in ex.equations.object and "thresholds = [40.0, 40.0, 30.0]" in ex.toml.object
        assert ex.load_run(tmp_path) is False and "not a run directory" in ex.message.object
        assert ex.load_run(tiny_run) and not ex.message.visible
        assert list(ex.figs.sources["curve_run_test"].data["epoch"]) == [1]
        assert "| 1 |" in ex.run_status.object and "Sample 0" in ex.sample_stats.object
        ex.sample_index.value = 99
        assert "does not exist" in ex.message.object
    finally:
        ex.close()


@pytest.mark.slow
def test_the_benchmark_times_every_view(capsys):
    from script_loader import load_script
    medians = load_script("benchmarks", "bench_explore").main(["--repeats", "1"])
    text = capsys.readouterr().out
    views = ["neuron (Brian2 numpy target)", "rate in / rate out (Brian2)", "neuron and rate, one run (the page's)",
             "PSP kernel (engine)", "network raster + identity (Runner)", "effect ratios, cached table",
             "effect ratios, new table"]
    assert list(medians)[:7] == views and all(v > 0 for v in medians.values())
    for name in views:
        assert re.search(rf"{re.escape(name)}\s+median\s+{medians[name]:7.3f} s", text), text


def test_the_page_gets_the_neuron_and_its_rate_curve_from_one_run():
    """neuron_and_rate (one Brian2 run, what a change recomputes) equals neuron_trace and rate_curve."""
    p = ExploreParams(rate_hz=23.0, v_th=12.0, n_steps=200)
    trace, curve = M.neuron_and_rate(p)
    alone = M.neuron_trace(p)
    pd.testing.assert_frame_equal(trace.trace, alone.trace)
    np.testing.assert_array_equal(trace.spikes_ms, alone.spikes_ms)
    assert trace.n_input_spikes == alone.n_input_spikes
    pd.testing.assert_frame_equal(curve, M.rate_curve(p))
    assert trace.n_spikes == int(curve.loc[curve["chosen"], "n_spikes"].iloc[0]) > 0
