"""Milliseconds per sample of the ST-RSBP backward pass beside the forward pass.

Network 784-400-R400-10 (reservoir connectivity), T = 400, thresholds
20/20/15, U(-1, 1) weights, Bernoulli inputs with probability
pixel / (5.5 * 255) from Fashion-MNIST training images (read directly from
the gzip IDX file; random images of the same mean intensity if absent).
Forward: ``rsnn_brian.reference.simulate`` (NumPy, float64). Backward: the full
``rsnn_brian.engine.gradients.backward`` (S-PSPs, ratios, solves, gradients)
in float64 and float32. Medians over repeats. (The Brian2 forward pass and the
whole training step beside it: benchmarks/bench_training.py.)

    python benchmarks/bench_backward.py [--batch 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
import warnings
from pathlib import Path

import numpy as np

from rsnn_brian.connectivity import init_weights
from rsnn_brian.engine.effect_ratio import effect_ratio_table
from rsnn_brian.engine.gradients import EngineSettings, SilentLayerWarning, backward
from rsnn_brian.network import LayerParams
from rsnn_brian.reference.simulate import simulate

# the data root: $RSNN_BRIAN_DATA, else shared/data beside the repository
DATA = (Path(os.environ.get("RSNN_BRIAN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
        / "fashion-mnist" / "train-images-idx3-ubyte.gz")


def load_images(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 784) pixel values in [0, 255]."""
    if DATA.exists():
        with gzip.open(DATA, "rb") as f:
            raw = np.frombuffer(f.read(16 + n * 784), dtype=np.uint8)
        return raw[16:].reshape(n, 784).astype(np.float64)
    print(f"({DATA} not found: random images, mean intensity 0.29)")
    return np.clip(rng.gamma(0.3, 0.29 * 255 / 0.3, (n, 784)), 0, 255)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    weights = init_weights("784-400-R400-10", rng)
    params = [LayerParams(v_th=20.0), LayerParams(v_th=20.0), LayerParams(v_th=15.0)]
    img = load_images(args.batch, rng)
    x = (rng.random((args.batch, args.steps, 784)) < img[:, None, :] / (5.5 * 255)).astype(np.float64)
    x[:, 0, :] = 0                                     # steps 1..T-1 (spec 6)
    labels = rng.integers(0, 10, args.batch)
    table = effect_ratio_table(params[0], args.steps)   # cached after the first run

    fwd, fwd_cpu = [], []
    for _ in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        rec = simulate(weights, params, x)
        fwd.append(time.perf_counter() - t)
        fwd_cpu.append(time.process_time() - c)
    counts = [rec.counts(k).sum(1).mean() for k in range(4)]
    print(f"mean spikes per sample per layer: {np.round(counts, 1).tolist()}")
    res = {}
    for dtype in ("float64", "float32"):
        for option in ("exact", "reference"):
            ts, cs = [], []
            for _ in range(args.repeats):
                t, c = time.perf_counter(), time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", SilentLayerWarning)
                    backward(rec, weights, params, labels, EngineSettings(option=option, dtype=dtype),
                             tables=table)
                ts.append(time.perf_counter() - t)
                cs.append(time.process_time() - c)
            res[(dtype, option)] = (np.median(ts), np.median(cs))
    ms = 1e3 / args.batch
    f, fc = np.median(fwd) * ms, np.median(fwd_cpu) * ms
    print(f"batch {args.batch}, T {args.steps}, 784-400-R400-10, medians of {args.repeats}; "
          f"wall ms/sample (process CPU ms/sample, all threads)")
    print(f"forward  rsnn_brian.reference.simulate (NumPy float64): {f:8.2f} ({fc:8.2f})")
    for (dtype, option), (t, c) in res.items():
        print(f"backward {option:9s} {dtype}:            {t * ms:8.2f} ({c * ms:8.2f})  "
              f"= {t * ms / f:.3f} x forward wall")


if __name__ == "__main__":
    main()
