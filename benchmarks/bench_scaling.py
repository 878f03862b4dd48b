"""ms per training sample and peak memory against T and the layer size: ST-RSBP beside snnTorch BPTT.

Network 784-N-RN-10 (thresholds 20/20/15, init_weights: U(-1, 1), the
reservoir's sparse recurrence, fixed lateral inhibition at the output),
Fashion-MNIST training images encoded by RateEncoder (Bernoulli, p = pixel /
(5.5 * 255)). Two sweeps: T in 100, 200, 400, 800 steps at N = 400, and N in
100 ... 1600 at T = 400.

Each point of each implementation runs in a fresh process, so that one
point's memory is not left over from another:

- ours: one ST-RSBP training step as benchmarks/bench_training.py takes it,
  Brian2 cpp_standalone forward (samples back to back in one run), engine
  backward (float32, 'reference' gradient), regulariser + Adam update;
- snnTorch: BPTT on the same network, weights and first batch
  (benchmarks/snntorch_bptt.py), when --snntorch-python (or this
  interpreter) has it.

Both get the same number of threads (``--threads``, BLAS, engine and torch;
the Brian2 binary is single-threaded). Time: median over ``--repeats`` steps
after one warm-up step (our build and compile are not timed), wall and CPU
(the process's threads and its ended children: the Brian2 binary; CPU time
is what a step costs when other jobs share the cores). Memory: the
peak resident memory of that process and its children (the Brian2 binary),
sampled every 5 ms from before the warm-up step to the end
(benchmarks/_measure.py); ``start_mb`` is the first sample (interpreter,
imports, data, built network). Writes a tidy CSV, prints the table and the
growth figures.

    python benchmarks/bench_scaling.py --snntorch-python PY --repeats 2 --out figures/measured/scaling.csv
    python benchmarks/bench_scaling.py --quick --skip-snntorch --out scaling-quick.csv   # seconds per point
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))                     # the helpers beside this script
from _measure import PeakRSS, cpu_seconds  # noqa: E402

# ---- parameter block ---------------------------------------------------------
T_SWEEP, N_AT_T = (100, 200, 400, 800), 400       # the T sweep, at this layer size
N_SWEEP, T_AT_N = (100, 200, 400, 800, 1600), 400  # the layer-size sweep, at this T
BATCH, REPEATS, THREADS, SEED = 16, 2, 1, 0
QUICK = dict(t_sweep=(20, 40), n_at_t=20, n_sweep=(10, 20), t_at_n=20, batch=2, repeats=1)
COLUMNS = ["impl", "sweep", "T", "n_hidden", "batch", "ms_per_sample", "cpu_ms_per_sample", "forward_ms", "backward_ms",
           "update_ms", "peak_mb", "start_mb", "out_spikes", "hidden_spikes", "rec_spikes", "threads",
           "repeats"]
# ------------------------------------------------------------------------------


def arch_of(n: int) -> str:
    return f"784-{n}-R{n}-10"


def network(n: int, steps: int, batch: int, n_batches: int):
    """Weights, layer parameters, labels and ``n_batches`` input batches, all from SEED."""
    import numpy as np
    from bench_training import load_inputs

    from rsnn_brian.connectivity import init_weights
    from rsnn_brian.network import LayerParams, parse_architecture
    arch = parse_architecture(arch_of(n))
    weights = init_weights(arch, np.random.default_rng(SEED))
    params = [LayerParams(v_th=20.0), LayerParams(v_th=20.0), LayerParams(v_th=15.0)]
    enc, labels, _ = load_inputs(batch, steps, seed=SEED)
    idx = [np.arange(r * batch, (r + 1) * batch) % len(enc) for r in range(n_batches)]
    return weights, params, [labels[i] for i in idx], [enc.encode(i) for i in idx]


def measure_ours(n: int, steps: int, batch: int, repeats: int, threads: int, device: str = "cpp_standalone") -> dict:
    """One warm-up and ``repeats`` timed ST-RSBP training steps, in this process."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from rsnn_brian.brian import NeuronConfig, Runner
    from rsnn_brian.engine import EngineSettings, backward, resolve_tables
    from rsnn_brian.optim import Adam, AdamSettings, regularizer_gradients

    weights, params, labels, batches = network(n, steps, batch, repeats + 1)
    neurons = [NeuronConfig(v_th=p.v_th) for p in params]
    tables = resolve_tables(None, params, steps)[1:]
    settings = EngineSettings(option="reference", dtype="float32", threads=threads)
    adam = Adam(weights.trainable(), AdamSettings(lr=1e-3), masks=weights.trainable_masks())
    split, cpu, counts = [], [], None
    busiest = max(batches, key=lambda b: sum(tr.n_spikes for tr in b))
    with threadpool_limits(limits=threads, user_api="blas"), \
            Runner(arch_of(n), neurons, device=device, n_steps=steps, samples_per_run=batch) as runner:
        runner.build(weights, inputs=busiest)                 # compiled before anything is measured
        with PeakRSS() as mem:
            for r, (inputs, y) in enumerate(zip(batches, labels)):
                c1, t1 = cpu_seconds(), time.perf_counter()
                rec = runner.run(weights, inputs)
                t2 = time.perf_counter()
                grads = backward(rec, weights, params, y, settings=settings, tables=tables).grads
                t3 = time.perf_counter()
                for name, g in regularizer_gradients(weights).items():
                    grads[name] = grads[name] + g
                adam.step(grads)
                t4, c4 = time.perf_counter(), cpu_seconds()
                if r == 0:                                    # initial weights, the batch snnTorch gets
                    counts = [float(rec.counts(k).sum()) / batch for k in range(1, 4)]
                else:
                    split.append([1000 * dt / batch for dt in (t2 - t1, t3 - t2, t4 - t3)])
                    cpu.append(1000 * (c4 - c1) / batch)
    fwd, bwd, upd = (float(np.median(c)) for c in zip(*split))
    return {"ms_per_sample": float(np.median([sum(s) for s in split])), "cpu_ms_per_sample": float(np.median(cpu)),
            "forward_ms": fwd, "backward_ms": bwd,
            "update_ms": upd, "peak_mb": mem.peak_mb, "start_mb": mem.start_mb, "spikes_per_sample": counts}


