"""Brian2's cpp_standalone device: compile once, rerun the binary with run_args.

The network is built and compiled once (``build_on_run=False``); every run
passes the input event list, the pointers and every weight vector as
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
import shutil
import subprocess
import tempfile

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
    results_dir_kept,
    run_environment,
    standalone_device,
    write_run_args,
)
from ._encoding import pad_events

__all__ = ["StandaloneBackend"]


class StandaloneBackend(Backend):
    """cpp_standalone; the base of :class:`._cuda.CudaBackend`.

    Parameters
    ----------
    build_dir : str or None, the project folder; a temporary one if None.
    """

    device_name = "cpp_standalone"
    parallel = True

    def __init__(self, build_dir=None):
        super().__init__()
        self.dev = None
        self._user_build_dir = build_dir
        self._build_dir = None
        self._created_build_dir = False

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
        if self._build_dir and not keep_build_dir and self._created_build_dir:
            shutil.rmtree(self._build_dir, ignore_errors=True)

    # -- running -----------------------------------------------------------------
    def run_args(self, vecs: list[np.ndarray], events: tuple[np.ndarray, np.ndarray]) -> dict:
        """run_args of one chunk (the input list padded to capacity, every weight vector)."""
        values, ptr = events
        nw, cap = self.network, self.spec.capacity
        items = [(nw.spk, pad_events(values, cap), cap, "input event list"),
                 (nw.inp.ptr, ptr, self.spec.arch.n_inputs, "input pointers")]
        for s, w in zip(nw.synapses, vecs):
            items.append((s.syn.w, w, nw.n_synapses(s), f"layer {s.k} {s.kind} weights"))
        _check_run_args(items)
        return {key: val for key, val, _, _ in items}

    def run(self, vecs, group, events) -> list[list[list[SpikeTrains]]]:
        if len(group) == 1:
            return [self._run_one(vecs, events[0])]
        return self._run_many(vecs, events)

    def _run_one(self, vecs, events) -> list[list[SpikeTrains]]:
        run_args = self.run_args(vecs, events)
        dev = self.dev
        try:
            dev.run(directory=self._build_dir, with_output=False, run_args=run_args)
        finally:
            forget_run_args(dev, self._build_dir)
        self.network.check_order()
        return self.split(self.spec.samples_per_run, 0)

    def _run_many(self, vecs, events) -> list[list[list[SpikeTrains]]]:
        """Run several chunks at once: one process of the compiled binary each."""
        from brian2 import prefs
        dev, build_dir = self.dev, self._build_dir
        written, procs, dirs = set(), [], []
        run_cmd = prefs.devices.cpp_standalone.run_cmd_unix
        run_cmd = [run_cmd] if isinstance(run_cmd, str) else list(run_cmd)
        env = run_environment(dev)
        with results_dir_kept(dev):
            try:
                for r, ev in enumerate(events):
                    args = write_run_args(dev, build_dir, self.run_args(vecs, ev), written)
                    rdir = os.path.join(build_dir, f"results_{r}", "")
                    os.makedirs(rdir, exist_ok=True)
                    dirs.append(rdir)
                    out = open(os.path.join(rdir, "stdout.txt"), "w")
                    procs.append((subprocess.Popen(run_cmd + ["--results_dir", rdir] + args, cwd=build_dir,
                                                   stdout=out, stderr=subprocess.STDOUT, env=env), out))
                _wait_all(procs, dirs, build_dir)
                results = []
                for rdir in dirs:
                    read_results_from(dev, rdir)
                    self.network.check_order()
                    results.append(self.split(self.spec.samples_per_run, 0))
                return results
            finally:
                for proc, out in procs:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                    out.close()
                for name in written:
                    fname = os.path.join(build_dir, "static_arrays", name)
                    if os.path.exists(fname):
                        os.remove(fname)


def _wait_all(procs, dirs: list[str], build_dir: str) -> None:
    """Wait for every binary; RuntimeError with the first failure's output if one failed."""
    failed = []
    for r, (proc, out) in enumerate(procs):
        if proc.wait() != 0:
            failed.append(r)
        out.close()
    if failed:
        with open(os.path.join(dirs[failed[0]], "stdout.txt")) as fh:
            tail = fh.read()[-2000:]
        raise RuntimeError(f"the Brian2 binary failed on chunk(s) {failed} "
                           f"(project directory {build_dir}):\n{tail}")


def _check_run_args(items) -> None:
    """Brian2 silently ignores a run_args array of the wrong size: check every one."""
    for _key, val, expected, what in items:
        if np.size(val) != expected:
            raise ValueError(f"internal error: the run_args array for the {what} has {np.size(val)} "
                             f"values, the built network expects {expected}")
        if not np.all(np.isfinite(val)):
            raise ValueError(f"the {what} contain NaN or inf")
