"""The diagnostic scripts in benchmarks/ print the figures they must (quick settings).

Each test runs a script on tiny inputs and recomputes what it prints from
the same inputs by a direct computation, so a wrong figure fails, not only
an impossible one.
"""

import os
import re

import numpy as np
import pytest
from script_loader import ROOT, load_script


def _spy_backward(monkeypatch):
    """Record every call of rsnn_brian.engine.backward (what the script's gradients come from)."""
    import rsnn_brian.engine as E
    calls, real = [], E.backward

    def spy(rec, weights, params, labels, **kw):
        res = real(rec, weights, params, labels, **kw)
        calls.append({"rec": rec, "weights": weights, "labels": np.array(labels), "grads": res.grads})
        return res

    monkeypatch.setattr(E, "backward", spy)
    return calls


def _regulariser_mean(w: np.ndarray, mask: np.ndarray, lam=10.0, beta=0.04, limit=8.0) -> float:
    """Spec section 5, written out: mean over existing synapses of lam beta |w|/L exp(beta (S_i - 1))."""
    wm = np.where(mask, w, 0.0)
    S = ((wm / limit) ** 2).sum(axis=1) / (mask.sum(axis=1) + 1.0)
    g = lam * beta * np.abs(wm) / limit * np.exp(beta * (S - 1.0))[:, None]
    return float(g[mask].mean())


def test_gradient_share_prints_one_row_per_trainable_array(capsys, monkeypatch):
    calls = _spy_backward(monkeypatch)
    load_script("benchmarks", "gradient_share").main(["--preset", "demo", "--batch", "2", "--steps", "2",
                                                      "--pool", "100"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("demo, initial weights, 2 steps of 2 sample(s), regulariser lambda 10.0")
    rows = {ln.split()[0]: [float(x) for x in ln.split()[1:]] for ln in lines[2:]}
    assert set(rows) == {"ff1", "ff2", "rec2", "ff3"}                 # 784-200-R100-10
    for _name, (share, median, reg, mean_w) in rows.items():
        assert 0.0 <= share <= 1.0 and median >= 0.0
        assert 0.45 < mean_w < 0.55                                    # U(-1, 1) at the start
        # spec 5 at S ~ 0: lam * beta * |w| / L = 0.05 |w|, times exp(-beta) ~ 0.96
        assert reg == pytest.approx(0.05 * mean_w * 0.96, rel=0.05)

    # the figures are those of the gradients it computed: 2 steps of 2 samples, same weights
    assert len(calls) == 2
    assert all(c["rec"].batch_size == 2 and c["labels"].shape == (2,) for c in calls)
    weights = calls[0]["weights"]
    assert all(c["weights"] is weights for c in calls)                 # nothing is trained
    layers = {f"ff{k}": (lw.ff, np.ones(lw.ff.shape, bool)) for k, lw in enumerate(weights.layers, 1)}
    layers["rec2"] = (weights.layers[1].rec, weights.layers[1].rec_mask)
    assert weights.layers[1].rec_mask.sum() < weights.layers[1].rec_mask.size   # a sparse reservoir
    for name, (share, median, reg, mean_w) in rows.items():
        w, mask = layers[name]
        G = np.stack([c["grads"][name][mask] for c in calls])         # existing synapses only
        nz = G != 0
        assert share == pytest.approx(nz.mean(), abs=5e-4)            # printed with 3 decimals
        assert median == pytest.approx(np.median(np.abs(G[nz])) if nz.any() else 0.0, rel=5e-4)
        assert mean_w == pytest.approx(np.abs(w[mask]).mean(), abs=5e-4)
        assert reg == pytest.approx(_regulariser_mean(w, mask), rel=5e-4)
    # the output layer gets an error gradient in every step (its error is never all zero)
    assert rows["ff3"][0] > 0


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
                                  "protocols/speech_utterance.py"])
def test_no_machine_paths(path):
    text = (ROOT / path).read_text()
    assert not re.search(r"""["'](/work|/home|/tmp|/Users)/""", text), path
