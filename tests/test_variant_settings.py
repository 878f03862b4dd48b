"""The authors'-code variants that used to be set on a Trainer by hand are TrainConfig settings:
``discretisation = "euler"`` (the authors' update in the simulator, the S-PSPs and the tables) and
``effect_ratio_files`` (tables read from text files of quartic rows)."""

from __future__ import annotations

import dataclasses
import tomllib

import numpy as np
import pytest

from rsnn_brian.cli import main as cli_main
from rsnn_brian.config import TrainConfig
from rsnn_brian.engine import resolve_tables
from rsnn_brian.engine.effect_ratio import EffectRatioTable, load_reference_table
from rsnn_brian.engine.neuron import BRIAN2, EULER
from rsnn_brian.reference.simulate import simulate
from rsnn_brian.training import Trainer, make_simulator

# thresholds low enough that the output layer fires (else only the regulariser, off here, would move weights)
SMALL = dict(dataset="builtin", architecture="784-30-R20-10", thresholds=(5.0, 5.0, 2.0), n_steps=150,
             regulariser=False, batch_size=8, lr=0.004, device="numpy", seed=5, train_limit=16, test_limit=10, epochs=1)


def _step(tr: Trainer) -> dict:
    """Two training steps of 8 samples (Adam's first step is +-lr wherever a gradient is not 0, so one step
    would hide how large the gradients were); the weights after them."""
    tr.sim = tr.sim or make_simulator(tr.cfg, tr.arch, tr.params)
    tr.step(np.arange(8), 0)
    tr.step(np.arange(8, 16), 0)
    return {k: v.copy() for k, v in tr.weights.trainable().items()}


def test_euler_is_a_setting_checked_against_the_device():
    with pytest.raises(ValueError, match="discretisation = 'euler' steps the neurons in the NumPy simulator only"):
        TrainConfig(discretisation="euler")                         # the default device is Brian2's
    with pytest.raises(ValueError, match="discretisation must be one of"):
        TrainConfig(discretisation="rk4", device="numpy")
    cfg = TrainConfig(**SMALL, discretisation="euler")
    again = TrainConfig.from_dict(tomllib.loads(cfg.to_toml()))
    assert again == cfg and again.discretisation == "euler"
    assert TrainConfig().discretisation == "brian2" and TrainConfig().effect_ratio_files is None


def test_euler_steps_the_simulator_the_spsps_and_the_tables(tmp_path):
    tr = Trainer(TrainConfig(**SMALL, discretisation="euler"), tmp_path / "euler", progress=False)
    assert tr.engine.discretisation == EULER
    made = resolve_tables(None, tr.params, tr.cfg.n_steps, discretisation=EULER)[1:]
    assert all(np.array_equal(a.coeffs, b.coeffs) for a, b in zip(tr.tables, made))
    brian = Trainer(TrainConfig(**SMALL), tmp_path / "brian2", progress=False)
    assert brian.engine.discretisation == BRIAN2
    assert not np.allclose(tr.tables[0].coeffs, brian.tables[0].coeffs)       # the setting changes the tables
    inputs = tr.train_set.inputs(np.arange(4), 0)
    rec = make_simulator(tr.cfg, tr.arch, tr.params).run(tr.weights, inputs)
    want = simulate(tr.weights, tr.params, inputs, discretisation=EULER)
    other = simulate(tr.weights, tr.params, inputs, discretisation=BRIAN2)
    for k in (1, 2, 3):
        assert [s.step.tolist() for s in rec.layers[k]] == [s.step.tolist() for s in want.layers[k]]
    assert any(a.step.tolist() != b.step.tolist() for a, b in zip(rec.layers[1], other.layers[1]))


