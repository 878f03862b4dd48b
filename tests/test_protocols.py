"""The protocols in protocols/ run in --quick mode and write what they say, with the right numbers.

Each test runs one script's ``main`` (seconds: tiny networks, the NumPy
simulator or Brian2's numpy target) and checks its results folder against a
direct computation, not only that files appeared.
"""

import json
import sys
import tomllib

import numpy as np
import pandas as pd
import pytest
from script_loader import ROOT, load_script

sys.path.insert(0, str(ROOT / "protocols"))          # the scripts import protocols/_protocol.py


def _folder_ok(out, protocol, quick=True):
    man = json.loads((out / "manifest.json").read_text())
    assert man["protocol"] == protocol and man["quick"] is quick
    assert {"numpy", "rsnn_brian", "python"} <= set(man["versions"]) and man["seconds"] >= 0
    assert man["cpu"] and man["blas"] and all("architecture" in b for b in man["blas"])   # rundir.machine()
    assert isinstance(man["seeds"], list)
    cfg = tomllib.loads((out / "config.toml").read_text())
    assert cfg
    return man, cfg


def test_single_neuron(tmp_path):
    mod = load_script("protocols", "single_neuron")
    out = mod.main(["--quick", "--out", str(tmp_path / "sn")])
    _folder_ok(out, "single_neuron")
    fi = pd.read_csv(out / "fi_curve.csv")
    duration = mod.QUICK["duration_s"]
    wide = fi.pivot_table(index=["setting", "current"], columns="source", values="rate_hz")
    # Brian2 counts whole spikes in the window: within one spike of the closed form
    assert (wide["Brian2"] - wide["closed form"]).abs().max() <= 1.0 / duration + 1e-9
    assert wide["Brian2"].max() > 50
    rio = pd.read_csv(out / "rate_curve.csv")
    for _, r in rio.groupby("setting"):
        assert r["output_rate_hz"].iloc[0] == 0 and r["output_rate_hz"].is_monotonic_increasing
    tr, sp = pd.read_csv(out / "traces.csv"), pd.read_csv(out / "spikes.csv")
    for name, _tau_m, v_th in mod.SETTINGS:
        v = tr[(tr.setting == name) & (tr.variable == "v")].set_index("time_ms")["value"]
        spikes = sp[sp.setting == name]["time_ms"]
        assert len(spikes) > 2
        assert (v.loc[spikes] > v_th).all()                 # recorded before the threshold test
        assert set(v.index[v > v_th]) == set(spikes)        # and only there
        after = [t + 1.0 for t in spikes if t + 1.0 in v.index]
        assert np.all(v.loc[after].to_numpy() == 0.0)       # reset to 0, held while refractory


def test_spike_train_level(tmp_path):
    from rsnn_brian.engine import load_reference_table
    mod = load_script("protocols", "spike_train_level")
    out = mod.main(["--quick", "--out", str(tmp_path / "stl")])
    man, _ = _folder_ok(out, "spike_train_level")
    k = pd.read_csv(out / "psp_kernel.csv")
    for name, tau_m in mod.KERNEL_SETTINGS.items():
        h = k[k.setting == name]
        t_peak = np.log(tau_m / 8.0) * tau_m * 8.0 / (tau_m - 8.0)        # ms, of the continuous kernel
        assert abs(h.loc[h.psp.idxmax(), "time_ms"] - t_peak) <= 1.0
    ident = pd.read_csv(out / "spsp_identity.csv")
    fired = ident[ident["count"] > 0]
    assert len(fired) > 10 and set(ident.layer) == {1, 2, 3}
    np.testing.assert_allclose(fired.total_psp, fired.v_sum_at_spikes, rtol=1e-9)
    assert (ident[ident["count"] == 0].total_psp == 0).all()
    assert man["max_identity_error"] < 1e-9
    # firing count ~ total PSP / v_th: v > v_th at a spike, so a_i / v_th >= o_i
    assert (fired.total_psp / fired.v_th >= fired["count"] - 1e-9).all()
    er = pd.read_csv(out / "effect_ratio.csv")
    theirs = er[er.source == "authors' table"]
    table = load_reference_table(ROOT / "figures" / "reference" / "effect_ratio_poly_taum64_T400.txt")
    np.testing.assert_allclose(theirs.mean_spsp, table.value(theirs.n_pre.to_numpy(), theirs.n_post.to_numpy()))
    np.testing.assert_allclose(theirs.effect_ratio,
                               table.derivative(theirs.n_pre.to_numpy(), theirs.n_post.to_numpy()))
    assert set(er.source) == {"authors' table", "this package (Brian2 discretisation)"}


