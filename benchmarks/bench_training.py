"""ms per training sample and peak memory of the ST-RSBP training step, 784-400-R400-10, T = 400.

Prints, from one run, medians over repeats of:
- the dense NumPy forward pass (rsnn_brian.reference.simulate, float64, BLAS
  on the two cores the step uses; benchmarks/_measure.py): the floor;
- the training step as the trainer takes it (rsnn_brian.training.pipeline):
  the batch cut into ``--workers`` shares, one Brian2 run of the compiled
  binary each, started at once, each share back-propagated (engine, float32)
  as soon as its run ends, then the update (regulariser + Adam);
- the same parts one after the other on other batches: Brian2 forward
  (writing weights and reading spikes included), backward, update;
- snnTorch training the same network (our weights, thresholds, encoded
  inputs and loss; benchmarks/snntorch_bptt.py) with surrogate-gradient BPTT
  at the same T and batch size, in its own process, when snnTorch is
  importable here or through --snntorch-python (PyTorch may live in another
  venv); both networks' spike counts at the initial weights are printed.

Inputs: real Fashion-MNIST images ($RSNN_BRIAN_DATA, else ../shared/data
beside the repository, else the built-in subset), Bernoulli-encoded as in the
paper; thresholds 20/20/15; weights U(-1, 1).

Memory is the whole process tree: a sampler thread adds up the resident
memory of this process and every child (the binaries) every 5 ms during
the timed steps, and the peak of that sum is what is compared.

    python benchmarks/bench_training.py --batch 128 --repeats 5 --workers 2 [--snntorch-python /path/to/python]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))                     # the helpers beside this script
from _measure import FLOOR_LABEL, PeakRSS, numpy_floor  # noqa: E402


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


def run_snntorch(python: str | None, weights, params, inputs, labels, repeats: int, threads: int = 0):
    """snnTorch BPTT on our network (weights, thresholds, encoded inputs, loss) in its own process."""
    if python is None:
        try:
            import snntorch  # noqa: F401
            python = sys.executable
        except ImportError:
            return None, "snnTorch not importable here (use --snntorch-python)"
    from snntorch_bptt import run_child, write_network
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "net.npz"
        write_network(npz, weights, params, inputs, labels)
        try:
            return run_child(python, npz, repeats, threads), None
        except RuntimeError as err:
            return None, str(err)


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
                    help="shares per batch: Brian2 runs at once and engine threads (cpp_standalone)")
    args = ap.parse_args(argv)
    if args.workers < 1 or (args.workers > 1 and args.device != "cpp_standalone"):
        ap.error("--workers must be >= 1, and > 1 only with cpp_standalone")

    from types import SimpleNamespace

    from brian2 import ms

    from rsnn_brian.brian import NeuronConfig, Runner
    from rsnn_brian.connectivity import init_weights
    from rsnn_brian.engine import EngineSettings, backward, resolve_tables
    from rsnn_brian.network import parse_architecture
    from rsnn_brian.optim import Adam, AdamSettings, regularizer_gradients
    from rsnn_brian.training.distributed import combine_grads, share_slices
    from rsnn_brian.training.pipeline import SharePipeline

    arch = parse_architecture(args.arch)
    thresholds = [20.0] * (len(arch.layers) - 2) + [15.0]
    neurons = [NeuronConfig(v_th=th) for th in thresholds]
    params = [n.to_params(1 * ms) for n in neurons]
    weights = init_weights(arch, np.random.default_rng(0))
    initial = weights.copy()
    enc, labels, source = load_inputs(args.batch, args.steps, seed=0)
    data = SimpleNamespace(inputs=lambda idx, epoch=0: enc.encode(idx), labels=labels)
    tables = resolve_tables(None, params, args.steps)[1:]
    # the trainer's engine settings: one thread per share when the batch is cut into shares
    settings = EngineSettings(option=args.gradient, dtype="float32", threads=1)
    adam = Adam(weights.trainable(), AdamSettings(lr=1e-3), masks=weights.trainable_masks())
    pipeline = SharePipeline(args.workers)
    print(f"# {args.arch}, T = {args.steps}, batch {args.batch}, {source}, {args.repeats} repeats (medians), "
          f"gradient '{args.gradient}', device {args.device}, {args.workers} share(s) per batch", flush=True)

    fwd, bwd, upd, step_ms, spikes = [], [], [], [], None
    tree = PeakRSS()
    K = -(-args.batch // args.workers)
    with Runner(arch, neurons, device=args.device, n_steps=args.steps, samples_per_run=K,
                parallel_runs=args.workers) as runner:
        for r in range(2 * args.repeats + 1):
            if r == 1:       # after the build: the compiler is not part of training
                tree.__enter__()
            idx = np.arange(r * args.batch, (r + 1) * args.batch) % len(enc)
            inputs = enc.encode(idx)
            if r % 2 == 1:   # the trainer's step: each share back-propagated as soon as its run ends
                t1 = time.perf_counter()
                shares = [idx[sl] for sl in share_slices(idx.size, args.workers)]
                outs = pipeline.run(runner, weights, params, settings, tables, data, shares, 0,
                                    np.ones(idx.size), inputs)
                grads = combine_grads(outs, idx.size)
                for name, g in regularizer_gradients(weights).items():
                    grads[name] = grads[name] + g
                adam.step(grads)
                step_ms.append(1000 * (time.perf_counter() - t1) / args.batch)
                continue
            # the same parts one after the other, to see their sizes (r = 0 builds the binary)
            t1 = time.perf_counter()
            rec = runner.run(weights, inputs)
            t2 = time.perf_counter()
            res = backward(rec, weights, params, labels[idx],
                           settings=EngineSettings(option=args.gradient, dtype="float32", threads=args.workers),
                           tables=tables)
            t3 = time.perf_counter()
            grads = res.grads
            for name, g in regularizer_gradients(weights).items():
                grads[name] = grads[name] + g
            adam.step(grads)
            t4 = time.perf_counter()
            if r == 0:
                spikes = [float(rec.counts(k).sum()) / args.batch for k in range(1, len(rec.layers))]
            else:
                for lst, dt in ((fwd, t2 - t1), (bwd, t3 - t2), (upd, t4 - t3)):
                    lst.append(1000 * dt / args.batch)
            del rec, res, grads        # the trainer keeps no batch's recording into the next step
    tree.__exit__()
    pipeline.close()
    ours_mb = tree.peak_mb        # peak memory of training alone, before the floor's dense float64 input raster
    floor = [numpy_floor(weights, params, [enc.encode(np.arange(r * args.batch, (r + 1) * args.batch) % len(enc))
                                           for r in range(1, args.repeats + 1)])[0]]   # same batches, same weights

    med = {k: statistics.median(v) for k, v in
           (("floor", floor), ("forward", fwd), ("backward", bwd), ("update", upd), ("step", step_ms))}
    print(f"{'what':52s} {'ms/sample':>10s} {'x floor':>8s}")
    print(f"{FLOOR_LABEL:52s} {med['floor']:10.2f} {1.0:8.2f}")
    print("the parts, one after the other:")
    print(f"{'  Brian2 forward (' + args.device + ', ' + str(args.workers) + ' run(s) at once)':52s} "
          f"{med['forward']:10.2f} {med['forward'] / med['floor']:8.2f}")
    print(f"{'  ST-RSBP backward (engine, float32, ' + str(args.workers) + ' thread(s))':52s} "
          f"{med['backward']:10.2f} {med['backward'] / med['floor']:8.2f}")
    print(f"{'  update (regulariser + Adam)':52s} {med['update']:10.2f} {med['update'] / med['floor']:8.2f}")
    print(f"{'  sum':52s} {med['forward'] + med['backward'] + med['update']:10.2f} "
          f"{(med['forward'] + med['backward'] + med['update']) / med['floor']:8.2f}")
    step = med["step"]
    print(f"{'training step (the trainer: shares back-propagated as their runs end)':52s} {step:10.2f} "
          f"{step / med['floor']:8.2f}")
    print(f"peak RSS during the timed steps (sampled every 5 ms): process tree (Python + {args.workers} binary "
          f"run(s) at once) {tree.peak_mb:.0f} MB, the binaries alone {tree.peak_children_mb:.0f} MB")
    print("spikes per sample at the initial weights, ours: " + ", ".join(f"layer {k + 1} {c:.1f}"
                                                                          for k, c in enumerate(spikes)))
    if not args.skip_snntorch:
        snn, why = run_snntorch(args.snntorch_python, initial, params, enc.encode(np.arange(args.batch)),
                                labels[:args.batch], max(2, args.repeats // 2), args.snntorch_threads)
        if snn is None:
            print(f"snnTorch BPTT: not measured ({why})")
        else:
            print(f"{'snnTorch BPTT training step':52s} {snn['ms_per_sample']:10.2f} "
                  f"{snn['ms_per_sample'] / med['floor']:8.2f}   peak RSS {snn['peak_rss_mb']:.0f} MB "
                  f"(torch {snn['torch']}, {snn['threads']} threads)")
            if "spikes_per_sample" in snn:
                print("spikes per sample at the initial weights, snnTorch: "
                      + ", ".join(f"layer {k + 1} {c:.1f}" for k, c in enumerate(snn["spikes_per_sample"])))
            print(f"ST-RSBP step / snnTorch step: {step / snn['ms_per_sample']:.2f}; "
                  f"peak memory ratio (our process tree / snnTorch): {ours_mb / snn['peak_rss_mb']:.2f}")


if __name__ == "__main__":
    main()