def test_euler_setting_trains_as_the_hand_set_trainer_did(tmp_path):
    """The setting gives bit for bit the step of a Trainer whose engine, tables and simulator were set by
    hand (how protocols/authors_variants.py did it before the setting existed)."""
    from rsnn_brian.training.simulators import _NumpySimulator
    setting = Trainer(TrainConfig(**SMALL, discretisation="euler", refractory="3 ms"), tmp_path / "a",
                      progress=False)
    by_hand = Trainer(TrainConfig(**SMALL, refractory="3 ms"), tmp_path / "b", progress=False)
    by_hand.engine = dataclasses.replace(by_hand.engine, discretisation=EULER)
    by_hand.tables = resolve_tables(None, by_hand.params, by_hand.cfg.n_steps, discretisation=EULER)[1:]
    by_hand.sim = _NumpySimulator(by_hand.params, EULER)
    plain = Trainer(TrainConfig(**SMALL, refractory="3 ms"), tmp_path / "c", progress=False)
    w_setting, w_hand, w_plain = _step(setting), _step(by_hand), _step(plain)
    assert all(np.array_equal(w_setting[k], w_hand[k]) for k in w_hand)
    assert not all(np.array_equal(w_setting[k], w_plain[k]) for k in w_plain)


def _write_tables(folder, tables) -> list[str]:
    paths = []
    for k, t in enumerate(tables, start=1):
        path = folder / f"p_layer{k}.txt"
        np.savetxt(path, t.coeffs)
        paths.append(str(path))
    return paths


def test_effect_ratio_files_replace_the_tables(tmp_path):
    base = Trainer(TrainConfig(**SMALL), tmp_path / "base", progress=False)
    other = [EffectRatioTable(t.coeffs * 1.5) for t in base.tables]     # any tables unlike the default ones
    paths = _write_tables(tmp_path, other)
    cfg = TrainConfig(**SMALL, effect_ratio_files=paths)              # a TOML list becomes one text
    assert cfg.table_files() == paths and cfg.effect_ratio_files == ",".join(paths)
    tr = Trainer(cfg, tmp_path / "files", progress=False)
    assert all(np.array_equal(got.coeffs, want.coeffs) for got, want in zip(tr.tables, other))   # %.18e: exact
    by_hand = Trainer(TrainConfig(**SMALL), tmp_path / "hand", progress=False)
    by_hand.tables = other
    w_files, w_hand, w_base = _step(tr), _step(by_hand), _step(base)
    assert all(np.array_equal(w_files[k], w_hand[k]) for k in w_hand)
    assert not all(np.array_equal(w_files[k], w_base[k]) for k in w_base)


def test_effect_ratio_files_bad_input_is_one_line(tmp_path):
    with pytest.raises(ValueError, match="has 3 layers with incoming weights, got 2 files"):
        TrainConfig(**SMALL, effect_ratio_files="a.txt,b.txt")
    with pytest.raises(FileNotFoundError, match="effect-ratio table file .*nope.txt does not exist"):
        load_reference_table(tmp_path / "nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3\n4 5 6\n")
    with pytest.raises(ValueError, match="bad.txt: .*need rows of 5 numbers"):
        load_reference_table(bad)
    one = tmp_path / "one.txt"
    one.write_text("0 0 0 1 2\n")
    assert isinstance(load_reference_table(one), EffectRatioTable) and load_reference_table(one).n_pre_max == 1
    out = tmp_path / "run"
    code = cli_main(["train", "--dataset", "builtin", "--arch", "784-30-R20-10", "--device", "numpy",
                     "--effect-ratio-files", f"{one},{one},{tmp_path / 'missing.txt'}", "--out", str(out)])
    assert code == 2


def test_authors_variants_protocol_uses_the_settings(tmp_path, monkeypatch):
    from script_loader import ROOT, load_script
    monkeypatch.syspath_prepend(str(ROOT / "protocols"))     # the scripts import protocols/_protocol.py
    mod = load_script("protocols", "authors_variants")
    base = Trainer(TrainConfig(**SMALL), tmp_path / "base", progress=False)
    paths = _write_tables(tmp_path, base.tables)
    res = mod.main(["--quick", "--euler", "--refractory", "3 ms", "--tables", *paths, "--out", str(tmp_path / "av")])
    cfg = tomllib.loads((tmp_path / "av" / "config.toml").read_text())
    assert cfg["config.discretisation"] == "euler" and cfg["config.device"] == "numpy"
    assert cfg["config.effect_ratio_files"] == ",".join(paths)
    assert 0 <= res["test_accuracy"] <= 100
    with pytest.raises(SystemExit, match="authors_variants.py: effect_ratio_files: .* got 1 files"):
        mod.main(["--quick", "--tables", paths[0], "--out", str(tmp_path / "av2")])