def test_network_activity(tmp_path):
    import rsnn_brian as rb
    mod = load_script("protocols", "network_activity")
    out = mod.main(["--quick", "--out", str(tmp_path / "na")])
    _folder_ok(out, "network_activity")
    run = json.loads((out / "run.json").read_text())
    acts = {s: rb.ActivityRecording.load(out / f"activity_{s}.npz") for s in ("initial", "trained")}
    assert acts["trained"].n_samples == mod.TRACE_SAMPLES
    assert acts["initial"].recording.layers[0] == acts["trained"].recording.layers[0]     # same inputs
    counts = pd.read_csv(out / "output_counts.csv")
    for state, act in acts.items():
        got = counts[counts.state == state].pivot(index="sample", columns="neuron", values="count").to_numpy()
        np.testing.assert_array_equal(got, act.recording.counts(3))
    conf = pd.read_csv(out / "confusion.csv")
    assert conf["count"].sum() == run["n_test"]
    assert conf[conf.true == conf.predicted]["count"].sum() / run["n_test"] * 100 == pytest.approx(
        run["test_accuracy"])
    hist = pd.read_csv(out / "weight_hist.csv")
    from rsnn_brian.training.api import open_run
    opened = open_run(run["run_dir"])
    n_syn = {k: int(m.sum()) if k in opened.weights.trainable_masks() else v.size
             for k, v in opened.weights.trainable().items() for m in [opened.weights.trainable_masks().get(k)]}
    for (_state, name), g in hist.groupby(["state", "array"]):
        assert g["count"].sum() == n_syn[name]
    with np.load(out / "receptive_fields.npz") as f:
        np.testing.assert_array_equal(f["trained"], opened.weights.layers[0].ff[:mod.RF_NEURONS].astype(np.float32))


TRAINING = {   # script: (conditions it trains, a config field checked in each run directory)
    "fashion_mnist": (["fashion-mnist-b16"], {"batch_size": 8}),
    "mnist": (["mnist-paper"], {"regulariser": True}),
    "fsdd": (["fsdd-official"], {"tau_m": "128 ms"}),
    "recurrence": (["recurrent 784-400-R400-10", "feed-forward 784-400-400-10", "shallow 784-400-10"], {}),
    "sweeps": (["tau_m 32 ms", "tau_m 128 ms"], {}),
    "batch_size": (["batch 1", "batch 4"], {}),
    "gradients": (["gradient reference", "gradient exact"], {}),
}


@pytest.mark.parametrize("script", list(TRAINING))
def test_training_protocols(tmp_path, script):
    from _protocol import slug
    names, fields = TRAINING[script]
    summary = load_script("protocols", script).main(["--quick", "--out", str(tmp_path / script)])
    out = tmp_path / script
    _folder_ok(out, script)
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(summary["condition"]) == names
    for name in names:
        run = out / "runs" / f"{slug(name)}-seed0"
        cfg = tomllib.loads((run / "config.toml").read_text())
        assert cfg["dataset"] == "builtin" and cfg["device"] == "numpy"
        for k, v in fields.items():
            assert cfg[k] == v
        own = pd.read_csv(run / "metrics.csv")
        mine = metrics[metrics.condition == name]
        np.testing.assert_allclose(mine["test_accuracy"], own["test_accuracy"])
        row = summary[summary.condition == name].iloc[0]
        assert row.final_mean == own["test_accuracy"].iloc[-1] and row.best_mean == own["test_accuracy"].max()
        if script == "batch_size":
            assert cfg["lr"] == pytest.approx(0.001 * np.sqrt(int(name.split()[1])))
        if script == "recurrence":
            assert cfg["architecture"] == {"recurrent": "784-20-R20-10", "feed-forward": "784-20-20-10",
                                           "shallow": "784-20-10"}[name.split()[0]]
        if script == "gradients":
            assert cfg["gradient"] == name.split()[1]


