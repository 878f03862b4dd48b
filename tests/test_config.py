"""Configs, presets and the command line's argument handling."""

import re

import pytest

from rsnn_brian.cli import _config_from_args, build_parser
from rsnn_brian.config import TrainConfig, load_config, load_preset, preset_names


def test_defaults_are_the_papers_fashion_mnist_run():
    cfg = TrainConfig()
    assert cfg.architecture == "784-400-R400-10"
    assert cfg.thresholds == (20.0, 20.0, 15.0)
    assert (cfg.tau_m, cfg.n_steps, cfg.lr) == ("64 ms", 400, 0.001)


def test_presets_load_and_round_trip_through_toml(tmp_path):
    names = preset_names()
    assert {"demo", "fashion-mnist", "mnist"} <= set(names)
    for name in names:
        cfg = load_preset(name)
        path = tmp_path / f"{name}.toml"
        path.write_text(cfg.to_toml())
        assert load_config(path) == cfg


def test_layer_params_convert_units_to_steps():
    params = TrainConfig(tau_m="128 ms", dt="1 ms").layer_params()
    assert len(params) == 3
    assert params[0].tau_m == pytest.approx(128.0)
    assert params[0].tau_s == pytest.approx(8.0)
    assert params[0].refractory == 2
    assert [p.v_th for p in params] == [20.0, 20.0, 15.0]


@pytest.mark.parametrize("changes, message", [
    ({"dataset": "cifar"}, "dataset must be one of"),
    ({"device": "tpu"}, "device must be one of"),
    ({"thresholds": (1.0, 2.0)}, "thresholds"),
    ({"batch_size": 0}, "batch_size"),
    ({"lr": -1.0}, "lr"),
    ({"architecture": "784-R400"}, "cannot be recurrent"),
    ({"silent_ratio": -0.5}, "silent_ratio"),
    ({"samples_per_run": 0}, "samples_per_run"),
    ({"recurrent_below": "transposed"}, "recurrent_below"),
    ({"recurrent_below": "authors", "gradient": "exact"}, "needs gradient = 'reference'"),
])
def test_bad_configs_are_clear_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)


def test_unknown_key_and_bad_toml(tmp_path):
    with pytest.raises(ValueError, match="unknown config keys"):
        TrainConfig.from_dict({"epochz": 3})
    bad = tmp_path / "bad.toml"
    bad.write_text("epochs = = 3")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ValueError, match="unknown preset"):
        load_preset("nope")


def test_wrong_unit_in_config_is_reported():
    with pytest.raises(Exception, match="tau_m"):
        TrainConfig(tau_m="64 mV").layer_params()


def test_cli_overrides_preset():
    args = build_parser().parse_args(["train", "--preset", "fashion-mnist", "--epochs", "1",
                                      "--batch-size", "16", "--arch", "784-100-10"])
    cfg = _config_from_args(args)
    assert (cfg.epochs, cfg.batch_size, cfg.architecture) == (1, 16, "784-100-10")
    assert len(cfg.thresholds) == 2          # one per layer of the new architecture


def test_cli_speech_split():
    parse = build_parser().parse_args
    cfg = _config_from_args(parse(["train", "--preset", "fsdd", "--held-out-speaker", "george"]))
    assert (cfg.split_kind, cfg.held_out_speaker) == ("speaker", "george")
    cfg = _config_from_args(parse(["train", "--preset", "fsdd", "--split", "speaker"]))
    assert (cfg.split_kind, cfg.held_out_speaker) == ("speaker", None)
    assert _config_from_args(parse(["train", "--preset", "fsdd"])).split_kind == "official"
    with pytest.raises(SystemExit):
        parse(["train", "--preset", "fsdd", "--split", "random"])


def test_effect_ratio_choice():
    assert TrainConfig().effect_ratio == "brian2"
    with pytest.raises(ValueError, match="effect_ratio"):
        TrainConfig(effect_ratio="matlab")
    args = build_parser().parse_args(["train", "--preset", "fashion-mnist", "--effect-ratio", "authors"])
    assert _config_from_args(args).effect_ratio == "authors"


