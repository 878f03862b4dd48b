"""Brian2's cpp_standalone device: compile once, rerun the binary with run_args.

The network is built and compiled once (``build_on_run=False``); every run
passes the input event list, the pointers and first steps and every weight vector as
``run_args`` (BRIAN2_NOTES section 3), and deletes their files afterwards.
Brian2 does not check the size of a dynamic (synaptic) run_args array, so
every array is checked here. A chunk is always K samples: a last partial
chunk is padded with empty inputs (the runner drops the padded samples).
Only one standalone runner can be open at a time in a process (Brian2's
standalone device is a process-wide singleton; see
:func:`._brian_private.claim_standalone`).

``parallel_runs = N`` (cpp_standalone) starts up to N copies of the one
compiled binary at once, each on its own chunk of K samples with its own
results folder (``results_0`` ...): Brian2 compiles once, the samples are
independent, and a chunk is one process, so a batch of N*K samples uses N
cores without OpenMP (which was slower here, BRIAN2_NOTES finding 3) and
without a second Python process. The run-time arguments are written exactly
as ``device.run`` writes them (Brian2's own ``_prepare_*_run_arg``)
and the monitors are read back through Brian2 from each results folder.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import tempfile
import threading

import numpy as np

from ..spikes import SpikeTrains
from ._backend import Backend, BuildSpec
from ._brian_private import (
    activate_standalone,
    brian_globals,
    claim_standalone,
    forget_run_args,
    read_results_from,
    release_standalone,
    remove_run_args,
    run_environment,
    standalone_device,
    write_run_args,
)
from ._encoding import first_steps, pad_events

__all__ = ["StandaloneBackend"]

#: A memory-backed folder for the binaries' results, used when it has SHM_MIN_FREE bytes free.
SHM = "/dev/shm"
SHM_MIN_FREE = 1 << 30


class StandaloneBackend(Backend):
    """cpp_standalone; the base of :class:`._cuda.CudaBackend`.

    Parameters
    ----------
    build_dir : str or None, the project folder; a temporary one if None.
    """

    device_name = "cpp_standalone"
    parallel = True
    #: Start the binary here (True) or through Brian2's ``device.run`` (brian2cuda).
    own_launch = True
    #: Processes of the binary running at once (the runner's ``parallel_runs``).
    max_parallel = 1

    def __init__(self, build_dir=None):
        super().__init__()
        self.dev = None
        self._user_build_dir = build_dir
        self._build_dir = None
        self._created_build_dir = False
        self._results_dir = None

    @property
    def build_dir(self) -> str | None:
        return self._build_dir

    # -- building ------------------------------------------------------------
    def set_prefs(self, spec: BuildSpec) -> None:
        from brian2 import prefs
        super().set_prefs(spec)
        prefs.devices.cpp_standalone.openmp_threads = spec.openmp_threads
        if spec.extra_compile_args is not None:
            prefs.codegen.cpp.extra_compile_args = list(spec.extra_compile_args)

    def build(self, spec: BuildSpec) -> None:
        """Claim Brian2's standalone device, create the network, generate and compile the code."""
        self.set_prefs(spec)
        dev = standalone_device(self.device_name)
        claim_standalone(dev, self)
        self.dev = dev
        try:
            activate_standalone(dev, self.device_name)
            self.build_objects(spec)
            self._ensure_build_dir()
            self.before_compile()
            self.network.net.run(spec.run_duration)
            dev.build(directory=self._build_dir, run=False, compile=True, with_output=False)
        except BaseException:
            release_standalone(dev, self)
            dev.reinit()
            raise

    def _ensure_build_dir(self) -> None:
        if self._build_dir is not None:
            return
        if self._user_build_dir is None:
            self._build_dir = tempfile.mkdtemp(prefix="rsnn_brian_build_")
            self._created_build_dir = True
        else:
            self._build_dir = os.path.abspath(self._user_build_dir)
            self._created_build_dir = not os.path.exists(self._build_dir)

    def before_compile(self) -> None:
        """Hook: the objects exist and the build folder is known."""

    def weights_readable(self, n_runs: int) -> bool:
        return n_runs > 0

    def discard(self) -> None:
        with brian_globals():
            self.dev.reinit()

    def close(self, keep_build_dir: bool) -> None:
        if self.dev is not None and release_standalone(self.dev, self):
            with brian_globals():
                self.dev.reinit()
        self.network = None
        if self._results_dir not in (None, self._build_dir):
            shutil.rmtree(self._results_dir, ignore_errors=True)
        self._results_dir = None
        if self._build_dir and not keep_build_dir and self._created_build_dir:
            shutil.rmtree(self._build_dir, ignore_errors=True)

    # -- running -----------------------------------------------------------------
    def run_args(self, vecs: list[np.ndarray], events: tuple[np.ndarray, np.ndarray]) -> dict:
        """run_args of one chunk (the input list padded to capacity, every weight vector)."""
        values, ptr = events
        nw, cap = self.network, self.spec.capacity
        items = [(nw.spk, pad_events(values, cap), cap, "input event list"),
                 (nw.inp.ptr, ptr, self.spec.arch.n_inputs, "input pointers"),
                 (nw.inp.next_t, first_steps(values, ptr), self.spec.arch.n_inputs, "input first steps")]
        for s, w in zip(nw.synapses, vecs):
            items.append((s.syn.w, w, nw.n_synapses(s), f"layer {s.k} {s.kind} weights"))
        _check_run_args(items)
        return {key: val for key, val, _, _ in items}

    def run(self, vecs, group, events, done=None) -> list[list[list[SpikeTrains]]]:
        """Every chunk through the compiled binary, at most ``max_parallel`` processes at a time.

        A new process starts as soon as one ends; its results are read (and handed to
        ``done(r, result)``) while the others run.
        """
        if not self.own_launch:
            return super().run(vecs, group, events, done)
        dev, build_dir = self.dev, self._build_dir
        slots = max(int(self.max_parallel), 1)
        written, running, results = {}, {}, [None] * len(group)
        ended = queue.SimpleQueue()
        env = run_environment(dev)
        todo, free = list(range(len(group))), list(range(slots))
        # the device reads the monitors (and read_weights the synapses) from the last chunk's folder
        try:
            while todo or running:
                while todo and free:
                    r, slot = todo.pop(0), free.pop(0)
                    running[r] = self._launch(r, slot, vecs, events[r], written, env, ended)
                r = ended.get()
                proc, out, rdir, slot = running.pop(r)
                out.close()
                if proc.returncode != 0:
                    with open(os.path.join(rdir, "stdout.txt")) as fh:
                        tail = fh.read()[-2000:]
                    raise RuntimeError(f"the Brian2 binary failed on chunk {r} (exit status "
                                       f"{proc.returncode}; project directory {build_dir}):\n{tail}")
                read_results_from(dev, rdir)
                self.network.check_order()
                results[r] = self.split(self.spec.samples_per_run, 0)
                free.append(slot)
                if done is not None:
                    done(r, results[r])
            return results
        finally:
            for proc, out, _, _ in running.values():
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                out.close()
            remove_run_args(build_dir, written)

    def _launch(self, r: int, slot: int, vecs, events, written: dict, env: dict, ended):
        """Start the binary on chunk ``r`` in results folder ``slot``; ``r`` goes to ``ended`` when it ends."""
        from brian2 import prefs
        run_cmd = prefs.devices.cpp_standalone.run_cmd_unix
        run_cmd = [run_cmd] if isinstance(run_cmd, str) else list(run_cmd)
        args = write_run_args(self.dev, self._build_dir, self.run_args(vecs, events), written)
        rdir = os.path.join(self._results_root(), f"results_{slot}", "")
        os.makedirs(rdir, exist_ok=True)
        out = open(os.path.join(rdir, "stdout.txt"), "w")
        try:
            proc = subprocess.Popen(run_cmd + ["--results_dir", rdir] + args, cwd=self._build_dir,
                                    stdout=out, stderr=subprocess.STDOUT, env=env)
        except BaseException:
            out.close()
            raise
        threading.Thread(target=lambda: (proc.wait(), ended.put(r)), daemon=True).start()
        return proc, out, rdir, slot

    def run_chunk(self, vecs, chunk, events) -> list[list[SpikeTrains]]:
        """One chunk through Brian2's own ``device.run`` (brian2cuda's device)."""
        return self._run_one(vecs, events)

    def _results_root(self) -> str:
        """Where the binaries write their results: a folder in memory (``/dev/shm``, when it has room;
        writing some 8 MB of arrays per run costs the binary a fifth less CPU there), else the project."""
        if self._results_dir is None:
            self._results_dir = self._build_dir
            try:
                st = os.statvfs(SHM)
                if st.f_bavail * st.f_frsize >= SHM_MIN_FREE:
                    self._results_dir = tempfile.mkdtemp(prefix="rsnn_brian_results_", dir=SHM)
            except OSError:
                pass
        return self._results_dir

    def _run_one(self, vecs, events) -> list[list[SpikeTrains]]:
        """One chunk through Brian2's own ``device.run`` (brian2cuda's device)."""
        run_args = self.run_args(vecs, events)
        dev = self.dev
        try:
            dev.run(directory=self._build_dir, with_output=False, run_args=run_args)
        finally:
            forget_run_args(dev, self._build_dir)
        self.network.check_order()
        return self.split(self.spec.samples_per_run, 0)


def _check_run_args(items) -> None:
    """Brian2 silently ignores a run_args array of the wrong size: check every one."""
    for _key, val, expected, what in items:
        if np.size(val) != expected:
            raise ValueError(f"internal error: the run_args array for the {what} has {np.size(val)} "
                             f"values, the built network expects {expected}")
        if not np.all(np.isfinite(val)):
            raise ValueError(f"the {what} contain NaN or inf")