def test_mnist_settings_and_epochs():
    import argparse
    mod = load_script("protocols", "mnist")
    ap = argparse.ArgumentParser()
    mod.extra(ap)
    (name, cfg), = mod.conditions(ap.parse_args(["--settings", "b16", "--epochs", "7"])).items()
    assert name == "mnist-b16" and cfg.dataset == "mnist" and cfg.epochs == 7
    assert cfg.batch_size == 16 and cfg.lr == 0.004 and cfg.regulariser is False
    (_, paper), = mod.conditions(ap.parse_args([])).items()
    assert paper.epochs == 3 and paper.batch_size == 1 and paper.regulariser is True
    with pytest.raises(SystemExit, match="--epochs must be at least 1"):
        mod.conditions(ap.parse_args(["--epochs", "0"]))


def test_train_conditions_extends_a_finished_run_and_never_shortens_it(tmp_path):
    from _protocol import Results, quick_config, train_conditions

    from rsnn_brian.config import load_preset
    cfg = quick_config(load_preset("fashion-mnist-b16")).replace(train_limit=16, test_limit=8)
    res = Results(tmp_path / "r", "test", {}, [0], quick=True)
    one = train_conditions(res, {"a": cfg}, [0])
    assert list(one["epoch"]) == [1]
    res = Results(tmp_path / "r", "test", {}, [0], quick=True, overwrite=True)
    two = train_conditions(res, {"a": cfg.replace(epochs=2)}, [0])
    assert list(two["epoch"]) == [1, 2]
    assert two["test_accuracy"].iloc[0] == one["test_accuracy"].iloc[0]     # epoch 1 resumed, not retrained
    assert tomllib.loads((tmp_path / "r" / "runs" / "a-seed0" / "config.toml").read_text())["epochs"] == 2
    res = Results(tmp_path / "r", "test", {}, [0], quick=True, overwrite=True)
    again = train_conditions(res, {"a": cfg}, [0])                           # asks for 1: keeps the 2 done
    assert list(again["epoch"]) == [1, 2]


def test_full_runs_show_progress_and_quick_runs_stay_quiet(tmp_path, capsys):
    """A full protocol run prints which run starts, a progress bar and each epoch's line; --quick does not."""
    import logging

    from _protocol import Results, quick_config, train_conditions

    from rsnn_brian.config import load_preset
    log = logging.getLogger("rsnn_brian")
    handlers, level = list(log.handlers), log.level
    cfg = quick_config(load_preset("fashion-mnist-b16")).replace(train_limit=16, test_limit=8)
    try:
        train_conditions(Results(tmp_path / "q", "test", {}, [0], quick=True), {"a": cfg}, [0])
        quiet = capsys.readouterr().err
        assert "run 1/1" not in quiet and "epoch 1/1" not in quiet
        train_conditions(Results(tmp_path / "f", "test", {}, [0], quick=False), {"a": cfg, "b": cfg}, [3])
        err = capsys.readouterr().err
        assert "run 1/2: a, seed 3" in err and "run 2/2: b, seed 3" in err
        assert err.count("epoch 1/1: loss") == 2                    # the trainer's line per epoch, once per run
        train_conditions(Results(tmp_path / "f", "test", {}, [0], quick=False, overwrite=True), {"a": cfg}, [3])
        err = capsys.readouterr().err
        assert "run 1/1: a, seed 3 (resumed)" in err and err.count("epoch 1/1: loss") <= 1   # one handler only
    finally:
        log.handlers[:] = handlers
        log.setLevel(level)


def test_training_protocol_refuses_a_full_folder(tmp_path):
    mod = load_script("protocols", "gradients")
    with pytest.raises(SystemExit, match="holds files"):
        (tmp_path / "x").mkdir()
        (tmp_path / "x" / "f").write_text("")
        mod.main(["--quick", "--out", str(tmp_path / "x")])


