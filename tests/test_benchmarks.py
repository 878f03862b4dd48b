"""The scripts in benchmarks/ print the figures they must (quick settings).

(The diagnostics authors_variants, continue_at_lr and gradient_share moved to
protocols/; their tests are in tests/test_protocols.py.)

Each test runs a script on tiny inputs and recomputes what it prints from
the same inputs by a direct computation, so a wrong figure fails, not only
an impossible one.
"""

import os
import re

import numpy as np
import pytest
from script_loader import ROOT, load_script

# -- bench_speech_encoding on a tiny FSDD-like folder ---------------------------------

def test_speech_encoding_statistics_are_those_of_the_trains(tmp_path, capsys):
    pytest.importorskip("lyon")
    from test_speech_fsdd import make_fsdd

    from rsnn_brian.data.cochlea import SpeechEncoding, encode_waveform
    from rsnn_brian.data.fsdd import read_manifest, read_wav
    make_fsdd(tmp_path / "data", speakers=("alice",), digits=(0, 1), n_index=3)      # 6 recordings
    bench = load_script("benchmarks", "bench_speech_encoding")
    out = bench.main(["--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"),
                      "--n-jobs", "1", "--sample", "2"])
    text = capsys.readouterr().out
    assert out["n_files"] == 6 and out["misses"] == 6                 # a cold cache: all encoded
    assert "FSDD: 6 recordings" in text and "[1] serial, 2 files" in text
    assert "(6 to encode)" in text and "[3] warm cache" in text
    assert len(list((tmp_path / "cache" / "speech").rglob("*.npz"))) == 6

    # the same figures, straight from the encoder
    enc = SpeechEncoding()
    recs = read_manifest(tmp_path / "data" / "fsdd")
    trains, dur = [], []
    for r in recs:
        x, rate = read_wav(r.path)
        trains.append(encode_waveform(x, rate, enc))
        dur.append(x.size / rate)
    counts = np.array([t.n_spikes for t in trains])
    per_ch = np.stack([t.counts() for t in trains])
    ch_mean = per_ch.sum(axis=0) / len(trains)
    sound = np.minimum(dur, enc.n_steps * 1.6e-3)                     # 1.6 ms of audio per step
    want = {"n_channels": 78, "mean": counts.sum() / 6, "median": np.median(counts),
            "min": counts.min(), "max": counts.max(), "silent": (counts == 0).sum(),
            "channel_mean": ch_mean.mean(), "channel_min": ch_mean.min(), "channel_argmin": ch_mean.argmin(),
            "channel_max": ch_mean.max(), "channel_argmax": ch_mean.argmax(),
            "channels_silent": (per_ch.sum(axis=0) == 0).sum(), "channel_peak": per_ch.max(),
            "fill_mean": counts.mean() / (700 * 78), "fill_max": counts.max() / (700 * 78),
            "rate_mean": np.mean(counts / 78 / sound), "rate_median": np.median(counts / 78 / sound),
            "rate_max": np.max(counts / 78 / sound),
            "last_step_median": np.median([t.step.max() for t in trains])}
    st = out["stats"]
    assert set(st) == set(want)
    for key, value in want.items():
        assert st[key] == pytest.approx(value, rel=1e-12), key
    assert counts.sum() > 0 and st["channel_peak"] <= enc.n_steps
    # what is printed is what was computed
    assert f"spikes per utterance: mean {want['mean']:.1f}, median {want['median']:.0f}, " \
           f"min {want['min']}, max {want['max']}, silent utterances {want['silent']}" in text
    assert f"max spikes of one channel in one utterance: {want['channel_peak']} of 700 steps" in text
    assert f"mean {want['fill_mean']:.3f}, max {want['fill_max']:.3f}" in text
    assert f"{want['rate_mean']:.1f} Hz (median {want['rate_median']:.1f}, max {want['rate_max']:.1f})" in text

    # a second run finds everything in the cache
    again = bench.main(["--data-dir", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache"),
                        "--n-jobs", "1", "--sample", "1"])
    assert again["misses"] == 0 and again["stats"] == st
    assert "(0 to encode)" in capsys.readouterr().out


