"""Data-parallel training on Dask (rsnn_brian.training.distributed): same weights as one process.

The cluster is a LocalCluster of 2 worker processes on 127.0.0.1, started once for the module
and stopped at its end; no test contacts another address. The configs are tiny (builtin data,
NumPy simulator, 784-20-R10-10, 200 steps, batch 8) so a run takes a few seconds.
"""

import os
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from rsnn_brian.config import TrainConfig
from rsnn_brian.training import distributed, train
from rsnn_brian.training.trainer import Trainer

TINY = dict(dataset="builtin", architecture="784-20-R10-10", thresholds=(5.0,), batch_size=8, lr=0.004,
            device="numpy", seed=3, epochs=2, train_limit=48, test_limit=20, n_steps=200,
            engine_dtype="float64")


def read_weights(run_dir):
    with np.load(Path(run_dir) / "checkpoints" / "weights.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k          # bit for bit


# -- without Dask -----------------------------------------------------------------------------

def test_share_slices_cover_the_batch_in_order():
    for B, n in [(8, 2), (7, 3), (3, 5), (1, 1), (128, 8)]:
        parts = distributed.share_slices(B, n)
        assert len(parts) == min(n, B)
        assert np.array_equal(np.concatenate([np.arange(B)[p] for p in parts]), np.arange(B))
        sizes = [p.stop - p.start for p in parts]
        assert max(sizes) - min(sizes) <= 1


def test_split_batch_gradients_match_the_whole_batch_to_rounding(tmp_path):
    """The engine's gradient of a batch cut into shares and summed is the whole batch's up to
    float64 rounding (not bit for bit: the sums run in another order), and one share is the
    single-process step exactly."""
    cfg = TrainConfig(**{**TINY, "batch_size": 16})
    tr = Trainer(cfg, tmp_path / "r", progress=False)
    tr.open_simulator()
    idx = tr.order(0)[:16]
    res = {}
    for S in (1, 2, 3, 5):
        outs = [distributed.compute_share(tr.sim, tr.weights, tr.params, tr.engine, tr.tables, tr.train_set,
                                          idx[s], 0, tr.boost[idx[s]]) for s in distributed.share_slices(16, S)]
        res[S] = distributed.combine_grads(outs, 16)
    for S in (2, 3, 5):
        for k, g in res[1].items():
            np.testing.assert_allclose(res[S][k], g, rtol=0, atol=1e-14 * max(np.max(np.abs(g)), 1e-300))


def test_config_checks_the_dask_address():
    assert TrainConfig(dask="local:2").dask == "local:2"
    assert TrainConfig(dask="tcp://10.0.0.1:8786").dask == "tcp://10.0.0.1:8786"
    for bad in ("local:0", "local", "10.0.0.1:8786", "tcp://host"):
        with pytest.raises(ValueError, match="dask must be"):
            TrainConfig(dask=bad)


# -- on a LocalCluster ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed")
    from distributed import LocalCluster
    kill_dir = tempfile.mkdtemp()
    os.environ[distributed.KILL_FILE_ENV] = os.path.join(kill_dir, "kill-once")   # inherited by the workers
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as lc:
            yield lc
    finally:
        os.environ.pop(distributed.KILL_FILE_ENV, None)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The reference: 2 shares per batch summed in order, in this process."""
    out = tmp_path_factory.mktemp("ref") / "run"
    result = train(TrainConfig(**TINY, shares=2), out, progress=False)
    return read_weights(out), result.metrics


def test_two_workers_give_the_weights_of_one_process(cluster, one_process, tmp_path):
    result = train(TrainConfig(**TINY, dask=cluster.scheduler_address), tmp_path / "run", progress=False)
    assert_same_weights(read_weights(tmp_path / "run"), one_process[0])
    cols = ["loss", "train_accuracy", "test_accuracy", "rate_layer1_hz", "silent_layer_batches"]
    assert result.metrics[cols].equals(one_process[1][cols])


def test_resume_on_dask_continues_the_run(cluster, one_process, tmp_path):
    cfg = TrainConfig(**TINY, shares=2, dask=cluster.scheduler_address)
    train(cfg.replace(epochs=1), tmp_path / "run", progress=False)
    result = train(None, tmp_path / "run", resume=True, epochs=2, progress=False)
    assert result.epochs_done == 2
    assert_same_weights(read_weights(tmp_path / "run"), one_process[0])


def test_a_worker_killed_mid_batch_changes_nothing(cluster, one_process, tmp_path):
    kill = Path(os.environ[distributed.KILL_FILE_ENV])
    kill.touch()                                   # the next share's worker removes it and SIGKILLs itself
    train(TrainConfig(**TINY, shares=2, dask=cluster.scheduler_address), tmp_path / "run", progress=False)
    assert not kill.exists()                       # a worker did die
    assert_same_weights(read_weights(tmp_path / "run"), one_process[0])
    deadline = time.monotonic() + 30               # leave the cluster whole (the nanny restarts it)
    while len(cluster.scheduler_info["workers"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)


def test_an_unreachable_scheduler_is_a_one_line_error(monkeypatch, tmp_path):
    pytest.importorskip("distributed")
    with socket.socket() as s:                     # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", 1.0)
    address = f"tcp://127.0.0.1:{port}"
    t0 = time.monotonic()
    with pytest.raises(ConnectionError, match=f"cannot reach the Dask scheduler at {address}.*dask scheduler") as e:
        train(TrainConfig(**TINY, dask=address), tmp_path / "run", progress=False)
    assert "\n" not in str(e.value)
    assert time.monotonic() - t0 < 20
    assert not (tmp_path / "run").exists()         # a failed start leaves nothing behind


@pytest.mark.slow
def test_cli_local_cluster(one_process, tmp_path):
    pytest.importorskip("distributed")
    from rsnn_brian.cli import main
    args = ["train", "--out", str(tmp_path / "run"), "--dask", "local:2", "--dataset", "builtin",
            "--arch", "784-20-R10-10", "--thresholds", "5", "--batch-size", "8", "--lr", "0.004",
            "--device", "numpy", "--seed", "3", "--epochs", "2", "--train-limit", "48", "--test-limit", "20",
            "--n-steps", "200", "--engine-dtype", "float64"]
    assert main(args) == 0
    assert_same_weights(read_weights(tmp_path / "run"), one_process[0])


@pytest.mark.slow
def test_bench_dask_quick_prints_its_figures(capsys):
    pytest.importorskip("distributed")
    from script_loader import load_script
    res = load_script("benchmarks", "bench_dask").main(["--quick"])
    out = capsys.readouterr().out
    assert "batch 8:" in out and "dask 2 overhead" in out and "weights out" in out
    assert all(v > 0 for v in res[8].values())


@pytest.mark.slow
@pytest.mark.standalone
def test_cpp_standalone_workers_give_the_weights_of_numpy_in_one_process(cluster, tmp_path):
    """Each worker compiles its own cpp_standalone project (under its local directory) and keeps it
    between batches; Brian2's spikes equal the NumPy simulator's in float64, so the weights equal a
    one-process NumPy run with the same shares, bit for bit."""
    ref = train(TrainConfig(**{**TINY, "epochs": 1}, shares=2), tmp_path / "ref", progress=False)
    run = train(TrainConfig(**{**TINY, "epochs": 1, "device": "cpp_standalone"}, dask=cluster.scheduler_address),
                tmp_path / "run", progress=False)
    assert_same_weights(read_weights(tmp_path / "run"), read_weights(tmp_path / "ref"))
    assert run.metrics["test_accuracy"].tolist() == ref.metrics["test_accuracy"].tolist()