def test_fsdd_speaker_conditions():
    mod = load_script("protocols", "fsdd")
    ap = __import__("argparse").Namespace(split="speaker", speakers=["theo", "george"], epochs=None, data_dir=None)
    conds = mod.conditions(ap)
    assert list(conds) == ["fsdd-speaker-theo", "fsdd-speaker-george"]
    assert all(c.split_kind == "speaker" and c.epochs == 12 and c.batch_size == 8 for c in conds.values())
    assert conds["fsdd-speaker-george"].held_out_speaker == "george"


def test_ntidigits_reader(tmp_path, capsys):
    pytest.importorskip("h5py")
    mod = load_script("protocols", "ntidigits")
    out = mod.main(["--quick", "--train", "--out", str(tmp_path / "nt")])
    _folder_ok(out, "ntidigits")
    utt = pd.read_csv(out / "utterances.csv")
    assert len(utt) == 22 and set(utt.label) == set(range(11))          # the multi-digit ones are skipped
    from rsnn_brian.data.ntidigits import load_ntidigits
    trains, labels, _ = load_ntidigits(out / "synthetic" / "n-tidigits.hdf5", "test")
    assert list(utt[utt.split == "test"].spikes) == [t.n_spikes for t in trains]
    summary = pd.read_csv(out / "summary.csv")                          # --train: the preset, shrunk
    assert list(summary.condition) == ["ntidigits"] and summary.seeds.iloc[0] == 1
    cfg = tomllib.loads((out / "runs" / "ntidigits-seed0" / "config.toml").read_text())
    assert cfg["dataset"] == "ntidigits" and cfg["architecture"] == "64-20-R20-20-11"
    assert cfg["thresholds"] == [8.0, 8.0, 8.0, 6.0] and cfg["tau_m"] == "128 ms"
    run = pd.read_csv(out / "runs" / "ntidigits-seed0" / "metrics.csv")
    assert len(run) == 1 and 0 <= run.test_accuracy.iloc[0] <= 100
    with pytest.raises(SystemExit, match="not found"):
        mod.main(["--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "nt2")])


def test_authors_variants_and_continue_at_lr(tmp_path):
    av = load_script("protocols", "authors_variants").main(["--quick", "--dale", "--out", str(tmp_path / "av")])
    _folder_ok(tmp_path / "av", "authors_variants")
    s = pd.read_csv(tmp_path / "av" / "summary.csv")
    assert s.test_accuracy.iloc[0] == av["test_accuracy"] and "dale=True" in s.variant.iloc[0]
    assert (tmp_path / "av" / "weights.npz").is_file()
    rows = load_script("protocols", "continue_at_lr").main(["--quick", "--out", str(tmp_path / "cl")])
    cont = pd.read_csv(tmp_path / "cl" / "continuation.csv")
    assert list(cont.samples) == [0, 8, 16] and list(cont.test_accuracy) == [r["test_accuracy"] for r in rows]


# -- gradient_share (moved from benchmarks/ with its test) ---------------------------------

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


def test_gradient_share_prints_one_row_per_trainable_array(capsys, monkeypatch, tmp_path):
    calls = _spy_backward(monkeypatch)
    table = load_script("protocols", "gradient_share").main(["--preset", "demo", "--batch", "2", "--steps", "2",
                                                             "--pool", "100", "--out", str(tmp_path / "gs")])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("demo, initial weights, 2 steps of 2 sample(s), regulariser lambda 10.0")
    rows = {ln.split()[0]: [float(x) for x in ln.split()[1:]] for ln in lines[2:6]}
    assert set(rows) == {"ff1", "ff2", "rec2", "ff3"}                 # 784-200-R100-10
    saved = pd.read_csv(tmp_path / "gs" / "gradient_share.csv").set_index("array")
    pd.testing.assert_frame_equal(saved, table.set_index("array"))
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
        assert saved.loc[name, "nonzero_share"] == pytest.approx(nz.mean())
    # the output layer gets an error gradient in every step (its error is never all zero)
    assert rows["ff3"][0] > 0


MINE = ["single_neuron", "spike_train_level", "network_activity", "fashion_mnist", "mnist", "fsdd", "ntidigits",
        "recurrence", "sweeps", "batch_size", "gradients", "authors_variants", "continue_at_lr", "gradient_share"]


@pytest.mark.parametrize("name", MINE)
def test_protocols_state_question_runtime_and_no_machine_paths(name):
    import re
    text = (ROOT / "protocols" / f"{name}.py").read_text()
    assert not re.search(r"""["'](/work|/home|/tmp|/Users)/""", text), name
    doc = text.split('"""')[1]
    assert "Question" in doc and "Runtime" in doc and "--quick" in doc, name
    assert f"[{name}.py]({name}.py)" in (ROOT / "protocols" / "README.md").read_text(), name


# -- rb.record_activity (feeds protocols/network_activity.py) ------------------------------

def test_record_activity_traces_agree_with_the_spikes(tmp_path):
    import rsnn_brian as rb
    from rsnn_brian.engine import check_identity
    arch = rb.parse_architecture("20-8-R6-3")
    w = rb.init_weights(arch, np.random.default_rng(0))
    for lw in w.layers:
        lw.ff *= 4
    x = (np.random.default_rng(1).random((2, 60, 20)) < 0.2).astype(float)
    cfg = rb.TrainConfig(architecture="20-8-R6-3", thresholds=[2.0, 2.0, 2.0], n_steps=60)
    act = rb.record_activity(w, inputs=x, config=cfg, neurons={1: [0, 3, 5], 3: range(3)}, target="numpy")
    assert act.traces[1]["v"].shape == (2, 60, 3) and set(act.traces) == {1, 3}
    assert act.recording.counts(1).sum() > 10 and act.recording.counts(3).sum() > 0
    # the same spikes as the NumPy reference simulator, and the S-PSP identity on them
    assert rb.simulate(w, cfg.layer_params(), list(act.recording.layers[0])) == act.recording
    assert max(check_identity(act.recording, w, cfg.layer_params())) < 1e-12
    for k in (1, 3):
        col = {n: i for i, n in enumerate(act.neurons[k])}
        for b, tr in enumerate(act.recording.layers[k]):
            sel = np.isin(tr.neuron, act.neurons[k])
            at = act.traces[k]["v"][b, tr.step[sel], [col[n] for n in tr.neuron[sel]]]
            np.testing.assert_allclose(at, tr.v[sel])                   # the trace holds v at each spike
            assert (act.traces[k]["v"][b] <= cfg.thresholds[k - 1]).sum() + sel.sum() == act.traces[k]["v"][b].size
    path = act.save(tmp_path / "a.npz")
    back = rb.ActivityRecording.load(path)
    assert back.recording == act.recording and back.neurons.keys() == act.neurons.keys()
    np.testing.assert_array_equal(back.traces[3]["I"], act.traces[3]["I"].astype(np.float32))
    spikes = back.spikes_frame()
    assert len(spikes) == sum(tr.n_spikes for layer in act.recording.layers for tr in layer)
    with pytest.raises(ValueError, match="layer 4"):
        rb.record_activity(w, inputs=x, config=cfg, neurons={4: [0]}, target="numpy")
    with pytest.raises(ValueError, match="needs inputs"):
        rb.record_activity(w)


def test_recurrence_chooses_networks_and_epochs():
    import argparse
    mod = load_script("protocols", "recurrence")
    ns = argparse.Namespace(train_limit=None, data_dir=None, epochs=1, networks=["shallow", "feed-forward"])
    conds = mod.conditions(ns)
    assert list(conds) == ["shallow 784-400-10", "feed-forward 784-400-400-10"]
    assert [c.epochs for c in conds.values()] == [1, 1]
    assert conds["shallow 784-400-10"].architecture == "784-400-10"
    assert list(conds["shallow 784-400-10"].thresholds) == [20.0, 15.0]
    every = mod.conditions(argparse.Namespace(train_limit=None, data_dir=None, epochs=None, networks=None))
    assert len(every) == 3 and {c.epochs for c in every.values()} == {3}
    with pytest.raises(SystemExit, match="unknown network deep"):
        mod.conditions(argparse.Namespace(train_limit=None, data_dir=None, epochs=None, networks=["deep"]))