def test_speech_statistics_of_known_trains():
    """spike_statistics on hand-made trains: every figure by hand."""
    from rsnn_brian.data.cochlea import SpeechEncoding
    from rsnn_brian.spikes import SpikeTrains
    bench = load_script("benchmarks", "bench_speech_encoding")
    enc = SpeechEncoding(n_steps=10)                                   # 10 steps hold 16 ms of audio
    trains = [SpikeTrains([0, 1, 1], [2, 3, 4], 2, 10),                 # 3 spikes, last at step 4
              SpikeTrains([1], [7], 2, 10),                             # 1 spike, last at step 7
              SpikeTrains.empty(2, 10)]                                 # silent
    st = bench.spike_statistics(trains, [0.008, 0.032, 0.016], enc)     # 8 ms; 32 ms is cut to 16 ms
    assert (st["mean"], st["median"], st["min"], st["max"], st["silent"]) == (4 / 3, 1, 0, 3, 1)
    assert (st["channel_min"], st["channel_argmin"]) == (pytest.approx(1 / 3), 0)
    assert (st["channel_max"], st["channel_argmax"]) == (1.0, 1)
    assert (st["channels_silent"], st["channel_peak"], st["n_channels"]) == (0, 2, 2)
    assert st["fill_mean"] == pytest.approx(4 / 3 / 20) and st["fill_max"] == pytest.approx(3 / 20)
    # spikes / channels / seconds of sound: 3/2/0.008 = 187.5, 1/2/0.016 = 31.25, 0
    assert st["rate_max"] == pytest.approx(187.5) and st["rate_median"] == pytest.approx(31.25)
    assert st["rate_mean"] == pytest.approx((187.5 + 31.25) / 3)
    assert st["last_step_median"] == 4                                   # median of 4, 7 and 0


# -- data locations: $RSNN_BRIAN_DATA or the path beside the repository, never a fixed one ----

def test_bench_forward_finds_data_through_the_environment(tmp_path, monkeypatch):
    bench = load_script("benchmarks", "bench_forward")
    monkeypatch.setenv("RSNN_BRIAN_DATA", str(tmp_path))
    assert bench.data_roots() == [tmp_path, ROOT.parent / "shared" / "data"]
    monkeypatch.delenv("RSNN_BRIAN_DATA")
    assert bench.data_roots() == [ROOT.parent / "shared" / "data"]
    monkeypatch.setattr(bench, "data_roots", lambda: [tmp_path / "nothing"])
    pixels, source = bench.load_images(3, np.random.default_rng(0))
    assert pixels.shape == (3, 784) and pixels.dtype == np.uint8 and source.startswith("random pixels")


def test_bench_forward_inputs_follow_the_rate_code():
    bench = load_script("benchmarks", "bench_forward")
    pixels = np.array([[0, 255, 128]], np.uint8)
    (tr,) = bench.bernoulli_inputs(pixels, 20_001, np.random.default_rng(1))
    counts = tr.counts()
    assert counts[0] == 0 and tr.step.min() >= 1                        # silent pixel; no spike at step 0
    p = pixels[0] / (5.5 * 255)
    np.testing.assert_allclose(counts / 20_000, p, atol=4 * np.sqrt(p.max() / 20_000))


def test_bench_training_data_dir(tmp_path, monkeypatch):
    bench = load_script("benchmarks", "bench_training")
    monkeypatch.setenv("RSNN_BRIAN_DATA", str(tmp_path))
    assert bench.data_dir() == tmp_path
    monkeypatch.delenv("RSNN_BRIAN_DATA")
    assert bench.data_dir() == ROOT.parent / "shared" / "data"
    assert "RSNN_BRIAN_DATA" not in os.environ                          # looked up, not set


