"""train() and evaluate_run() as an API: results returned, messages logged, failed starts undone, runs extended."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rsnn_brian.training.simulators as sim_mod
from rsnn_brian.config import TrainConfig, load_config
from rsnn_brian.data.registry import FASHION_MNIST_CLASSES
from rsnn_brian.plotting import epochs_trained
from rsnn_brian.training import EvaluationResult, TrainResult, evaluate_run, load_checkpoint, save_checkpoint, train

# a few seconds per epoch on the NumPy simulator
TINY = dict(dataset="builtin", architecture="784-20-R10-10", thresholds=(10.0, 10.0, 10.0),
            batch_size=16, lr=0.004, device="numpy", seed=3, train_limit=32, test_limit=20)


def weights_of(run_dir):
    with np.load(Path(run_dir) / "checkpoints" / "weights.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def assert_same_weights(a, b):
    a, b = weights_of(a), weights_of(b)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_train_and_evaluate_return_results_and_print_nothing(tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO, logger="rsnn_brian")
    run = tmp_path / "run"
    result = train(TrainConfig(**TINY, epochs=2), run, progress=False)
    assert isinstance(result, TrainResult)
    assert (result.run_dir, result.config.epochs, result.epochs_done) == (run, 2, 2)
    assert list(result.metrics["epoch"]) == [1, 2]
    assert result.test_accuracy == result.metrics["test_accuracy"].iloc[-1]
    assert result.best_test_accuracy == result.metrics["test_accuracy"].max()
    assert result.weights_path.is_file() and result.checkpoint.is_file()
    assert result.summary().startswith(f"{run}: 2 of 2 epochs, test accuracy ")
    pd.testing.assert_frame_equal(pd.read_csv(run / "metrics.csv"), result.metrics, check_dtype=False)
    messages = [r.getMessage() for r in caplog.records if r.name == "rsnn_brian"]
    assert [m.split(":")[0] for m in messages if m.startswith("epoch ")] == ["epoch 1/2", "epoch 2/2"]
    assert list(epochs_trained(result.metrics)) == [1, 2]        # the plot's x values

    ev = evaluate_run(run, progress=False)
    assert isinstance(ev, EvaluationResult)
    assert (ev.split, ev.n_samples, ev.epoch, ev.batch_pos) == ("test", 20, 2, 0)
    assert ev.checkpoint == run / "checkpoints" / "latest.npz"
    assert ev.accuracy == pytest.approx(result.test_accuracy)
    assert list(ev.per_class) == list(FASHION_MNIST_CLASSES)     # 2 test samples per class
    assert ev.predictions.shape == (20,)
    head, per_class = ev.summary().split("\n")
    assert head == (f"{run} latest.npz (784-20-R10-10, epoch 2, batch 0): test accuracy "
                    f"{ev.accuracy:.2f} % on 20 samples in {ev.seconds:.0f} s")
    assert per_class.startswith("per class (%): T-shirt/top: ") and "Ankle boot: " in per_class
    train_ev = evaluate_run(run, split="train", limit=10, progress=False)
    assert (train_ev.split, train_ev.n_samples) == ("train", 10)
    assert capsys.readouterr() == ("", "")


def test_resume_extends_a_finished_run(tmp_path, caplog):
    """A 2-epoch run extended to 4 ends exactly as a 4-epoch run, and config.toml says 4."""
    caplog.set_level(logging.INFO, logger="rsnn_brian")
    cfg = TrainConfig(**TINY, epochs=2)
    straight = train(cfg.replace(epochs=4), tmp_path / "four", progress=False)
    run = tmp_path / "run"
    train(cfg, run, progress=False)
    extended = train(None, run, resume=True, epochs=4, progress=False)
    assert list(extended.metrics["epoch"]) == [1, 2, 3, 4]
    assert extended.config.epochs == 4 and load_config(run / "config.toml").epochs == 4
    assert not list(run.glob("*.tmp")) and not list(run.glob(".*.tmp"))
    assert sorted(p.name for p in (run / "checkpoints").glob("epoch-*.npz")) == [
        "epoch-001.npz", "epoch-002.npz", "epoch-003.npz", "epoch-004.npz"]
    assert_same_weights(tmp_path / "four", run)
    np.testing.assert_array_equal(extended.metrics["test_accuracy"], straight.metrics["test_accuracy"])
    assert list(pd.read_csv(run / "metrics.csv")["epoch"]) == [1, 2, 3, 4]
    resumed = json.loads((run / "manifest.json").read_text())["resumed"]
    assert [(r["epochs_done"], r["epochs_before"], r["epochs"]) for r in resumed] == [(2, 2, 4)]
    # nothing left to do: said, not done
    caplog.clear()
    again = train(None, run, resume=True, progress=False)
    assert again.epochs_done == 4
    assert any("all 4 epochs already done" in r.getMessage() for r in caplog.records)
    assert len(json.loads((run / "manifest.json").read_text())["resumed"]) == 1
    with pytest.raises(ValueError, match="cannot shorten"):
        train(None, run, resume=True, epochs=3, progress=False)
    with pytest.raises(ValueError, match="differs in lr"):
        train(cfg.replace(lr=0.1), run, resume=True, progress=False)
    assert load_config(run / "config.toml").epochs == 4


class _Boom(RuntimeError):
    pass


@pytest.mark.parametrize("error", [_Boom, KeyboardInterrupt])
def test_a_failed_build_leaves_no_run_directory(tmp_path, monkeypatch, error):
    """The simulator's build fails (compile error, missing brian2cuda, Ctrl-C): the new run's folders go."""
    def failing(*args, **kwargs):
        raise error("the build failed")
    monkeypatch.setattr(sim_mod, "make_simulator", failing)
    run = tmp_path / "a" / "b" / "run"
    with pytest.raises(error, match="the build failed"):
        train(TrainConfig(**TINY, epochs=1), run, progress=False)
    assert not (tmp_path / "a").exists()                     # parents made for it go too
    # a folder the caller made stays (empty), as do files another process put there meanwhile
    given = tmp_path / "given"
    given.mkdir()
    with pytest.raises(error):
        train(TrainConfig(**TINY, epochs=1), given, progress=False)
    assert given.is_dir() and not any(given.iterdir())

    def failing_after_a_visitor(*args, **kwargs):
        (run / "notes.txt").write_text("not the trainer's")
        raise error("the build failed")
    monkeypatch.setattr(sim_mod, "make_simulator", failing_after_a_visitor)
    with pytest.raises(error):
        train(TrainConfig(**TINY, epochs=1), run, progress=False)
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]


def test_a_failed_resume_removes_nothing(tmp_path, monkeypatch):
    run = tmp_path / "run"
    train(TrainConfig(**TINY, epochs=1), run, progress=False)
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    def failing(*args, **kwargs):
        raise _Boom("no")
    monkeypatch.setattr(sim_mod, "make_simulator", failing)
    with pytest.raises(_Boom):
        train(None, run, resume=True, epochs=2, progress=False)
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before


class _FakeStandalone:
    """A runner that says it is cpp_standalone, records build and runs, and simulates with NumPy."""

    device_name = "cpp_standalone"

    def __init__(self, cfg, arch, params, events):
        self.sim = sim_mod._NumpySimulator(params)
        self.arch, self.n_steps, self.samples_per_run, self.events = arch, cfg.n_steps, cfg.run_layout, events

    def build(self, weights, input_capacity=None, inputs=None):
        self.events.append(("build", sum(tr.n_spikes for tr in inputs)))

    def run(self, weights, inputs):
        # the spikes of the first batch of a run (evaluation hands over several batches at once)
        self.events.append(("run", sum(tr.n_spikes for tr in inputs[:self.samples_per_run])))
        return self.sim.run(weights, inputs)

    def close(self):
        self.events.append(("close", None))


def test_the_build_is_announced_before_the_first_progress_bar(tmp_path, monkeypatch):
    events = []
    monkeypatch.setattr(sim_mod, "make_simulator",
                        lambda cfg, arch, params, build_dir=None: _FakeStandalone(cfg, arch, params, events))
    real_bar = sim_mod.progress_bar
    monkeypatch.setattr(sim_mod, "progress_bar", lambda total, desc, *a, **k: events.append(("bar", desc))
                        or real_bar(total, desc, *a, **k))

    class Record(logging.Handler):
        def emit(self, record):
            events.append(("log", record.getMessage()))
    handler = Record(level=logging.INFO)
    logger = logging.getLogger("rsnn_brian")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        train(TrainConfig(**TINY, epochs=1), tmp_path / "run", progress=True)
        n_train = len(events)
        evaluate_run(tmp_path / "run", progress=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    for part in (events[:n_train], events[n_train:]):
        kinds = [e[0] if e[0] != "log" else e[1].split(" ")[0] for e in part]
        assert kinds[:4] == ["building", "build", "built", "bar"], part
        assert part[0][1] == "building the cpp_standalone project (once) ..."
        assert part[2][1].startswith("built the cpp_standalone project in ")
        # the runner sizes its input list from a batch like the first run's (Runner.build(inputs=))
        sizing, first_run = part[1][1], next(e[1] for e in part if e[0] == "run")
        assert sizing == first_run
        assert part[-1] == ("close", None)


def test_numpy_device_never_imports_brian2(tmp_path):
    run = tmp_path / "run"
    code = f"""
