"""The command line: help and defaults, one error style, nothing left behind on a failed start."""

import subprocess
import sys

import pytest

from rsnn_brian import __version__
from rsnn_brian.cli import build_parser, main

TINY = ["--dataset", "builtin", "--arch", "784-12-R8-10", "--train-limit", "20", "--test-limit", "10",
        "--epochs", "1", "--batch-size", "10", "--device", "numpy", "--n-steps", "40"]


def _train_actions():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sub.choices["train"]._actions


def test_version_and_python_m():
    out = subprocess.run([sys.executable, "-m", "rsnn_brian", "--version"], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout.strip() == f"rsnn-brian {__version__}"


def test_every_train_option_has_help_and_shows_its_default():
    import dataclasses

    from rsnn_brian.config import TrainConfig
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    seen = set()
    for action in _train_actions():
        if action.dest == "help":
            continue
        assert action.help, f"{action.option_strings} has no help text"
        if action.dest in names:
            seen.add(action.dest)
            assert "default:" in action.help or "unset" in action.help, action.option_strings
    assert seen == names          # every config field is a flag


def test_list_presets_says_what_each_preset_is(capsys):
    assert main(["train", "--list-presets"]) == 0
    out = capsys.readouterr().out
    for name in ("demo", "fashion-mnist", "fashion-mnist-b16", "fsdd", "mnist"):
        assert f"\n{name}\n" in "\n" + out
    assert "784-400-R400-10, batch 16, lr 0.004, regulariser off" in out


def _fails(capsys, argv, status=2):
    """The command fails with this status, and the failure is one line, the last (log lines may come before)."""
    assert main(argv) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err and "report this" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("rsnn-brian "), err
    assert sum(line.startswith("rsnn-brian ") for line in err.splitlines()) == 1, err
    return last


@pytest.mark.parametrize("flags, message", [
    (["--silent-ratio", "2"], "silent_ratio must be <= 1"),
    (["--checkpoint-every", "-3"], "checkpoint_every must be >= 0"),
    (["--tau-m", "64 mV"], "unknown time unit 'mV'"),
    (["--refractory", "2.5 ms"], "whole number of time steps"),
])
def test_settings_out_of_range_are_one_line_errors(capsys, tmp_path, flags, message):
    out = tmp_path / "run"
    line = _fails(capsys, ["train", *TINY, *flags, "--out", str(out)])
    assert message in line
    assert not out.exists()


def test_out_pointing_at_a_file(capsys, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    line = _fails(capsys, ["train", *TINY, "--out", str(f)])
    assert "is a file" in line
    assert f.read_text() == "keep me"


def test_missing_brian2cuda_is_one_line_with_the_fix(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "brian2cuda", None)      # import brian2cuda -> ImportError
    out = tmp_path / "run"
    args = [a for a in TINY if a != "numpy"]
    args[args.index("--device") + 1:args.index("--device") + 1] = ["cuda_standalone"]
    line = _fails(capsys, ["train", *args, "--out", str(out)])
    assert "brian2cuda" in line and "pip install" in line
    assert not out.exists()


def test_ctrl_c_during_the_build_leaves_no_run_directory(capsys, tmp_path, monkeypatch):
    from rsnn_brian.brian.runner import Runner

    def interrupted(self, *a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(Runner, "build", interrupted)
    out = tmp_path / "run"
    args = list(TINY)
    args[args.index("numpy")] = "runtime"
    line = _fails(capsys, ["train", *args, "--out", str(out)], status=130)
    assert "interrupted" in line
    assert not out.exists()


def test_an_unforeseen_error_is_one_line_not_a_bug_report(capsys, tmp_path, monkeypatch):
    from rsnn_brian.brian.runner import Runner

    def broken(self, *a, **k):
        raise Exception("the compiler said no\nline two of its output")
    monkeypatch.setattr(Runner, "build", broken)
    out = tmp_path / "run"
    args = list(TINY)
    args[args.index("numpy")] = "runtime"
    line = _fails(capsys, ["train", *args, "--out", str(out)])
    assert "the compiler said no" in line and "RSNN_BRIAN_DEBUG" in line
    assert not out.exists()


def test_resume_takes_only_epochs(capsys, tmp_path):
    with pytest.raises(SystemExit, match="only --epochs"):
        main(["train", "--resume", "--out", str(tmp_path), "--lr", "0.1"])


def test_a_corrupt_cache_file_is_reported_with_its_path_and_recomputed(capsys, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("RSNN_BRIAN_CACHE", str(cache))
    assert main(["train", *TINY, "--out", str(tmp_path / "a")]) == 0
    tables = sorted(cache.rglob("effect_ratio_*.npz"))
    assert tables
    for t in tables:
        t.write_bytes(b"not an npz file")
    capsys.readouterr()
    with pytest.warns(RuntimeWarning, match="cache file .*effect_ratio_.*unreadable"):
        assert main(["train", *TINY, "--out", str(tmp_path / "b")]) == 0
    import pandas as pd
    ma, mb = pd.read_csv(tmp_path / "a" / "metrics.csv"), pd.read_csv(tmp_path / "b" / "metrics.csv")
    assert ma["test_accuracy"].tolist() == mb["test_accuracy"].tolist()   # the recomputed tables are the same


def test_config_file_types_are_checked(tmp_path, capsys):
    for text, message in [('regulariser = "false"', "regulariser must be true or false"),
                          ("train_limit = true", "train_limit must be a whole number"),
                          ('device = "tpu"', "device must be one of"),
                          ("epochs = 2.5", "epochs must be a whole number"),
                          ("thresholds = [20, true, 15]", "thresholds must be a number")]:
        path = tmp_path / "c.toml"
        path.write_text(text + "\n")
        line = _fails(capsys, ["train", "--config", str(path), "--out", str(tmp_path / "run")])
        assert message in line and str(path) in line
        assert not (tmp_path / "run").exists()


def _fake_fsdd(root, corrupt: str):
    """A two-digit FSDD folder (real 8 kHz WAVs of noise) with one corrupt recording."""
    import hashlib

    import numpy as np
    from scipy.io import wavfile
    rec = root / "fsdd" / "recordings"
    rec.mkdir(parents=True)
    rows = ["file,digit,speaker,index,split,sample_rate,n_samples,bytes,sha256"]
    rng = np.random.default_rng(0)
    for digit in (0, 1):
        for index in range(7):
            name = f"{digit}_theo_{index}.wav"
            wavfile.write(rec / name, 8000, (rng.standard_normal(2000) * 3000).astype(np.int16))
            if name == corrupt:
                (rec / name).write_bytes((rec / name).read_bytes()[:30])
            data = (rec / name).read_bytes()
            rows.append(f"recordings/{name},{digit},theo,{index},{'test' if index < 5 else 'train'},8000,2000,"
                        f"{len(data)},{hashlib.sha256(data).hexdigest()}")
    (root / "fsdd" / "manifest.csv").write_text("\n".join(rows) + "\n")


def test_a_corrupt_fsdd_recording_is_one_line_naming_the_file(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RSNN_BRIAN_CACHE", str(tmp_path / "cache"))
    _fake_fsdd(tmp_path / "data", corrupt="1_theo_6.wav")
    out = tmp_path / "run"
    line = _fails(capsys, ["train", "--dataset", "fsdd", "--data-dir", str(tmp_path / "data"), "--arch",
                           "78-6-10", "--device", "numpy", "--epochs", "1", "--n-steps", "100", "--out", str(out)])
    assert "1_theo_6.wav" in line
    assert not out.exists()
