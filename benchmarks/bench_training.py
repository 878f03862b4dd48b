"""ms per training sample (forward, backward, update) and peak memory, 784-400-R400-10, T = 400.

Prints, from one run, medians over repeats of:
- the dense NumPy forward pass (rsnn_brian.reference.simulate, float64): the floor;
- one ST-RSBP training step with Brian2 simulating the batch (cpp_standalone
  by default, samples back to back in one run), split into forward
  (Brian2 run, including writing weights and reading spikes), backward
  (engine, float32) and update (regulariser + Adam);
- snnTorch training the same architecture with surrogate-gradient BPTT at
  the same T and batch size, in its own process, when snnTorch is importable
  here or through --snntorch-python (PyTorch may live in another venv).

Inputs: real Fashion-MNIST images ($RSNN_BRIAN_DATA, else ../shared/data
beside the repository, else the built-in subset), Bernoulli-encoded as in the
paper; thresholds 20/20/15; weights U(-1, 1).

``--workers N`` cuts each batch into N Brian2 runs started at once (one
process of the compiled binary each) and the backward pass into N threads.
Memory is then the whole process tree: a sampler thread adds up the resident
memory of this process and every child (the binaries) every 5 ms during
the timed steps, and the peak of that sum is what is compared.

    python benchmarks/bench_training.py --batch 128 --repeats 5 --workers 2 [--snntorch-python /path/to/python]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def rss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out.extend(int(c) for c in fh.read().split())
    except OSError:
        pass
    return out


class TreeRSS:
    """Peak of (this process + all its descendants) resident memory, sampled every ``period`` s."""

    def __init__(self, period: float = 0.005):
        self.period, self.peak_kb, self._stop = period, 0, threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        me = os.getpid()
        while not self._stop.is_set():
            todo, total = [me], 0
            while todo:
                pid = todo.pop()
                total += _rss_kb(pid)
                todo.extend(_children(pid))
            self.peak_kb = max(self.peak_kb, total)
            time.sleep(self.period)

    def __enter__(self):
        if os.path.exists(f"/proc/{os.getpid()}/status"):
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


def data_dir() -> Path:
    """The data root: $RSNN_BRIAN_DATA, else ../shared/data beside the repository."""
    env = os.environ.get("RSNN_BRIAN_DATA")
    return Path(env) if env else HERE.parents[1] / "shared" / "data"


def load_inputs(batch: int, n_steps: int, seed: int):
    from rsnn_brian.data.encoders import EncoderSettings, RateEncoder
    from rsnn_brian.data.images import load_builtin, load_images
    try:
        images, labels = load_images("fashion-mnist", "train", data_dir=data_dir(), download=False,
                                     limit=batch * 4)
        source = "fashion-mnist train"
    except (FileNotFoundError, ValueError):
        images, labels = load_builtin("train")
        source = "built-in Fashion-MNIST subset"
    images = images.reshape(len(images), -1)
    enc = RateEncoder(images, EncoderSettings(n_steps=n_steps, seed=seed))
    return enc, np.asarray(labels), source


def run_snntorch(python: str | None, batch: int, n_steps: int, repeats: int, threads: int = 0):
    if python is None:
        try:
            import snntorch  # noqa: F401
            python = sys.executable
        except ImportError:
            return None, "snnTorch not importable here (use --snntorch-python)"
    cmd = [python, str(HERE / "snntorch_bptt.py"), "--batch", str(batch), "--steps", str(n_steps),
           "--repeats", str(repeats), "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return None, f"snnTorch run failed: {out.stderr.strip().splitlines()[-1:]}"
    return json.loads(out.stdout.strip().splitlines()[-1]), None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="784-400-R400-10")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpp_standalone", choices=["cpp_standalone", "runtime"])
    ap.add_argument("--gradient", default="reference", choices=["reference", "exact"])
    ap.add_argument("--snntorch-python", default=os.environ.get("SNNTORCH_PYTHON"))
    ap.add_argument("--snntorch-threads", type=int, default=0,
                    help="torch threads (default: torch's choice, all cores); on a loaded machine "
                         "more threads than free cores makes torch much slower")
    ap.add_argument("--skip-snntorch", action="store_true")
    ap.add_argument("--workers", type=int, default=1,
                    help="Brian2 runs at once per batch and backward threads (cpp_standalone)")
    args = ap.parse_args(argv)
    if args.workers < 1 or (args.workers > 1 and args.device != "cpp_standalone"):
        ap.error("--workers must be >= 1, and > 1 only with cpp_standalone")

    from brian2 import ms

    from rsnn_brian.brian import NeuronConfig, Runner
    from rsnn_brian.connectivity import init_weights
    from rsnn_brian.engine import EngineSettings, backward, resolve_tables
    from rsnn_brian.network import parse_architecture
    from rsnn_brian.optim import Adam, AdamSettings, regularizer_gradients
    from rsnn_brian.reference.simulate import simulate

    arch = parse_architecture(args.arch)
    thresholds = [20.0] * (len(arch.layers) - 2) + [15.0]
    neurons = [NeuronConfig(v_th=th) for th in thresholds]
    params = [n.to_params(1 * ms) for n in neurons]
    weights = init_weights(arch, np.random.default_rng(0))
    enc, labels, source = load_inputs(args.batch, args.steps, seed=0)
    tables = resolve_tables(None, params, args.steps)[1:]
    settings = EngineSettings(option=args.gradient, dtype="float32", threads=args.workers)
    adam = Adam(weights.trainable(), AdamSettings(lr=1e-3), masks=weights.trainable_masks())
    print(f"# {args.arch}, T = {args.steps}, batch {args.batch}, {source}, {args.repeats} repeats (medians), "
          f"gradient '{args.gradient}', device {args.device}, {args.workers} worker(s)", flush=True)

    floor, fwd, bwd, upd = [], [], [], []
    tree = TreeRSS()
    with Runner(arch, neurons, device=args.device, n_steps=args.steps, samples_per_run=-(-args.batch // args.workers),
                parallel_runs=args.workers) as runner:
        for r in range(args.repeats + 1):
            if r == 1:       # after the build: the compiler is not part of training
                tree.__enter__()
            idx = np.arange(r * args.batch, (r + 1) * args.batch) % len(enc)
            inputs = enc.encode(idx)
            t1 = time.perf_counter()
            rec = runner.run(weights, inputs)
            t2 = time.perf_counter()
            res = backward(rec, weights, params, labels[idx], settings=settings, tables=tables)
            t3 = time.perf_counter()
            grads = res.grads
            for name, g in regularizer_gradients(weights).items():
                grads[name] = grads[name] + g
            adam.step(grads)
            t4 = time.perf_counter()
            if r:            # the first repeat builds the binary
                for lst, dt in ((fwd, t2 - t1), (bwd, t3 - t2), (upd, t4 - t3)):
                    lst.append(1000 * dt / args.batch)
    tree.__exit__()
    # peak memory of training alone, before the floor's dense float64 input raster
    self_mb, child_mb = rss_mb(), rss_mb(resource.RUSAGE_CHILDREN)
    ours_mb = max(self_mb, tree.peak_mb)
    for r in range(1, args.repeats + 1):   # the floor on the same batches, same weights
        inputs = enc.encode(np.arange(r * args.batch, (r + 1) * args.batch) % len(enc))
        t0 = time.perf_counter()
        simulate(weights, params, inputs)
        floor.append(1000 * (time.perf_counter() - t0) / args.batch)

    med = {k: statistics.median(v) for k, v in
           (("floor", floor), ("forward", fwd), ("backward", bwd), ("update", upd))}
    step = med["forward"] + med["backward"] + med["update"]
    print(f"{'what':44s} {'ms/sample':>10s} {'x floor':>8s}")
    print(f"{'NumPy dense forward (floor, float64)':44s} {med['floor']:10.2f} {1.0:8.2f}")
    print(f"{'Brian2 forward (' + args.device + ')':44s} {med['forward']:10.2f} {med['forward'] / med['floor']:8.2f}")
    print(f"{'ST-RSBP backward (engine, float32)':44s} {med['backward']:10.2f} {med['backward'] / med['floor']:8.2f}")
    print(f"{'update (regulariser + Adam)':44s} {med['update']:10.2f} {med['update'] / med['floor']:8.2f}")
    print(f"{'training step total':44s} {step:10.2f} {step / med['floor']:8.2f}")
    print(f"peak RSS: Python process {self_mb:.0f} MB; process tree during the timed steps "
          f"(Python + {args.workers} binary run(s) at once) {tree.peak_mb:.0f} MB; "
          f"largest child ever {child_mb:.0f} MB (the compiler of the one-time build)")
    if not args.skip_snntorch:
        snn, why = run_snntorch(args.snntorch_python, args.batch, args.steps,
                                 max(2, args.repeats // 2), args.snntorch_threads)
        if snn is None:
            print(f"snnTorch BPTT: not measured ({why})")
        else:
            print(f"{'snnTorch BPTT training step':44s} {snn['ms_per_sample']:10.2f} "
                  f"{snn['ms_per_sample'] / med['floor']:8.2f}   peak RSS {snn['peak_rss_mb']:.0f} MB "
                  f"(torch {snn['torch']}, {snn['threads']} threads)")
            print(f"ST-RSBP step / snnTorch step: {step / snn['ms_per_sample']:.2f}; "
                  f"peak memory ratio (our process tree / snnTorch): {ours_mb / snn['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()
