"""Run a network in Brian2: build once, then simulate batch after batch.

:class:`Runner` builds one explicit Brian2 ``Network`` for an architecture
(every object named, every namespace explicit) and runs batches of input
spike trains through it with new weights each time::

    with Runner("784-400-R400-10", NeuronConfig(), device="cpp_standalone",
                n_steps=400, samples_per_run=64) as runner:
        rec = runner.run(weights, inputs)        # -> rsnn_brian.spikes.Recording

Layout (BRIAN2_NOTES, section 1 to 3): one copy of the network, ``K =
samples_per_run`` samples back to back in one Brian2 run, the state of every
layer reset at each sample boundary by a ``run_regularly`` at
``when='start'``. Larger batches are split into several runs; a last partial
chunk is padded with empty inputs in standalone mode (the padded samples are
dropped).

Input: a NeuronGroup that replays a compact event list of fixed capacity (a
batch that needs more rebuilds with twice the capacity); see
:mod:`._encoding`, which also turns the spike monitors back into
SpikeTrains. The network's objects: :mod:`._network`.

Brian2 globals (device, preferences) are set inside the runner and restored
after each call. Only one standalone runner can be open at a time in a
process (Brian2's standalone device is a process-wide singleton).

``parallel_runs = N`` (cpp_standalone) starts up to N copies of the one
compiled binary at once, each on its own chunk of K samples with its own
results folder; see :mod:`._standalone`.

This facade validates, chunks and times; one backend per device does the
rest: :mod:`._runtime`, :mod:`._standalone` (cpp_standalone) and
:mod:`._cuda` (cuda_standalone). Every private Brian2 call sits in
:mod:`._brian_private`, which also checks the Brian2 version.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..defaults import N_STEPS
from ..network import Architecture, NetworkWeights, parse_architecture
from ..spikes import Recording, as_input_batch
from ._backend import Backend, BuildSpec
from ._brian_private import brian_globals, check_brian2_version
from ._cuda import CudaBackend, import_cuda
from ._encoding import DEFAULT_CAPACITY, _pow2, event_list, initial_capacity
from ._runtime import RuntimeBackend
from ._standalone import StandaloneBackend
from .model import configs_for

__all__ = ["Runner", "DEVICES"]

DEVICES = ("runtime", "cpp_standalone", "cuda_standalone")
_STANDALONE = ("cpp_standalone", "cuda_standalone")


def _positive_int(name: str, value) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class Runner:
    """Simulate batches of an architecture in Brian2.

    Parameters
    ----------
    arch : Architecture or str, e.g. ``"784-400-R400-10"``
    neuron_configs : NeuronConfig, or one per layer with incoming weights
        (per-layer overrides); None for the defaults.
    device : 'runtime' (cython), 'cpp_standalone' or 'cuda_standalone'
    n_steps : int, steps per sample (T)
    samples_per_run : int, samples simulated back to back in one run (K)
    dt : time Quantity, 1 ms by default
    recurrent_masks : {layer index: (n, n) bool mask} of the recurrent
        (and lateral) synapses; fixed at build. If None they are taken from
        the first weights given to :meth:`run` or :meth:`build`.
    build_dir : standalone project folder; a temporary one if None.
    keep_build_dir : keep the build folder on :meth:`close`. A temporary
        folder is always removed; a ``build_dir`` you gave is removed only if
        the runner created it and ``keep_build_dir`` is False.
    input_capacity : int, events in the input list; None: sized from the
        first batch (grows by doubling, with a rebuild, when exceeded).
    openmp_threads : cpp_standalone OpenMP threads (0 = off; on a 2-core
        machine OpenMP was slower, BRIAN2_NOTES finding 3).
    extra_compile_args : replace Brian2's C++ compiler flags if given.
    parallel_runs : cpp_standalone: run up to this many chunks of K samples
        at once, one process each (default 1: one after the other).
    cuda_extra_nvcc_args : extra nvcc flags for cuda_standalone.
    compile_only : cuda_standalone without a GPU: skip GPU detection
        (gpu_id 0, compute capability 7.5 unless set in Brian2's prefs), so
        that code can be generated and compiled; running needs a GPU.

    Attributes
    ----------
    params : list of LayerParams, the dimensionless per-layer parameters (steps)
        for the NumPy engine; the one conversion from units happens here.
    timings : dict, build seconds, number of Brian2 runs, seconds in run().
    """

    #: :meth:`run` takes ``on_chunk`` (the trainer's share pipeline looks for this).
    takes_on_chunk = True

    def __init__(self, arch, neuron_configs=None, device: str = "runtime", n_steps: int = N_STEPS,
                 samples_per_run: int = 16, dt=None, recurrent_masks=None, build_dir=None,
                 keep_build_dir: bool = False, input_capacity: int | None = None,
                 openmp_threads: int = 0, extra_compile_args=None, cuda_extra_nvcc_args=None,
                 compile_only: bool = False, parallel_runs: int = 1):
        check_brian2_version()
        from brian2 import ms
        if isinstance(arch, str):
            arch = parse_architecture(arch)
        if not isinstance(arch, Architecture):
            raise TypeError("arch must be an Architecture or a string like '784-400-R400-10', "
                            f"got {type(arch).__name__}")
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
        if device == "cuda_standalone":
            import_cuda()
        self.n_steps = _positive_int("n_steps", n_steps)
        self.samples_per_run = _positive_int("samples_per_run", samples_per_run)
        self.parallel_runs = _positive_int("parallel_runs", parallel_runs)
        if parallel_runs > 1 and device != "cpp_standalone":
            raise ValueError("parallel_runs > 1 needs device='cpp_standalone'")
        self.arch = arch
        self.device_name = device
        self.dt = 1 * ms if dt is None else dt
        self.configs = configs_for(neuron_configs, len(arch.layers) - 1)
        #: Dimensionless per-layer parameters in steps (for the NumPy engine).
        self.params = [c.to_params(self.dt) for c in self.configs]
        self.masks = None if recurrent_masks is None else {int(k): np.asarray(m, bool)
                                                            for k, m in recurrent_masks.items()}
        self.keep_build_dir = bool(keep_build_dir) and build_dir is not None
        self.input_capacity = input_capacity
        self.openmp_threads = int(openmp_threads)
        self.extra_compile_args = None if extra_compile_args is None else list(extra_compile_args)
        self.cuda_extra_nvcc_args = list(cuda_extra_nvcc_args or [])
        self.compile_only = compile_only
        self._backend: Backend = (RuntimeBackend() if device == "runtime" else
                                  StandaloneBackend(build_dir) if device == "cpp_standalone" else
                                  CudaBackend(build_dir))
        self._built = False
        self._closed = False
        self.timings = {"build_s": 0.0, "runs": 0, "run_s": 0.0}

    @property
    def _build_dir(self) -> str | None:
        """The standalone project folder (None before the build and in runtime mode)."""
        return self._backend.build_dir

    # -- context management ------------------------------------------------
    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release Brian2's standalone device and remove the build folder."""
        if self._closed:
            return
        self._closed = True
        self._backend.close(keep_build_dir=self.keep_build_dir)

    def __del__(self):
        try:
            if not self._closed and self.device_name in _STANDALONE:
                self.close()
        except Exception:
            pass

    # -- building ------------------------------------------------------------
    def build(self, weights: NetworkWeights | None = None, input_capacity: int | None = None,
              inputs=None) -> None:
        """Build the network (and, standalone, compile it). Called by the first :meth:`run`.

        ``inputs``: a batch like those to come (list of :class:`SpikeTrains`), to size the
        input event list by the same rule as a build on first use (no rebuild at the first run).
        """
        if self._closed:
            raise RuntimeError("this Runner is closed")
        if inputs is not None and input_capacity is None and self.input_capacity is None:
            inputs = as_input_batch(inputs, self.arch.n_inputs, self.n_steps)
            input_capacity = self._capacity_for(inputs)
        if weights is not None and self.masks is None:
            self.masks = {k: lw.rec_mask.copy() for k, lw in enumerate(weights.layers, start=1)
                          if lw.rec_mask is not None}
        if self.masks is None:
            raise ValueError("the recurrent masks are unknown: pass recurrent_masks= or give weights to build()")
        if input_capacity is not None:
            self.input_capacity = int(input_capacity)
        if self.input_capacity is None:
            self.input_capacity = DEFAULT_CAPACITY
        spec = BuildSpec(self.arch, tuple(self.configs), self.dt, self.n_steps, self.samples_per_run,
                         self.masks, int(self.input_capacity), self.openmp_threads,
                         None if self.extra_compile_args is None else tuple(self.extra_compile_args),
                         tuple(self.cuda_extra_nvcc_args), bool(self.compile_only))
        t0 = time.perf_counter()
        with brian_globals():
            self._backend.build(spec)
        self.timings["build_s"] += time.perf_counter() - t0
        self._built = True

    def _capacity_for(self, inputs) -> int:
        K = self.samples_per_run
        chunks = [inputs[a:a + K] for a in range(0, len(inputs), K)]
        return initial_capacity(chunks, K, self.n_steps, self.arch.n_inputs, runtime=self.device_name == "runtime")

    def _grow(self, need: int) -> None:
        new = _pow2(need)
        warnings.warn(f"rsnn_brian Runner: input event list grows from {self.input_capacity} to {new} "
                      "events; rebuilding the network", RuntimeWarning, stacklevel=4)
        self._backend.discard()
        self.input_capacity = new
        self.build()

    # -- weights ---------------------------------------------------------------
    def _check_weights(self, weights: NetworkWeights) -> None:
        if not isinstance(weights, NetworkWeights):
            raise TypeError(f"weights must be a NetworkWeights, got {type(weights).__name__}")
        if str(weights.arch) != str(self.arch):
            raise ValueError(f"weights are for architecture {weights.arch}, the runner was built for {self.arch}")
        weights.validate()   # shapes (naming the layer and the expected shape), NaN, masks
        if self.masks is not None:
            for k, lw in enumerate(weights.layers, start=1):
                if lw.rec_mask is not None and k in self.masks and not np.array_equal(lw.rec_mask, self.masks[k]):
                    raise ValueError(f"layer {k}: the recurrent mask differs from the one the network was "
                                     "built with (connectivity is fixed at build; make a new Runner)")

    def read_weights(self) -> NetworkWeights:
        """The weights now held by the Brian2 Synapses, as NetworkWeights."""
        if not self._built:
            raise RuntimeError("the network is not built yet (run() or build() first)")
        if not self._backend.weights_readable(self.timings["runs"]):
            raise RuntimeError("standalone: the synapses' weights can be read after the first run")
        return self._backend.network.read_weights(self.masks)

    # -- running -----------------------------------------------------------------
    def run(self, weights: NetworkWeights, inputs, on_chunk=None) -> Recording:
        """Simulate a batch with these weights.

        Parameters
        ----------
        weights : NetworkWeights of this architecture
        inputs : list of B :class:`SpikeTrains` (n_inputs neurons, n_steps steps),
            or a 0/1 array (B, n_steps, n_inputs)
        on_chunk : optional ``f(start, per_layer)``, called in this thread as soon as the
            samples ``start .. start + n - 1`` of a chunk are simulated (``per_layer``: one list
            of n SpikeTrains per trained layer); with ``parallel_runs`` > 1 while other chunks
            still run, so that their spikes can be used at once.

        Returns
        -------
        Recording: ``layers[0]`` the inputs, ``layers[k]`` layer k's spikes for
        every sample, sorted by (step, neuron), with ``v`` (membrane value at
        threshold, before the reset) for every spike.
        """
        if self._closed:
            raise RuntimeError("this Runner is closed")
        inputs = as_input_batch(inputs, self.arch.n_inputs, self.n_steps)
        self._check_weights(weights)
        K, B = self.samples_per_run, len(inputs)
        chunks = [inputs[a:a + K] for a in range(0, B, K)]
        if not self._built:
            if self.input_capacity is None:
                self.input_capacity = self._capacity_for(inputs)
            self.build(weights)
        vecs = self._backend.network.weight_vectors(weights)
        per_layer = [[] for _ in self.arch.trained]
        t0 = time.perf_counter()
        # a parallel backend takes every chunk at once and keeps parallel_runs processes busy
        groups = [chunks] if self._backend.parallel else [[c] for c in chunks]
        self._backend.max_parallel = self.parallel_runs
        starts = np.arange(len(chunks)) * K
        for g, group in enumerate(groups):
            events = self._fit(group)
            first = 0 if self._backend.parallel else g

            def done(r, res, first=first, group=group):
                if on_chunk is not None:
                    on_chunk(int(starts[first + r]), [trains[:len(group[r])] for trains in res])

            with brian_globals():
                results = self._backend.run(vecs, group, events, done)
            for chunk, res in zip(group, results):
                for k, trains in enumerate(res):
                    per_layer[k].extend(trains[:len(chunk)])
        self.timings["run_s"] += time.perf_counter() - t0
        self.timings["runs"] += len(chunks)
        return Recording([list(inputs)] + per_layer)

    def _fit(self, group) -> list[tuple[np.ndarray, np.ndarray]]:
        """The event lists of a group of chunks; grow (rebuild) first if one does not fit."""
        n_in, T = self.arch.n_inputs, self.n_steps
        events = [event_list(c, n_in, T, self._backend.start_offset()) for c in group]
        need = max(v.size for v, _ in events)
        if need > self.input_capacity:
            self._grow(need)
            events = [event_list(c, n_in, T, self._backend.start_offset()) for c in group]
        return events