def test_cli_authors_options_reach_the_config_and_the_engine(tmp_path):
    from rsnn_brian.training import Trainer
    args = build_parser().parse_args(["train", "--dataset", "builtin", "--arch", "784-20-R20-10",
                                      "--silent-ratio", "0.5", "--recurrent-below", "authors"])
    cfg = _config_from_args(args)
    assert (cfg.silent_ratio, cfg.recurrent_below) == (0.5, "authors")
    tr = Trainer(cfg.replace(train_limit=20, test_limit=20, device="numpy"), tmp_path, progress=False)
    assert (tr.engine.silent_ratio, tr.engine.recurrent_below) == (0.5, "authors")
    assert _config_from_args(build_parser().parse_args(["train"])).recurrent_below == "spec"


def test_run_layout_follows_the_batch():
    """A batch-1 step simulates one sample (not one padded to a long run) unless asked otherwise."""
    assert TrainConfig(batch_size=1).run_layout == 1
    assert TrainConfig(batch_size=1, samples_per_run=64).run_layout == 64
    assert TrainConfig(batch_size=16, samples_per_run=64).run_layout == 16
    assert load_preset("fashion-mnist").run_layout == 1


def test_cli_regulariser_and_boosting_switches():
    parse = build_parser().parse_args
    cfg = _config_from_args(parse(["train", "--preset", "fashion-mnist", "--no-regulariser", "--no-boosting"]))
    assert (cfg.regulariser, cfg.boosting) == (False, False)
    cfg = _config_from_args(parse(["train", "--preset", "fashion-mnist"]))
    assert (cfg.regulariser, cfg.boosting) == (True, True)         # the paper's settings stay the default


def test_regulariser_lambdas_setting(tmp_path):
    assert TrainConfig().regulariser_lambdas is None and TrainConfig().regulariser_lambdas_by_array() == {}
    parse = build_parser().parse_args
    cfg = _config_from_args(parse(["train", "--preset", "fashion-mnist", "--regulariser-lambdas",
                                   "ff1=0.1, rec2=0"]))
    assert cfg.regulariser_lambdas == "ff1=0.1,rec2=0.0"
    assert cfg.regulariser_lambdas_by_array() == {"ff1": 0.1, "rec2": 0.0}
    assert cfg.regulariser_lambda == 10.0                           # the other arrays keep the spec's lambda
    path = tmp_path / "c.toml"                                      # a TOML table, and a round trip
    path.write_text("[learning]\nregulariser_lambdas = { ff1 = 0.03, ff3 = 1 }\n")
    cfg = load_config(path)
    assert cfg.regulariser_lambdas_by_array() == {"ff1": 0.03, "ff3": 1.0}
    path.write_text(cfg.to_toml())
    assert load_config(path) == cfg
    for bad, message in [("ff4=1", "'ff4' is not a trained array of 784-400-R400-10; arrays: ff1, ff2, ff3, rec2"),
                         ("rec1=1", "'rec1' is not a trained array"), ("ff1", "NAME=LAMBDA"),
                         ("ff1=x", "must be a number"), ("ff1=-1", ">= 0"), ("ff1=nan", ">= 0"),
                         ("ff1=1,ff1=2", "given twice")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            TrainConfig(regulariser_lambdas=bad)


def test_regulariser_lambda_setting():
    assert TrainConfig().regulariser_lambda == 10.0                  # spec section 5
    parse = build_parser().parse_args
    cfg = _config_from_args(parse(["train", "--preset", "fashion-mnist", "--regulariser-lambda", "1"]))
    assert (cfg.regulariser, cfg.regulariser_lambda) == (True, 1.0)
    assert _config_from_args(parse(["train", "--regulariser-lambda", "0"])).regulariser_lambda == 0.0
    assert TrainConfig.from_dict({"regulariser_lambda": 2}).regulariser_lambda == 2.0
    for bad in (-1.0, float("nan"), float("inf"), True, "10"):
        with pytest.raises(ValueError, match="regulariser_lambda"):
            TrainConfig(regulariser_lambda=bad)


def test_fashion_mnist_b16_preset_is_the_paper_preset_with_the_measured_changes():
    paper, b16 = load_preset("fashion-mnist"), load_preset("fashion-mnist-b16")
    assert b16 == paper.replace(batch_size=16, lr=0.004, regulariser=False, workers=2, checkpoint_every=250)
