"""What the benchmarks share: peak memory of a live process tree, CPU time, and the one NumPy floor.

Memory. ``ru_maxrss`` of ``RUSAGE_CHILDREN`` (or of ``RUSAGE_SELF`` in a
child) is not the memory a child used: Linux carries the parent's resident
size at fork over into the child's high-water mark, so even ``true`` started
from a 300 MB Python reports 300 MB. :class:`PeakRSS` instead samples, every
``period`` seconds in a thread, the resident memory (VmRSS) of a root process
and of every descendant alive at that moment, and keeps the peak of the sum
(and of the descendants' part). A child caught between fork and exec (its
parent's command line) is its parent's memory and is not counted. Pages shared
between processes (libraries) are counted in each; a peak shorter than the
period can be missed.

Floor. :func:`numpy_floor` times the dense float64 NumPy forward pass
(``rsnn_brian.reference.simulate``) with BLAS limited to
:data:`FLOOR_BLAS_THREADS` thread(s), whatever the environment says, so that
every benchmark's "x floor" divides by the same thing.

Only the standard library at import (``snntorch_bptt.py`` imports this module
in PyTorch's interpreter, which need not have the package).
"""

from __future__ import annotations

import os
import statistics
import threading
import time

#: BLAS threads of the NumPy floor: the two cores that the 2-worker training step uses.
FLOOR_BLAS_THREADS = 2
FLOOR_LABEL = f"NumPy forward (floor, f64, {FLOOR_BLAS_THREADS} BLAS threads)"


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


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def tree_rss_kb(root: int) -> tuple[int, int]:
    """(root + all live descendants, descendants only) resident memory in kB, now.

    A descendant with its parent's command line is a fork that has not yet
    called exec (e.g. ``subprocess`` starting a binary): its resident pages
    are its parent's, so it is not counted (nor are fork-only workers).
    """
    if os.path.exists(f"/proc/{root}/task/{root}/children"):
        own, kids = _rss_kb(root), 0
        todo = [(c, _cmdline(root)) for c in _children(root)]
        while todo:
            pid, parent_cmd = todo.pop()
            cmd = _cmdline(pid)
            if cmd != parent_cmd:
                kids += _rss_kb(pid)
            todo.extend((c, cmd) for c in _children(pid))
        return own + kids, kids
    import psutil  # no /proc children files: psutil walks the table
    try:
        p = psutil.Process(root)
        own, kids = p.memory_info().rss // 1024, 0
        cmds = {root: p.cmdline()}
        for c in p.children(recursive=True):
            try:
                cmds[c.pid] = c.cmdline()
                if cmds[c.pid] != cmds.get(c.ppid()):
                    kids += c.memory_info().rss // 1024
            except psutil.Error:
                pass
        return own + kids, kids
    except psutil.Error:
        return 0, 0


class PeakRSS:
    """Peak resident memory of a process tree while the ``with`` block runs.

    ``root``: the pid whose tree is summed (default this process).
    ``peak_mb``: peak of the whole tree; ``peak_children_mb``: peak of the
    descendants alone; ``start_mb``: the tree at the first sample.
    """

    def __init__(self, root: int | None = None, period: float = 0.005):
        self.root, self.period = root or os.getpid(), period
        self.peak_kb = self.peak_children_kb = 0
        self.start_kb: int | None = None
        self.n_samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def sample(self) -> None:
        total, kids = tree_rss_kb(self.root)
        if self.start_kb is None:
            self.start_kb = total
        self.peak_kb = max(self.peak_kb, total)
        self.peak_children_kb = max(self.peak_children_kb, kids)
        self.n_samples += 1

    def _loop(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.period)

    def __enter__(self):
        self.sample()                                # one sample before the block, whatever the period
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if not self._thread.is_alive():               # never entered: nothing was measured
            return
        self._stop.set()
        self._thread.join()
        self.sample()

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024

    @property
    def peak_children_mb(self) -> float:
        return self.peak_children_kb / 1024

    @property
    def start_mb(self) -> float:
        return (self.start_kb or 0) / 1024


def cpu_seconds() -> float:
    """CPU time (user + system) of this process, all its threads, and its children that have ended.

    Less sensitive than wall time to other jobs on the machine: what one step
    costs, not how long it waited for a core.
    """
    import resource
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def numpy_floor(weights, params, batches, repeats: int | None = None) -> tuple[float, object]:
    """Median ms per sample of the dense float64 NumPy forward pass, BLAS at FLOOR_BLAS_THREADS.

    ``batches``: a list of input batches (each a list of SpikeTrains or a
    (B, T, n_in) array), timed one after the other; or one batch, timed
    ``repeats`` times. Returns (median ms/sample, the last Recording).
    """
    from threadpoolctl import threadpool_limits

    from rsnn_brian.reference.simulate import simulate
    if repeats is not None:
        batches = [batches] * repeats
    times, rec = [], None
    with threadpool_limits(limits=FLOOR_BLAS_THREADS, user_api="blas"):
        for batch in batches:
            t0 = time.perf_counter()
            rec = simulate(weights, params, batch)
            times.append(1000 * (time.perf_counter() - t0) / len(batch))
    return statistics.median(times), rec