@pytest.mark.parametrize("path", ["benchmarks/bench_forward.py", "benchmarks/bench_training.py",
                                  "benchmarks/bench_speech_encoding.py", "benchmarks/snntorch_bptt.py",
                                  "benchmarks/bench_scaling.py", "benchmarks/_measure.py",
                                  "benchmarks/bench_backward.py", "figures/scaling.py",
                                  "protocols/speech_utterance.py", "benchmarks/blas_kernels.py"])
def test_no_machine_paths(path):
    text = (ROOT / path).read_text()
    assert not re.search(r"""["'](/work|/home|/tmp|/Users)/""", text), path


# -- peak memory and the NumPy floor (benchmarks/_measure.py), bench_scaling, snntorch_bptt, figures/scaling ----

def test_peak_rss_sees_a_child_while_it_runs_not_the_parent_at_fork():
    import subprocess
    import sys
    measure = load_script("benchmarks", "_measure")
    ballast = np.ones(100 * 2 ** 20 // 8)                              # 100 MB resident here
    grow = "import time; b = b'x' * (150 * 2 ** 20); time.sleep(0.3)"  # a child that holds 150 MB
    with measure.PeakRSS() as m:
        subprocess.run([sys.executable, "-c", grow], check=True)
    assert 150 <= m.peak_children_mb < 150 + 60
    assert m.peak_mb >= m.peak_children_mb + 100 and m.start_mb >= 100
    with measure.PeakRSS() as idle:
        subprocess.run(["sleep", "0.3"], check=True)
    assert idle.n_samples > 5
    assert idle.peak_children_mb < 20            # sleep itself, not the 100+ MB it was forked from
    assert ballast[-1] == 1.0


def test_one_numpy_floor_for_forward_and_training(monkeypatch):
    import time
    from importlib import import_module

    from threadpoolctl import threadpool_info
    S = import_module("rsnn_brian.reference.simulate")              # the module (the package exports the function)
    fwd, trn = load_script("benchmarks", "bench_forward"), load_script("benchmarks", "bench_training")
    assert fwd.numpy_floor is trn.numpy_floor and fwd.FLOOR_LABEL == trn.FLOOR_LABEL
    assert "2 BLAS threads" in fwd.FLOOR_LABEL and fwd.FLOOR_BLAS_THREADS == 2
    assert "OPENBLAS_NUM_THREADS" not in (ROOT / "benchmarks" / "bench_forward.py").read_text()
    seen = []

    def fake(weights, params, batch):                                 # 2 ms per sample, BLAS threads noted
        seen.append(max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"))
        time.sleep(0.002 * len(batch))
        return len(batch)

    monkeypatch.setattr(S, "simulate", fake)
    ms, last = fwd.numpy_floor(None, None, [[0] * 3, [0] * 5])
    assert seen == [2, 2] and last == 5 and 2.0 <= ms < 6.0
    ms, last = fwd.numpy_floor(None, None, [0] * 4, repeats=3)
    assert len(seen) == 5 and last == 4 and 2.0 <= ms < 6.0


def _fake_point(base, key_peak="peak_mb", key_start="start_mb"):
    """A point whose time grows as T * sqrt(N) and whose memory above 100 MB as base * T + N."""
    def run(n, steps, *args):
        return {"ms_per_sample": 2.0 * steps * n ** 0.5, "cpu_ms_per_sample": steps ** 2.0,
                key_peak: 100.0 + base * steps + n, key_start: 100.0,
                "spikes_per_sample": [float(n), n / 2, 1.5]}
    return run


def test_bench_scaling_writes_both_sweeps_and_their_growth(tmp_path, monkeypatch, capsys):
    import pandas as pd
    bench = load_script("benchmarks", "bench_scaling")
    monkeypatch.setattr(bench, "run_ours", _fake_point(0.0))
    snn = _fake_point(2.0, "peak_rss_mb", "start_rss_mb")
    monkeypatch.setattr(bench, "run_snntorch", lambda python, n, steps, *a: snn(n, steps))
    bench.main(["--quick", "--snntorch-python", "torch-python", "--out", str(tmp_path / "s.csv")])
    text = capsys.readouterr().out
    df = pd.read_csv(tmp_path / "s.csv")
    assert list(df.columns) == bench.COLUMNS and len(df) == 8      # 2 impls x (2 T + 2 N points)
    q = bench.QUICK
    for impl in ("st-rsbp", "snntorch-bptt"):
        t = df[(df.impl == impl) & (df.sweep == "T")]
        n = df[(df.impl == impl) & (df.sweep == "N")]
        assert list(t["T"]) == list(q["t_sweep"]) and set(t["n_hidden"]) == {q["n_at_t"]}
        assert list(n["n_hidden"]) == list(q["n_sweep"]) and set(n["T"]) == {q["t_at_n"]}
        assert set(df[df.impl == impl]["batch"]) == {q["batch"]}
    base = {"st-rsbp": 0.0, "snntorch-bptt": 2.0}
    for impl, b in base.items():
        t = df[(df.impl == impl) & (df.sweep == "T")].sort_values("T")
        lo, hi = t.iloc[0], t.iloc[-1]
        assert hi.peak_mb == 100 + b * hi["T"] + hi.n_hidden and hi.hidden_spikes == hi.n_hidden
        ratio = hi.peak_mb / lo.peak_mb
        assert (f"{impl}, T {lo['T']} -> {hi['T']} (2x): peak memory x{ratio:.2f} ({lo.peak_mb:.0f} -> "
                f"{hi.peak_mb:.0f} MB)") in text
        assert f"time x{hi.ms_per_sample / lo.ms_per_sample:.2f} (CPU x4.00), growth exponent 1.00 (CPU 2.00;" \
            in text
        assert f"{impl}, N 10 -> 20 (2x)" in text
    assert text.count("growth exponent 0.50 (CPU 0.00;") == 2        # time ~ sqrt(N) for both, CPU flat in N
    # the exponent is the least-squares slope in log-log
    xs, ys = [100, 200, 400, 800], [3.0, 7.0, 13.0, 30.0]
    assert bench.slope(xs, ys) == pytest.approx(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def test_bench_scaling_measures_our_training_step():
    from rsnn_brian.reference.simulate import simulate
    bench = load_script("benchmarks", "bench_scaling")
    res = bench.measure_ours(20, 60, 2, 1, 1, device="runtime")
    weights, params, labels, batches = bench.network(20, 60, 2, 2)
    ref = simulate(weights, params, batches[0])                     # same initial weights, first batch
    want = [ref.counts(k).sum() / 2 for k in (1, 2, 3)]
    assert want[0] > 0 and res["spikes_per_sample"] == pytest.approx(want)
    assert res["ms_per_sample"] == pytest.approx(res["forward_ms"] + res["backward_ms"] + res["update_ms"])
    assert min(res["forward_ms"], res["backward_ms"], res["update_ms"], res["cpu_ms_per_sample"]) > 0
    assert res["peak_mb"] >= res["start_mb"] > 50


def test_snntorch_network_file_holds_our_network(tmp_path):
    from rsnn_brian.engine.neuron import BRIAN2
    from rsnn_brian.network import LATERAL_WEIGHT
    from rsnn_brian.spikes import dense_batch
    snnt, bench = load_script("benchmarks", "snntorch_bptt"), load_script("benchmarks", "bench_scaling")
    weights, params, labels, batches = bench.network(30, 25, 3, 1)
    snnt.write_network(tmp_path / "net.npz", weights, params, batches[0], labels[0])
    x, y, layers, source = snnt.load_network(tmp_path / "net.npz")
    assert x.dtype == np.uint8 and np.array_equal(x, dense_batch(batches[0])) and x[:, 0].sum() == 0
    assert np.array_equal(y, labels[0]) and "RateEncoder" in source
    assert [L["trainable"] for L in layers] == [False, True, False]
    for L, lw, p in zip(layers, weights.layers, params):
        assert np.array_equal(L["ff"], lw.ff) and L["v_th"] == p.v_th
        assert (L["a_v"], L["a_vI"], L["a_I"]) == pytest.approx(BRIAN2.propagators(p))
        assert (L["rec"] is None) == (lw.rec is None)
        if lw.rec is not None:
            assert np.array_equal(L["rec"], lw.rec) and np.array_equal(L["mask"], lw.rec_mask)
    assert layers[1]["mask"].sum() < 30 * 29                          # the sparse reservoir, not all-to-all
    assert set(layers[2]["rec"][layers[2]["mask"]]) == {LATERAL_WEIGHT}


@pytest.mark.skipif(not os.environ.get("SNNTORCH_PYTHON"), reason="set SNNTORCH_PYTHON to a Python with snnTorch")
def test_snntorch_network_fires_like_ours(tmp_path):
    from rsnn_brian.reference.simulate import simulate
    snnt, bench = load_script("benchmarks", "snntorch_bptt"), load_script("benchmarks", "bench_scaling")
    weights, params, labels, batches = bench.network(100, 100, 4, 1)
    snnt.write_network(tmp_path / "net.npz", weights, params, batches[0], labels[0])
    res = snnt.run_child(os.environ["SNNTORCH_PYTHON"], tmp_path / "net.npz", 1, 1)
    ref = simulate(weights, params, batches[0])
    ours = [ref.counts(k).sum() / 4 for k in (1, 2)]
    assert ours[0] > 50 and res["spikes_per_sample"][:2] == pytest.approx(ours, rel=0.15)
    assert res["peak_rss_mb"] >= res["start_rss_mb"] > 100 and res["batch"] == 4 and res["steps"] == 100


def test_scaling_figure_draws_the_csv(tmp_path):
    import pandas as pd
    fig_mod = load_script("figures", "scaling")
    rows = [dict(impl=impl, sweep=s, T=t, n_hidden=n, batch=16, ms_per_sample=f * t * n, cpu_ms_per_sample=f * t,
                 peak_mb=f * 100 + t)
            for impl, f in (("st-rsbp", 1.0), ("snntorch-bptt", 3.0))
            for s, t, n in (("T", 100, 400), ("T", 800, 400), ("N", 400, 100), ("N", 400, 400))]
    pd.DataFrame(rows).to_csv(tmp_path / "s.csv", index=False)
    fig = fig_mod.draw(fig_mod.tidy(tmp_path / "s.csv"))
    ax = fig.axes[0]                                                  # ms per sample against T
    got = sorted((tuple(line.get_xdata()), tuple(line.get_ydata())) for line in ax.get_lines()
                 if len(line.get_xdata()))
    assert got == [((100, 800), (40000.0, 320000.0)), ((100, 800), (120000.0, 960000.0))]
    colours = [[line.get_color() for line in a.get_lines() if len(line.get_xdata())] for a in fig.axes]
    assert all(c == colours[0] for c in colours) and len(set(colours[0])) == 2   # one colour per implementation
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"
    fig_mod.main([str(tmp_path / "s.csv"), "--out", str(tmp_path / "out")])
    assert (tmp_path / "out" / "scaling.png").stat().st_size > 1000 and (tmp_path / "out" / "scaling.pdf").is_file()
    pd.DataFrame({"impl": ["x"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(SystemExit, match="not a bench_scaling.py CSV"):
        fig_mod.tidy(tmp_path / "bad.csv")


def test_blas_kernels_refuses_no_batches(capsys):
    """benchmarks/blas_kernels.py: fewer than one batch is a one-line usage error, before anything runs."""
    mod = load_script("benchmarks", "blas_kernels")
    with pytest.raises(SystemExit):
        mod.main(["--batches", "0"])
    assert "--batches must be at least 1" in capsys.readouterr().err