import sys
import rsnn_brian.training.trainer
assert "matplotlib" not in sys.modules and "brian2" not in sys.modules, "imported by the trainer"
from rsnn_brian.config import TrainConfig
from rsnn_brian.training import evaluate_run, train
train(TrainConfig(**{TINY!r}, epochs=1), {str(run)!r}, progress=False)
evaluate_run({str(run)!r}, progress=False)
print("brian2 imported:", "brian2" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "brian2 imported: False"
    assert (run / "learning_curve.png").is_file()


class _OptimizerState:
    def __init__(self, state):
        self.state = state

    def state_dict(self):
        return self.state


def test_runs_with_0_based_checkpoint_names_still_load_and_resume(tmp_path):
    """Runs made before epochs were counted from 1: epoch-000.npz after the first epoch, 0-based rows."""
    run = tmp_path / "old"
    first = train(TrainConfig(**TINY, epochs=2), run, progress=False)
    ck = run / "checkpoints"
    for new, old in (("epoch-001.npz", "epoch-000.npz"), ("epoch-002.npz", "epoch-001.npz"),
                     ("latest.npz", "latest.npz")):
        weights, opt, state = load_checkpoint(ck / new)
        arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
        meta = {k: v for k, v in state.items() if k not in arrays and k not in ("format", "architecture")}
        meta["rows"] = [{**r, "epoch": r["epoch"] - 1} for r in meta["rows"]]
        (ck / new).unlink()
        save_checkpoint(ck / old, weights, _OptimizerState(opt), {**meta, **arrays})
    old_metrics = first.metrics.assign(epoch=first.metrics["epoch"] - 1)
    (run / "metrics.csv").write_text(old_metrics.to_csv(index=False))

    ev = evaluate_run(run, checkpoint="epoch-000.npz", progress=False)
    assert ev.epoch == 1 and ev.accuracy == pytest.approx(first.metrics["test_accuracy"].iloc[0])
    assert list(epochs_trained(pd.read_csv(run / "metrics.csv"))) == [1, 2]
    extended = train(None, run, resume=True, epochs=3, progress=False)
    assert list(extended.metrics["epoch"]) == [1, 2, 3]
    assert sorted(p.name for p in ck.glob("epoch-*.npz")) == ["epoch-000.npz", "epoch-001.npz", "epoch-002.npz"]
    assert load_checkpoint(ck / "epoch-002.npz")[2]["epoch"] == 3
