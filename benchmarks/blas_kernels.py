"""Do the trained weights depend on the BLAS kernel? The same batches under two OpenBLAS kernels.

Trains the first ``--batches`` mini-batches of the ``fashion-mnist-b16`` preset (full training set,
seed 0, cpp_standalone, 2 workers) twice, each in a fresh interpreter: once with the kernel
OpenBLAS picks for this CPU, once with ``OPENBLAS_CORETYPE=--coretype`` (default Haswell, the AVX2
kernel), and prints each run's kernel and the largest |difference| of every weight array after
batches 1, 10 and the last. The engine's float32 sums are reduced in a kernel-specific order, so
any difference appears after the first batch and grows as the spikes change.

    python benchmarks/blas_kernels.py --batches 100 [--coretype Haswell]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def child(n: int, out: Path, keep: set[int]) -> None:
    """One run (in its own interpreter, so that OPENBLAS_CORETYPE applies): n batches, weights saved."""
    from rsnn_brian.config import load_preset
    from rsnn_brian.training.rundir import blas_info
    from rsnn_brian.training.trainer import Trainer
    print(blas_info()[0]["architecture"])
    cfg = load_preset("fashion-mnist-b16")
    tr = Trainer(cfg, out / "run", progress=False)
    tr.open_simulator()
    order, B = tr.order(0), cfg.batch_size
    try:
        for b in range(1, n + 1):          # as Trainer.run_batches: the batch's inputs, then the step
            idx = order[(b - 1) * B:b * B]
            tr.step(idx, 0, tr.train_set.inputs(idx, 0))
            if b in keep:
                np.savez(out / f"b{b}.npz", **tr.weights.to_arrays())
    finally:
        if tr.pipeline is not None:
            tr.pipeline.close()
        getattr(tr.sim, "close", lambda: None)()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=100, help="mini-batches of 16 (default %(default)s)")
    ap.add_argument("--coretype", default="Haswell", help="OPENBLAS_CORETYPE of the second run (default %(default)s)")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)       # internal: one run into this folder
    ap.add_argument("--keep", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        return child(args.batches, args.child, {int(k) for k in args.keep.split(",")})
    if args.batches < 1:
        ap.error("--batches must be at least 1")
    keep = sorted({1, min(10, args.batches), args.batches})
    with tempfile.TemporaryDirectory() as tmp:
        kernels = []
        for name, extra in (("a", {}), ("b", {"OPENBLAS_CORETYPE": args.coretype})):
            out = Path(tmp) / name
            out.mkdir()
            env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"} | extra
            res = subprocess.run([sys.executable, __file__, "--batches", str(args.batches), "--child", str(out),
                                  "--keep", ",".join(map(str, keep))], env=env, capture_output=True, text=True)
            if res.returncode:
                raise SystemExit(f"blas_kernels: the run with {extra or 'the default kernel'} failed: "
                                 f"{res.stderr.strip().splitlines()[-1]}")
            kernels.append(res.stdout.split()[0])
        print(f"kernels: {kernels[0]} (default) and {kernels[1]} (OPENBLAS_CORETYPE={args.coretype})")
        for b in keep:
            a, c = np.load(Path(tmp) / "a" / f"b{b}.npz"), np.load(Path(tmp) / "b" / f"b{b}.npz")
            diffs = ", ".join(f"{k} {np.abs(a[k].astype(float) - c[k]).max():.3g}"
                              for k in ("ff1", "ff2", "rec2", "ff3") if k in a.files)
            print(f"after batch {b:>4}: max |w_a - w_b|  {diffs}")


if __name__ == "__main__":
    main()
