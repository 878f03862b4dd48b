"""Frozen arrays, reservoir self-connections and Dale-signed reservoir weights as run settings."""

import tomllib

import numpy as np
import pytest

from rsnn_brian.cli import main as cli_main
from rsnn_brian.config import TrainConfig, load_config
from rsnn_brian.connectivity import init_weights, init_weights_with_types, initial_weights
from rsnn_brian.training import load_checkpoint, train

SMALL = dict(dataset="builtin", architecture="784-30-R20-10", thresholds=(10.0, 10.0, 10.0),
             batch_size=16, lr=0.004, device="numpy", seed=4, epochs=1, train_limit=48, test_limit=16)


def test_settings_parse_and_refuse_in_one_line(tmp_path):
    cfg = TrainConfig(**SMALL, frozen="rec2, ff1")
    assert cfg.frozen == "ff1,rec2" and cfg.frozen_arrays() == ["ff1", "rec2"]   # the architecture's order
    path = tmp_path / "c.toml"
    path.write_text('architecture = "784-30-R20-10"\nthresholds = [10.0, 10.0, 10.0]\nfrozen = ["ff3", "ff1"]\n'
                    'autapses = true\nreservoir_weights = "dale"\n')
    loaded = load_config(path)
    assert (loaded.frozen, loaded.autapses, loaded.reservoir_weights) == ("ff1,ff3", True, "dale")
    assert TrainConfig().frozen_arrays() == [] and not TrainConfig().autapses
    for bad, msg in [(dict(frozen="ff9"), "'ff9' is not a trained array of 784-30-R20-10"),
                     (dict(frozen="rec3"), "arrays: ff1, ff2, ff3, rec2"),
                     (dict(reservoir_weights="dale", architecture="784-30-10", thresholds=(10.0, 10.0)),
                      "needs a reservoir layer"),
                     (dict(reservoir_weights="dale", recurrent="all"), "needs a reservoir layer"),
                     (dict(reservoir_weights="signed"), "reservoir_weights")]:
        with pytest.raises(ValueError, match=msg) as err:
            TrainConfig(**{**SMALL, **bad})
        assert "\n" not in str(err.value)


def test_initial_weights_dale_and_autapses():
    base = init_weights("784-30-R20-10", np.random.default_rng(4))
    same = initial_weights("784-30-R20-10", 4)
    for a, b in zip(base.to_arrays().values(), same.to_arrays().values()):
        np.testing.assert_array_equal(a, b)                 # the trainer's weights are unchanged by default
    dale = initial_weights("784-30-R20-10", 4, reservoir_weights="dale")
    _, types = init_weights_with_types("784-30-R20-10", np.random.default_rng(4))
    inh = types[1]
    lw, lw0 = dale.layers[1], base.layers[1]
    np.testing.assert_array_equal(lw.ff, lw0.ff)
    np.testing.assert_array_equal(lw.rec_mask, lw0.rec_mask)
    post, pre = np.nonzero(lw.rec_mask)
    np.testing.assert_array_equal(lw.rec[post, pre], np.where(inh[pre], -1.0, 1.0))
    assert np.all(lw.rec[~lw.rec_mask] == 0) and inh.any() and (~inh).any()
    auto = initial_weights("784-30-R20-10", 4, autapses=True)
    assert auto.allow_autapses and np.diag(auto.layers[1].rec_mask).any()
    assert not np.diag(base.layers[1].rec_mask).any()


def test_a_frozen_array_never_moves_and_the_others_learn(tmp_path):
    res = train(TrainConfig(**SMALL, frozen="ff1", regulariser=True), tmp_path / "run", progress=False)
    start = initial_weights(SMALL["architecture"], SMALL["seed"])
    end, _, _ = load_checkpoint(tmp_path / "run" / "checkpoints" / "latest.npz")
    np.testing.assert_array_equal(end.layers[0].ff, start.layers[0].ff)
    assert not np.array_equal(end.layers[1].ff, start.layers[1].ff)
    assert not np.array_equal(end.layers[1].rec, start.layers[1].rec)
    assert len(res.metrics) == 1


def test_autapses_and_dale_train_resume_and_keep_their_synapses(tmp_path):
    run = tmp_path / "run"
    args = ["--dataset", "builtin", "--arch", "784-30-R20-10", "--thresholds", "10,10,10", "--batch-size", "16",
            "--device", "numpy", "--seed", "4", "--train-limit", "48", "--test-limit", "16", "--epochs", "1",
            "--autapses", "--reservoir-weights", "dale", "--frozen", "ff2"]
    assert cli_main(["train", *args, "--out", str(run)]) == 0
    cfg = tomllib.loads((run / "config.toml").read_text())
    assert (cfg["autapses"], cfg["reservoir_weights"], cfg["frozen"]) == (True, "dale", "ff2")
    start = initial_weights("784-30-R20-10", 4, autapses=True, reservoir_weights="dale")
    w, _, _ = load_checkpoint(run / "checkpoints" / "latest.npz")       # a checkpoint with self-connections
    assert w.allow_autapses and np.diag(w.layers[1].rec_mask).any()
    np.testing.assert_array_equal(w.layers[1].rec_mask, start.layers[1].rec_mask)
    np.testing.assert_array_equal(w.layers[1].ff, start.layers[1].ff)                 # ff2 frozen
    assert cli_main(["train", "--resume", "--epochs", "2", "--out", str(run)]) == 0   # and it resumes
    w2, _, st = load_checkpoint(run / "checkpoints" / "latest.npz")
    assert st["epoch"] == 2 and not np.array_equal(w2.layers[1].rec, w.layers[1].rec)
    np.testing.assert_array_equal(w2.layers[1].ff, start.layers[1].ff)