def run_ours(n: int, steps: int, batch: int, repeats: int, threads: int, device: str) -> dict:
    """:func:`measure_ours` in a fresh process (this script with --point)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--point", str(n), str(steps), "--batch", str(batch),
           "--repeats", str(repeats), "--threads", str(threads), "--device", device]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"our step failed at N={n}, T={steps}: {out.stderr.strip().splitlines()[-3:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_snntorch(python: str, n: int, steps: int, batch: int, repeats: int, threads: int, tmp: Path) -> dict:
    from snntorch_bptt import run_child, write_network
    weights, params, labels, batches = network(n, steps, batch, 1)
    npz = tmp / f"net_{n}_{steps}.npz"
    write_network(npz, weights, params, batches[0], labels[0])
    try:
        return run_child(python, npz, repeats, threads)
    finally:
        npz.unlink()


def row(impl, sweep, n, steps, batch, repeats, threads, res) -> dict:
    hid, rec, out = res["spikes_per_sample"]
    return {"impl": impl, "sweep": sweep, "T": steps, "n_hidden": n, "batch": batch,
            "ms_per_sample": res["ms_per_sample"], "cpu_ms_per_sample": res["cpu_ms_per_sample"],
            "forward_ms": res.get("forward_ms", math.nan),
            "backward_ms": res.get("backward_ms", math.nan), "update_ms": res.get("update_ms", math.nan),
            "peak_mb": res["peak_rss_mb"] if "peak_rss_mb" in res else res["peak_mb"],
            "start_mb": res["start_rss_mb"] if "start_rss_mb" in res else res["start_mb"],
            "out_spikes": out, "hidden_spikes": hid, "rec_spikes": rec, "threads": threads, "repeats": repeats}


def slope(xs, ys) -> float:
    """Least-squares slope of log y against log x (the growth exponent)."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def summary(rows: list[dict]) -> list[str]:
    """Per implementation: memory and time at the ends of each sweep, and the time's growth exponent."""
    lines = []
    for impl in dict.fromkeys(r["impl"] for r in rows):
        for sweep, key in (("T", "T"), ("N", "n_hidden")):
            pts = sorted((r for r in rows if r["impl"] == impl and r["sweep"] == sweep), key=lambda r: r[key])
            if len(pts) < 2:
                continue
            lo, hi = pts[0], pts[-1]
            xs = [p[key] for p in pts]
            above = (hi["peak_mb"] - hi["start_mb"]) / max(lo["peak_mb"] - lo["start_mb"], 1e-9)
            lines.append(f"{impl}, {sweep} {lo[key]} -> {hi[key]} ({hi[key] / lo[key]:g}x): "
                         f"peak memory x{hi['peak_mb'] / lo['peak_mb']:.2f} ({lo['peak_mb']:.0f} -> "
                         f"{hi['peak_mb']:.0f} MB), above the start x{above:.2f}; "
                         f"time x{hi['ms_per_sample'] / lo['ms_per_sample']:.2f} (CPU "
                         f"x{hi['cpu_ms_per_sample'] / lo['cpu_ms_per_sample']:.2f}), growth exponent "
                         f"{slope(xs, [p['ms_per_sample'] for p in pts]):.2f} (CPU "
                         f"{slope(xs, [p['cpu_ms_per_sample'] for p in pts]):.2f}; fit over {len(pts)} points)")
    return lines


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sweeps (the test)")
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--repeats", type=int, default=REPEATS)
    ap.add_argument("--threads", type=int, default=THREADS, help="threads of BLAS, the engine and torch")
    ap.add_argument("--snntorch-python", default=os.environ.get("SNNTORCH_PYTHON"))
    ap.add_argument("--skip-snntorch", action="store_true")
    ap.add_argument("--device", default="cpp_standalone", choices=["cpp_standalone", "runtime"])
    ap.add_argument("--out", type=Path, default=Path("scaling.csv"))
    ap.add_argument("--point", nargs=2, type=int, metavar=("N", "T"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.point:                                     # one point of ours, in a fresh process
        print(json.dumps(measure_ours(*args.point, args.batch, args.repeats, args.threads, args.device)))
        return []
    t_sweep, n_at_t, n_sweep, t_at_n = T_SWEEP, N_AT_T, N_SWEEP, T_AT_N
    batch, repeats = args.batch, args.repeats
    if args.quick:
        q = QUICK
        t_sweep, n_at_t, n_sweep, t_at_n = q["t_sweep"], q["n_at_t"], q["n_sweep"], q["t_at_n"]
        batch, repeats = min(batch, q["batch"]), min(repeats, q["repeats"])
    python = None if args.skip_snntorch else args.snntorch_python
    if not args.skip_snntorch and python is None:
        try:
            import snntorch  # noqa: F401
            python = sys.executable
        except ImportError:
            pass
    points = {(n_at_t, t): ["T"] for t in t_sweep}
    for n in n_sweep:
        points.setdefault((n, t_at_n), []).append("N")
    print(f"# 784-N-RN-10, batch {batch}, {repeats} timed step(s) after 1 warm-up (medians), {args.threads} "
          f"thread(s), {os.cpu_count()} CPUs; snnTorch: {python or 'not measured'}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for (n, steps), sweeps in points.items():
            impls = [("st-rsbp", lambda n=n, steps=steps: run_ours(n, steps, batch, repeats, args.threads,
                                                                   args.device))]
            if python:
                impls.append(("snntorch-bptt", lambda n=n, steps=steps: run_snntorch(
                    python, n, steps, batch, repeats, args.threads, Path(tmp))))
            for impl, fn in impls:
                res = fn()
                for sweep in sweeps:
                    rows.append(row(impl, sweep, n, steps, batch, repeats, args.threads, res))
                r = rows[-1]
                print(f"  {impl:13s} N={n:5d} T={steps:4d}: {r['ms_per_sample']:9.2f} ms/sample (CPU "
                      f"{r['cpu_ms_per_sample']:8.2f}), peak "
                      f"{r['peak_mb']:6.0f} MB (start {r['start_mb']:4.0f}), spikes/sample hidden "
                      f"{r['hidden_spikes']:.0f} rec {r['rec_spikes']:.0f} out {r['out_spikes']:.1f}", flush=True)
    rows.sort(key=lambda r: (r["sweep"] != "T", r["impl"] != "st-rsbp", r["T"], r["n_hidden"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {args.out}")
    for line in summary(rows):
        print(line)
    return rows


if __name__ == "__main__":
    main()
