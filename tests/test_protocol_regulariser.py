"""protocols/regulariser.py --quick: the grid's per-array lambdas reach the runs, and the analysis's numbers
are those of the checkpoints and of the encoder (recomputed here, not only that files appear)."""

import json
import sys

import numpy as np
import pandas as pd
import pytest
from script_loader import ROOT, load_script

sys.path.insert(0, str(ROOT / "protocols"))          # the script imports protocols/_protocol.py
FF1_LAMBDA = {"lambda 10 everywhere": 10.0, "ff1 lambda 0.3": 0.3, "ff1 lambda 0.1": 0.1, "ff1 lambda 0.03": 0.03,
              "ff1 only": 10.0}


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    mod = load_script("protocols", "regulariser")
    out = mod.main(["--quick", "--out", str(tmp_path_factory.mktemp("regulariser") / "r")])
    return mod, out


def _runs(mod, out):
    from _protocol import slug
    return {name: out / "runs" / f"{slug(name)}-seed0" for name in mod.SETTINGS}


def test_grid_trains_every_setting_with_its_lambdas(quick):
    from rsnn_brian.training.rundir import RunDir
    mod, out = quick
    man = json.loads((out / "manifest.json").read_text())
    assert man["protocol"] == "regulariser" and man["quick"] is True and man["seeds"] == [0]
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.condition) == list(mod.SETTINGS)
    for name, run in _runs(mod, out).items():
        cfg = RunDir(run).load_config()
        lam = mod.SETTINGS[name]
        assert cfg.regulariser is (lam is not False) and cfg.batch_size == 8 and cfg.architecture == "784-20-R20-10"
        want = {} if lam in (None, False) else dict((k, float(v)) for k, v in (p.split("=") for p in lam.split(",")))
        assert cfg.regulariser_lambdas_by_array() == want
    settings = pd.read_csv(out / "settings.csv").set_index("setting")
    np.testing.assert_allclose(settings.loc[list(mod.SETTINGS), "test_accuracy"], metrics.test_accuracy)
    assert settings.loc["ff1 lambda 0.03", "regulariser"] == "lambda 10; ff1=0.03"
    assert settings.loc["off", "regulariser"] == "off"


def test_regulariser_shrinks_the_arrays_it_is_on(quick):
    mod, out = quick
    st = pd.read_csv(out / "weight_stats.csv")
    mean = st[st.group == "all"].set_index(["setting", "array"])["mean_abs"]
    for array in ("ff1", "ff2", "rec2", "ff3"):
        assert mean["lambda 10 everywhere", array] < mean["off", array] - 1e-3
    assert mean["ff1 only", "ff1"] < mean["all but ff1 (ff1=0)", "ff1"] - 1e-3
    assert mean["all but ff1 (ff1=0)", "ff2"] < mean["ff1 only", "ff2"] - 1e-3
    # U(-1, 1): |w| uniform on (0, 1), 22 % of it in 0.03-0.25
    init = st[(st.setting == "initial") & (st.group == "all")]
    np.testing.assert_allclose(init.mean_abs, 0.5, atol=0.03)
    np.testing.assert_allclose(init.share_in_range, 0.22, atol=0.04)


