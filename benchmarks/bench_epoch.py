"""Where a training epoch's time goes: the trainer end to end, part by part.

Trains the ``fashion-mnist-b16`` preset (784-400-R400-10, T = 400, cpp_standalone,
``--workers`` binaries at once) on ``--train`` training images at batch ``--batch``,
then runs the test pass on ``--test`` images, and prints, per sample:

- the wall time of training and of the test pass (the figures that decide an epoch);
- the busy time of each part: drawing the input trains, writing the run-time
  arguments, the Brian2 binary (split into its simulation loop, from the binary's
  own ``last_run_info.txt``, and the rest of its life: start, creating the
  synapses, reading the arguments, writing its results), reading the spikes back,
  the ST-RSBP engine, and the update (regulariser + Adam);
- how busy the cores were: the parts' summed time over the wall time (parts run
  at once: the binaries of a batch side by side, a share's engine thread beside
  the other share's binary, the next batch's inputs beside both).

Nothing here changes what the trainer does; the parts are timed by wrapping the
functions that do them. The first batch (the one-time build and the first run)
is not counted.

    python benchmarks/bench_epoch.py --batch 16 --train 960 --test 480 --workers 2
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

PARTS = [("inputs", "drawing the input trains"),
         ("write_args", "writing the run-time arguments"),
         ("binary_sim", "binary: simulation loop"),
         ("binary_rest", "binary: start, synapses, arguments, results"),
         ("read", "reading the spikes back"),
         ("engine", "ST-RSBP engine (per share)"),
         ("update", "update (regulariser + Adam)")]


class Clock:
    """Busy seconds per part, summed over threads."""

    def __init__(self):
        self.busy = defaultdict(float)
        self.lock = threading.Lock()
        self.on = False

    def add(self, part: str, seconds: float) -> None:
        if self.on:
            with self.lock:
                self.busy[part] += seconds

    def wrap(self, owner, name: str, part: str) -> None:
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.add(part, time.perf_counter() - t0)
        setattr(owner, name, timed)


def instrument(clock: Clock, trainer) -> None:
    """Wrap the functions that do each part (the binary: from its start to the reading of its results)."""
    import rsnn_brian.optim as optim
    from rsnn_brian.brian import _standalone
    from rsnn_brian.training import distributed
    clock.wrap(_standalone, "write_run_args", "write_args")
    clock.wrap(_standalone.StandaloneBackend, "split", "read")
    clock.wrap(distributed, "differentiate", "engine")
    clock.wrap(optim, "regularizer_gradients", "update")
    clock.wrap(trainer.optimizer, "step", "update")
    for ds in (trainer.train_set, trainer.test_set):
        clock.wrap(ds, "inputs", "inputs")
    started = {}
    launch = _standalone.StandaloneBackend._launch

    def timed_launch(self, r, slot, *a, **k):
        started[slot] = time.perf_counter()
        return launch(self, r, slot, *a, **k)
    _standalone.StandaloneBackend._launch = timed_launch
    read_from = _standalone.read_results_from

    def timed_read(dev, rdir):
        slot = int(os.path.basename(os.path.dirname(rdir)).rsplit("_", 1)[1])
        life = time.perf_counter() - started.pop(slot)
        with open(os.path.join(rdir, "last_run_info.txt")) as fh:
            sim = float(fh.read().split()[0])
        clock.add("binary_sim", sim)
        clock.add("binary_rest", max(life - sim, 0.0))
        return read_from(dev, rdir)
    _standalone.read_results_from = timed_read


def table(title: str, clock: Clock, wall: float, n: int) -> None:
    print(f"\n{title}: {n} samples, wall {1e3 * wall / n:.2f} ms/sample ({n / wall:.1f} samples/s)")
    print(f"  {'part':46s} {'busy ms/sample':>15s} {'share of wall':>14s}")
    total = 0.0
    for key, label in PARTS:
        t = clock.busy.get(key, 0.0)
        total += t
        if t:
            print(f"  {label:46s} {1e3 * t / n:15.2f} {t / wall:14.2f}")
    print(f"  {'sum of the parts':46s} {1e3 * total / n:15.2f} {total / wall:14.2f}  (cores busy on average)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--train", type=int, default=960, help="training samples timed (after one warm-up batch)")
    ap.add_argument("--test", type=int, default=480)
    ap.add_argument("--preset", default="fashion-mnist-b16")
    args = ap.parse_args(argv)
    from rsnn_brian.config import load_preset
    from rsnn_brian.training.trainer import Trainer
    cfg = load_preset(args.preset).replace(batch_size=args.batch, workers=args.workers,
                                           train_limit=args.train + args.batch, test_limit=args.test)
    out = tempfile.mkdtemp(prefix="rsnn_bench_epoch_")
    tr = Trainer(cfg, out, progress=False)
    clock = Clock()
    instrument(clock, tr)
    print(f"# {cfg.architecture}, T = {cfg.n_steps}, batch {cfg.batch_size}, {cfg.workers} worker(s), "
          f"device {cfg.device}, gradient '{cfg.gradient}', {os.cpu_count()} cores")
    t0 = time.perf_counter()
    tr.open_simulator()
    order = tr.order(0)
    tr.step(order[:cfg.batch_size], 0)                   # the first run: not counted
    print(f"build and first batch: {time.perf_counter() - t0:.1f} s")
    # the epoch loop itself (prefetching included), over the remaining samples
    tr.batch_pos = 1
    clock.on = True
    t0 = time.perf_counter()
    tr.run_batches(0)
    wall = time.perf_counter() - t0
    n = len(order) - cfg.batch_size
    table("training", clock, wall, n)
    clock.busy.clear()
    t0 = time.perf_counter()
    res = tr.evaluate(tr.test_set)
    wall = time.perf_counter() - t0
    table(f"test pass (accuracy {res['accuracy']:.1f} %)", clock, wall, len(tr.test_set))
    for closable in (tr.sim, tr.pipeline):
        if closable is not None:
            closable.close()


if __name__ == "__main__":
    main()
