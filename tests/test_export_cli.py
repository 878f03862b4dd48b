"""``rsnn-brian export``: a trained run's samples to NWB, neo and .npz through cli.main; its errors; the example."""

import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
from script_loader import load_script

from rsnn_brian.cli import main
from rsnn_brian.config import TrainConfig
from rsnn_brian.engine.loss import predict
from rsnn_brian.export import load_recording
from rsnn_brian.reference.simulate import simulate
from rsnn_brian.training import load_checkpoint, load_dataset, train

# about a second: one epoch of a tiny network on the NumPy simulator
TINY = dict(dataset="builtin", architecture="784-20-R10-10", thresholds=(3.0, 3.0, 2.0), batch_size=16,
            lr=0.004, device="numpy", seed=3, train_limit=16, test_limit=10, n_steps=100, epochs=1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "run"
    train(TrainConfig(**TINY), path, progress=False)
    return path


def expected(run, idx, split="test"):
    """What the run's weights do on these samples, simulated here independently of the export."""
    cfg = TrainConfig(**TINY)
    weights, _, _ = load_checkpoint(run / "checkpoints" / "latest.npz")
    ds = load_dataset(cfg, split)
    return simulate(weights, cfg.layer_params(), ds.inputs(idx, 0)), ds.labels[idx], weights


def export(*args):
    return main(["export", *map(str, args)])


def test_export_nwb_of_a_run_reads_back_equal(run, tmp_path, capsys):
    pytest.importorskip("pynwb")
    from rsnn_brian.export import read_nwb
    out = tmp_path / "run.nwb"
    assert export(run, "--split", "test", "--samples", "2:6", "--format", "nwb", "--out", out) == 0
    assert "wrote" in capsys.readouterr().out
    rec, labels, weights = expected(run, np.arange(2, 6))
    back = read_nwb(out)
    assert back.recording == rec and rec.counts(3).sum() > 0
    np.testing.assert_array_equal(back.labels, labels)
    np.testing.assert_array_equal(back.predictions, predict(rec.counts(3)))
    np.testing.assert_array_equal(back.sample_index, [2, 3, 4, 5])
    assert back.dt == 1e-3 and back.architecture == "784-20-R10-10" and back.device == "numpy"
    assert back.config_toml == (run / "config.toml").read_text()
    assert len(back.class_names) == 10
    np.testing.assert_array_equal(back.weights.to_arrays()["rec2"], weights.to_arrays()["rec2"])


def test_export_neo_of_a_run_is_read_by_neo(run, tmp_path):
    neo = pytest.importorskip("neo")
    pytest.importorskip("pynwb")
    out = tmp_path / "run_neo.nwb"
    assert export(run, "--samples", "0,3", "--format", "neo", "--out", out, "--no-weights",
                  "--checkpoint", "epoch-001.npz", "--device", "numpy") == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        block = neo.io.NWBIO(str(out), mode="r").read_block()
    rec, _, _ = expected(run, np.array([0, 3]))
    assert len(block.segments) == 2 and len(block.segments[1].spiketrains) == 784 + 20 + 10 + 10
    st = block.segments[1].spiketrains[784 + 5]
    tr = rec.layers[1][1]
    assert st.name == "hidden1[5]"
    np.testing.assert_allclose(st.magnitude, (100 + tr.step[tr.neuron == 5]) * 1e-3)


def test_a_saved_recording_is_exported_later(run, tmp_path):
    pytest.importorskip("pynwb")
    from rsnn_brian.export import read_nwb
    saved = tmp_path / "rec.npz"
    assert export(run, "--out", saved) == 0                        # .npz: the saved-recording format
    data = load_recording(saved)
    rec, _, _ = expected(run, np.arange(10))
    assert data.n_samples == 10 and data.recording == rec           # default: the first 20, here all 10
    assert export(saved, "--samples", "4:7", "--out", tmp_path / "part.nwb") == 0
    part = read_nwb(tmp_path / "part.nwb")
    assert part.recording == data.select([4, 5, 6]).recording
    np.testing.assert_array_equal(part.sample_index, [4, 5, 6])


def one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("rsnn-brian export: error: ")
    return err[0]


def test_errors_are_one_line_and_nothing_is_overwritten(run, tmp_path, capsys):
    pytest.importorskip("pynwb")
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(run / "config.toml", bare / "config.toml")
    out = tmp_path / "x.nwb"
    assert export(bare, "--out", out) == 2
    assert "has no checkpoint yet" in one_error(capsys)
    assert export(tmp_path, "--out", out) == 2
    assert "not a run directory" in one_error(capsys)
    assert export(tmp_path / "nowhere", "--out", out) == 2
    assert "neither a run directory nor a saved recording" in one_error(capsys)
    assert export(run, "--out", tmp_path / "missing" / "x.nwb") == 2
    assert "output folder" in one_error(capsys) and not (tmp_path / "missing").exists()
    assert export(run, "--samples", "5:50", "--out", out) == 2
    assert "the split has 10 samples" in one_error(capsys)
    assert export(run, "--samples", "a:b", "--out", out) == 2
    assert "START:STOP" in one_error(capsys)
    assert export(run, "--checkpoint", "epoch-009.npz", "--out", out) == 2
    assert "epoch-009.npz not found" in one_error(capsys)
    out.write_text("keep me")
    assert export(run, "--samples", "0:2", "--out", out) == 2
    assert "exists; pass --force" in one_error(capsys)
    assert out.read_text() == "keep me"
    assert export(run, "--samples", "0:2", "--out", out, "--force") == 0
    assert out.stat().st_size > 1000
    saved = tmp_path / "s.npz"
    assert export(run, "--samples", "0", "--out", saved) == 0
    capsys.readouterr()
    assert export(saved, "--device", "numpy", "--out", tmp_path / "y.nwb") == 2
    assert "--device apply to a run directory" in one_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bare", "s.npz", "x.nwb"]


def test_a_missing_extra_is_named(run, tmp_path, capsys, monkeypatch):
    """Runs without pynwb installed: the one-line error names the extra, before any simulation."""
    monkeypatch.setitem(sys.modules, "pynwb", None)
    assert export(run, "--format", "neo", "--out", tmp_path / "x.nwb") == 2
    line = one_error(capsys)
    assert "needs the package 'pynwb'" in line and line.endswith("pip install rsnn_brian[nwb]")
    assert not list(tmp_path.iterdir())


def test_the_command_line_stays_light():
    code = ("import sys\nfrom rsnn_brian.cli import build_parser\n"
            "build_parser().parse_args(['export', 'r', '--out', 'x.nwb'])\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'pynwb', 'neo', 'hdmf', 'brian2', 'pandas'}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_elephant_example_runs(tmp_path):
    pytest.importorskip("elephant")
    pytest.importorskip("pynwb")
    stats = load_script("protocols", "export_elephant").main(["--quick", "--out", str(tmp_path)])
    assert {p.name for p in tmp_path.iterdir()} >= {"recording.nwb", "recording_neo.nwb", "rates.csv",
                                                    "layers.csv", "cch.csv", "elephant.png", "run.json"}
    assert [lay["layer"] for lay in stats["layers"]] == ["input", "hidden1", "recurrent2", "output"]
    assert stats["layers"][0]["mean_rate_hz"] == pytest.approx(100, rel=0.2)   # Bernoulli p = 0.1 per 1 ms