def test_weight_stats_are_the_checkpoints(quick):
    from rsnn_brian.training.checkpoint import load_checkpoint
    from rsnn_brian.training.rundir import RunDir
    mod, out = quick
    st = pd.read_csv(out / "weight_stats.csv")
    act = pd.read_csv(out / "pixel_activity.csv")
    assert act.images.nunique() == 1 and len(act) == 784
    a = act.activity.to_numpy()
    lo, hi = mod.QUICK_RARE
    rare = (a >= lo) & (a <= hi)
    assert rare.sum() > 5
    for name, run in _runs(mod, out).items():
        w, opt, _ = load_checkpoint(run / "checkpoints" / "latest.npz")
        mine = st[st.setting == name].set_index(["array", "group"])
        ff1 = np.abs(w.trainable()["ff1"])
        np.testing.assert_allclose(mine.loc[("ff1", "all"), "q0.5"], np.median(ff1))
        r = ff1[:, rare]
        assert mine.loc[("ff1", "rare"), "n_weights"] == r.size
        np.testing.assert_allclose(mine.loc[("ff1", "rare"), "share_in_range"], ((r >= 0.03) & (r <= 0.25)).mean())
        np.testing.assert_allclose(mine.loc[("ff1", "rare"), "share_below"], (r < 0.03).mean())
        rec = np.abs(w.trainable()["rec2"][w.trainable_masks()["rec2"]])
        np.testing.assert_allclose(mine.loc[("rec2", "all"), "q0.95"], np.quantile(rec, 0.95))
        assert mine.loc[("rec2", "all"), "n_weights"] == rec.size
        ratio = mod.reg_ratio(w, opt, RunDir(run).load_config())
        if mod.SETTINGS[name] is False:
            assert ratio == {} and np.isnan(mine.loc[("ff1", "all"), "reg_to_adam_rms_median"])
        elif name in FF1_LAMBDA:           # spec 5: lam beta (w / L) exp(beta (S_i - 1)), beta 0.04, L 8
            v_hat = opt["v.ff1"] / (1 - 0.999 ** int(opt["t"]))
            w1 = w.trainable()["ff1"]
            S = ((w1 / 8) ** 2).sum(axis=1, keepdims=True) / (w1.shape[1] + 1)
            g = np.abs(FF1_LAMBDA[name] * 0.04 * (w1 / 8) * np.exp(0.04 * (S - 1)))
            np.testing.assert_allclose(ratio["ff1"], g / (np.sqrt(v_hat) + 1e-8), rtol=1e-9)
            np.testing.assert_allclose(mine.loc[("ff1", "rare"), "reg_to_adam_rms_median"],
                                       np.median(ratio["ff1"][:, rare]))
        bands = mine.loc["ff1"].drop("all")
        assert bands.n_pixels.sum() == 784 and bands.n_weights.sum() == ff1.size


def test_pixel_activity_is_the_encoders():
    """The computed probability of at least one spike per sample against spikes the encoder draws."""
    from rsnn_brian.data.encoders import EncoderSettings, RateEncoder
    from rsnn_brian.data.images import load_builtin
    mod = load_script("protocols", "regulariser")
    images = load_builtin("train")[0].reshape(-1, 784)[:30]
    T, epochs = 60, 30
    enc = RateEncoder(images, EncoderSettings(n_steps=T, redraw=True, seed=3))
    seen = np.zeros(784)
    for e in range(epochs):
        for k in range(len(images)):
            seen[np.unique(enc.train(k, e).neuron)] += 1
    measured = seen / (epochs * len(images))
    computed = mod.pixel_activity(images, T)
    assert np.all(measured[computed == 0] == 0)
    sd = np.sqrt(computed * (1 - computed) / (epochs * len(images)))
    assert np.all(np.abs(measured - computed) <= 5 * sd + 1e-3)
    assert np.abs(measured - computed).mean() < 0.01
    # T - 1 steps: with T steps the formula is visibly off for the brighter pixels
    wrong = 1 - (1 - images / (5.5 * 255.0)) ** T
    assert np.abs(measured - wrong.mean(axis=0)).max() > np.abs(measured - computed).max()


def test_abs_stats_and_bands():
    mod = load_script("protocols", "regulariser")
    s = mod.abs_stats(np.array([-0.01, 0.03, -0.1, 0.25, 0.3, -2.0]))
    assert s["n_weights"] == 6 and s["share_below"] == 1 / 6 and s["share_in_range"] == 3 / 6
    assert s["share_above"] == 2 / 6 and s["q0.5"] == pytest.approx(0.175)
    b = mod.bands(np.array([0.0, 0.0005, 0.001, 0.005, 0.0051, 0.05]), (0.001, 0.005))
    assert list(b) == ["silent", "below", "rare", "rare", "above", "active"]


def test_analyse_mode_reads_runs_and_refuses_a_folder_that_is_none(quick, tmp_path):
    mod, out = quick
    run = _runs(mod, out)["off"]
    again = mod.main(["--quick", "--analyse", str(run), "--out", str(tmp_path / "a")])
    a = pd.read_csv(again / "settings.csv")
    b = pd.read_csv(out / "settings.csv").set_index("setting").loc["off"]
    assert len(a) == 1 and a.setting[0] == "off" and a.run[0] == "off-seed0"
    np.testing.assert_allclose(a.loc[0, ["rare_share_in_range", "ff1_median_abs", "test_accuracy"]].astype(float),
                               b[["rare_share_in_range", "ff1_median_abs", "test_accuracy"]].astype(float))
    with pytest.raises(SystemExit, match="is not a run directory"):
        mod.main(["--analyse", str(tmp_path), "--out", str(tmp_path / "b")])
    with pytest.raises(SystemExit, match="checkpoint epoch-009.npz not found"):
        mod.main(["--analyse", str(run), "--checkpoint", "epoch-009.npz", "--out", str(tmp_path / "c")])
