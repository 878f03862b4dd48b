"""ms per training sample on Dask (1 and 2 local workers) beside one process and ``--workers 2``.

For each batch size, medians over ``--repeats`` training steps (simulate, backward, sum, Adam) of:
- ``1 process``: the trainer's own step (``--dask`` unset, 1 share);
- ``--workers 2``: the same with 2 engine threads (and 2 Brian2 binaries on cpp_standalone);
- ``dask 1`` / ``dask 2``: a LocalCluster of 1 or 2 single-threaded worker processes on 127.0.0.1,
  one share per worker.
and, for Dask, the per-batch overhead: a round trip that scatters the weights to every worker and
brings back one gradient-sized result per worker, with no simulation (serialisation + transfer +
scheduling), and the bytes that travel per batch (weights out, gradients back).

The network defaults to 784-100-R50-10, T = 200, NumPy simulator, float64 engine, builtin data.

    python benchmarks/bench_dask.py                    # batch 16, 64, 128
    python benchmarks/bench_dask.py --quick            # a smoke test: batch 8, 2 repeats, tiny network
    python benchmarks/bench_dask.py --device cpp_standalone --arch 784-400-R400-10 --steps 400
"""

from __future__ import annotations

import argparse
import logging
import pickle
import statistics
import tempfile
import time

import numpy as np


def _trainer(cfg):
    from rsnn_brian.training.trainer import Trainer
    tr = Trainer(cfg, tempfile.mkdtemp(prefix="bench-dask-") + "/run", progress=False)
    tr.open_simulator()
    return tr


def time_steps(cfg, repeats: int) -> float:
    """Median seconds of one training step (after one warm-up step that also builds)."""
    tr = _trainer(cfg)
    try:
        order = tr.order(0)
        B = cfg.batch_size
        times = []
        for r in range(repeats + 1):
            idx = order[(r * B) % (len(order) - B + 1):][:B]
            t0 = time.perf_counter()
            tr.step(idx, 0)
            if r:
                times.append(time.perf_counter() - t0)
        return statistics.median(times)
    finally:
        from rsnn_brian.training.simulators import _close
        _close(tr.sim)
        _close(tr.executor)


def _echo(weights, grads_like):
    return grads_like


def overhead(cfg, repeats: int) -> tuple[float, int, int]:
    """Median seconds of a weights-out, gradients-back round trip, and the bytes each way per worker."""
    from rsnn_brian.training.distributed import DaskExecutor
    tr = _trainer(cfg.replace(dask=None))
    ex = DaskExecutor(cfg, tr.tables)
    try:
        grads = {k: np.zeros(v.shape) for k, v in tr.weights.trainable().items()}
        out_bytes, back_bytes = len(pickle.dumps(tr.weights)), len(pickle.dumps(grads))
        times = []
        for r in range(repeats + 1):
            t0 = time.perf_counter()
            w = ex.client.scatter(tr.weights, broadcast=True, hash=False)
            fut = [ex.client.submit(_echo, w, grads, pure=False) for _ in range(ex.n_workers)]
            ex.client.gather(fut)
            del fut, w
            if r:
                times.append(time.perf_counter() - t0)
        return statistics.median(times), out_bytes, back_bytes
    finally:
        ex.close()


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", default="16,64,128")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--arch", default="784-100-R50-10")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--device", default="numpy")
    p.add_argument("--dask-workers", default="1,2")
    p.add_argument("--quick", action="store_true", help="batch 8, 2 repeats, 784-20-R10-10, T = 100")
    a = p.parse_args(argv)
    if a.quick:
        a.batches, a.repeats, a.arch, a.steps, a.dask_workers = "8", 2, "784-20-R10-10", 100, "2"
    logging.getLogger("rsnn_brian").setLevel(logging.WARNING)
    from rsnn_brian.config import TrainConfig
    results = {}
    for B in [int(x) for x in a.batches.split(",")]:
        base = TrainConfig(dataset="builtin", architecture=a.arch, thresholds=(5.0,), batch_size=B,
                           device=a.device, n_steps=a.steps, engine_dtype="float64", seed=0,
                           train_limit=max(2 * B, 40), test_limit=20)
        rows = {"1 process": time_steps(base, a.repeats), "--workers 2": time_steps(base.replace(workers=2), a.repeats)}
        for n in [int(x) for x in a.dask_workers.split(",")]:
            cfg = base.replace(dask=f"local:{n}")
            rows[f"dask {n}"] = time_steps(cfg, a.repeats)
            oh, out_b, back_b = overhead(cfg, a.repeats)
            rows[f"dask {n} overhead"] = oh
            results.setdefault("bytes", (out_b, back_b))
        results[B] = rows
        print(f"batch {B}: " + "  ".join(
            f"{k} {1e3 * v:.1f} ms/batch" if k.endswith("overhead") else f"{k} {1e3 * v / B:.2f} ms/sample"
            for k, v in rows.items()), flush=True)
    out_b, back_b = results["bytes"]
    print(f"per worker and batch: weights out {out_b / 1e6:.3f} MB, gradients back {back_b / 1e6:.3f} MB")
    return results


if __name__ == "__main__":
    main()
