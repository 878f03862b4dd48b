"""Forward pass speed: Brian2 devices against the dense NumPy simulator (the floor).

Question: how many ms per sample does one forward pass of 784-400-R400-10
(T = 400 steps of 1 ms, Fashion-MNIST Bernoulli inputs with p = pixel /
(5.5 * 255) per step, spec section 6) cost in each Brian2 device, and how far
is that from the dense float64 NumPy pass (rsnn_brian.reference.simulate, BLAS
on FLOOR_BLAS_THREADS = 2 threads: benchmarks/_measure.py) of the same network? Target:
best Brian2 path within 2x of the floor, peak memory < 2 GB at batch 64.

Layout per device: one network, K = batch size samples back to back per run
(so no padding). Build/compile time is reported apart and not in ms/sample.

    python benchmarks/bench_forward.py            # full: batches 1, 16, 64
    python benchmarks/bench_forward.py --quick    # small network, short samples

Data: the canonical Fashion-MNIST test images, read (and checked) by
rsnn_brian.data.images from $RSNN_BRIAN_DATA/fashion-mnist, else from
../shared/data/fashion-mnist beside the repository (random pixels if neither
holds them, said so in the output).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))     # the helpers beside this script
# the floor's BLAS threads are fixed there (FLOOR_BLAS_THREADS), as in bench_training.py
from _measure import FLOOR_BLAS_THREADS, FLOOR_LABEL, PeakRSS, numpy_floor  # noqa: E402

# ---- parameter block ---------------------------------------------------------
ARCH = "784-400-R400-10"
T_STEPS = 400                      # 400 ms at dt = 1 ms (spec section 6)
THRESHOLDS = (20.0, 20.0, 15.0)    # Fashion-MNIST thresholds per layer (spec table 6)
RATE_DIVISOR = 5.5 * 255           # p(spike per step) = pixel / (5.5 * 255)
BATCHES = (1, 16, 64)
DEVICES = ("runtime", "cpp_standalone")
SEED = 0
QUICK = dict(arch="784-100-R100-10", t_steps=100, batches=(1, 16), repeats=2)
# ------------------------------------------------------------------------------


REPO = Path(__file__).resolve().parents[1]


def data_roots() -> list[Path]:
    """Where to look for ``fashion-mnist/``: $RSNN_BRIAN_DATA, then ../shared/data beside the repository."""
    env = os.environ.get("RSNN_BRIAN_DATA")
    return ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]


def load_images(n: int, rng) -> tuple[np.ndarray, str]:
    """``n`` Fashion-MNIST test images (n, 784) drawn with ``rng``, and where they came from."""
    from rsnn_brian.data.images import dataset_dir
    from rsnn_brian.data.images import load_images as load_idx
    for root in data_roots():
        if (root / "fashion-mnist").is_dir():
            imgs, _ = load_idx("fashion-mnist", "test", data_dir=root, download=False)
            return (imgs[rng.choice(len(imgs), n, replace=False)].reshape(n, -1),
                    str(dataset_dir("fashion-mnist", root)))
    return rng.integers(0, 256, (n, 784), dtype=np.uint8), "random pixels (no Fashion-MNIST found)"


def bernoulli_inputs(pixels: np.ndarray, t_steps: int, rng):
    from rsnn_brian.spikes import SpikeTrains
    p = pixels.astype(np.float64) / RATE_DIVISOR
    out = []
    for row in p:
        raster = rng.random((t_steps, row.size)) < row
        raster[0] = False                      # spikes on steps 1..T-1 (spec section 6)
        out.append(SpikeTrains.from_dense(raster))
    return out


def timed(fn, repeats: int) -> tuple[float, object]:
    times, res = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small network and short samples")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats per case (median)")
    ap.add_argument("--devices", default=",".join(DEVICES), help="comma-separated Brian2 devices")
    ap.add_argument("--batches", default=None, help="comma-separated batch sizes")
    ap.add_argument("--openmp", type=int, default=0, help="cpp_standalone OpenMP threads")
    args = ap.parse_args(argv)

    from brian2 import ms

    from rsnn_brian.brian import NeuronConfig, Runner
    from rsnn_brian.connectivity import init_weights
    from rsnn_brian.network import parse_architecture

    arch_text, t_steps, batches, repeats = ARCH, T_STEPS, BATCHES, args.repeats
    if args.quick:
        arch_text, t_steps, batches = QUICK["arch"], QUICK["t_steps"], QUICK["batches"]
        repeats = min(repeats, QUICK["repeats"])
    if args.batches:
        batches = tuple(int(b) for b in args.batches.split(","))
    devices = [d for d in args.devices.split(",") if d]

    rng = np.random.default_rng(SEED)
    arch = parse_architecture(arch_text)
    weights = init_weights(arch, rng)
    configs = [NeuronConfig(tau_m=64 * ms, tau_s=8 * ms, v_th=v) for v in THRESHOLDS[: len(arch.layers) - 1]]
    pixels, source = load_images(max(batches), rng)
    inputs = bernoulli_inputs(pixels, t_steps, rng)
    params = [c.to_params(1 * ms) for c in configs]
    print(f"# {arch_text}, T = {t_steps}, inputs: {source}; repeats {repeats} (median); "
          f"{os.cpu_count()} CPUs; floor BLAS threads {FLOOR_BLAS_THREADS}; seed {SEED}")

    rows = []
    floor = {}
    mem = {}
    for b in batches:
        with PeakRSS() as m:
            floor[b], ref = numpy_floor(weights, params, inputs[:b], repeats)
        rows.append((FLOOR_LABEL, b, floor[b], 1.0, 0.0))
        counts = [int(sum(tr.n_spikes for tr in lay)) for lay in ref.layers]
        print(f"  numpy B={b}: {floor[b]:.2f} ms/sample; spikes per layer {counts}", flush=True)
        if b == max(batches):
            mem["numpy"] = (m.peak_mb, m.peak_children_mb)

    for dev in devices:
        runtime_runner = None
        for b in batches:
            batch = inputs[:b]
            if dev == "runtime":
                if runtime_runner is None:     # one network; runs of any length, no padding
                    runtime_runner = Runner(arch, configs, device=dev, n_steps=t_steps,
                                            samples_per_run=max(batches))
                runner = runtime_runner
            else:
                runner = Runner(arch, configs, device=dev, n_steps=t_steps, samples_per_run=b,
                                openmp_threads=args.openmp)
            t0 = time.perf_counter()
            first = runner.run(weights, batch)               # builds (and compiles) once
            build = time.perf_counter() - t0
            with PeakRSS() as m:                             # the timed runs only, not the compiler
                sec, rec = timed(lambda runner=runner, batch=batch: runner.run(weights, batch), repeats)
            same = all(x == y for x, y in zip(rec.layers[-1], first.layers[-1]))
            ms_per = sec / b * 1e3
            rows.append((dev, b, ms_per, ms_per / floor[b], build))
            print(f"  {dev} B={b}: {ms_per:.2f} ms/sample (first call incl. build {build:.1f} s, "
                  f"reproducible: {same})", flush=True)
            if b == max(batches):
                mem[dev] = (m.peak_mb, m.peak_children_mb)
            if dev != "runtime":
                runner.close()
        if runtime_runner is not None:
            runtime_runner.close()

    print()
    print("| path | batch | ms/sample | x floor | first call incl. build (s) |")
    print("|---|---|---|---|---|")
    for name, b, ms_per, ratio, build in rows:
        print(f"| {name} | {b} | {ms_per:.2f} | {ratio:.2f} | {build:.1f} |")
    bmax = max(batches)
    print()
    print(f"peak RSS at batch {bmax} while the timed runs ran (this process + its children, sampled every 5 ms): "
          + "; ".join(f"{d} {s:.0f} MB (children {c:.0f} MB)" for d, (s, c) in mem.items()))
    best = min((r for r in rows if r[0] != FLOOR_LABEL and r[1] == bmax), key=lambda r: r[2], default=None)
    if best:
        print(f"best Brian2 path at batch {bmax}: {best[0]}, {best[3]:.2f}x the NumPy floor "
              f"(target <= 2x: {'met' if best[3] <= 2 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
