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

Input: a NeuronGroup that replays a compact event list. ``spk`` is a 1-D
TimedArray of absolute spike steps (sample * T + step), neuron-major, each
neuron's block ended by the sentinel -1; ``ptr`` points every input neuron at
its next event. Threshold ``spk(ptr*dt) == t_in_timesteps``, reset ``ptr +=
1``. Per run this moves 8 B per input spike instead of the 8 B per (step x
input) of a dense 0/1 TimedArray. The list has a fixed capacity (Brian2
compiles the TimedArray's length into the code); a batch that needs more
rebuilds with twice the capacity.

Brian2 globals (device, preferences) are set inside the runner and restored
after each call. Only one standalone runner can be open at a time in a
process (Brian2's standalone device is a process-wide singleton).

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

import copy
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from contextlib import contextmanager

import numpy as np

from ..network import Architecture, NetworkWeights, LayerWeights, parse_architecture
from ..spikes import Recording, SpikeTrains, as_input_batch
from .model import SYNAPSE_MODEL, ON_PRE, configs_for, neuron_kwargs

__all__ = ["Runner", "DEVICES"]

DEVICES = ("runtime", "cpp_standalone", "cuda_standalone")
_STANDALONE = ("cpp_standalone", "cuda_standalone")
#: The standalone runner currently owning Brian2's standalone device, if any.
_ACTIVE_STANDALONE = None

CUDA_INSTALL_HINT = "pip install rsnn_brian[cuda]  (brian2cuda and nvidia-curand)"


# ---------------------------------------------------------------------------
# Brian2 globals

@contextmanager
def brian_globals():
    """Snapshot the Brian2 device and preferences; restore them on exit."""
    import importlib
    import brian2
    devmod = importlib.import_module("brian2.devices.device")
    saved_device = devmod.get_device()
    saved_stack = list(devmod.previous_devices)
    saved_prefs = copy.deepcopy(dict(brian2.prefs.prefs))
    try:
        yield
    finally:
        for key, val in saved_prefs.items():
            if brian2.prefs.prefs.get(key, object()) is not val:
                brian2.prefs.prefs[key] = val
        if devmod.get_device() is not saved_device:
            devmod._do_set_device(saved_device, getattr(saved_device, "build_on_run", True),
                                  **getattr(saved_device, "build_options", {}))
        devmod.previous_devices[:] = saved_stack


def _find_curand() -> tuple[str, str] | None:
    """(include_dir, lib_dir) of the nvidia-curand wheel, if installed."""
    import importlib.util
    for modname in ("nvidia.cu13", "nvidia.curand", "nvidia"):
        try:
            spec = importlib.util.find_spec(modname)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            for dirpath, _dirs, files in os.walk(root):
                if "curand.h" in files:
                    inc = dirpath
                    base = os.path.dirname(inc)
                    for lib in ("lib", "lib64"):
                        libdir = os.path.join(base, lib)
                        if os.path.isdir(libdir) and any(f.startswith("libcurand") for f in os.listdir(libdir)):
                            return inc, libdir
    return None


def _runtime_target() -> str:
    """'cython' (1.5-3x faster than numpy, BRIAN2_NOTES table) when Cython is importable."""
    import importlib.util
    if importlib.util.find_spec("Cython") is not None:
        return "cython"
    warnings.warn("Cython is not importable; Brian2 runtime mode falls back to the slower numpy target",
                  RuntimeWarning, stacklevel=4)
    return "numpy"


def _import_cuda():
    try:
        import brian2cuda  # noqa: F401  (registers the 'cuda_standalone' device)
    except ImportError as err:
        raise ImportError(f"device='cuda_standalone' needs brian2cuda, which is not importable "
                          f"({err}). Install it with: {CUDA_INSTALL_HINT}") from None


# ---------------------------------------------------------------------------
# the runner

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

    def __init__(self, arch, neuron_configs=None, device: str = "runtime", n_steps: int = 400,
                 samples_per_run: int = 16, dt=None, recurrent_masks=None, build_dir=None,
                 keep_build_dir: bool = False, input_capacity: int | None = None,
                 openmp_threads: int = 0, extra_compile_args=None, cuda_extra_nvcc_args=None,
                 compile_only: bool = False, parallel_runs: int = 1):
        from brian2 import ms
        if isinstance(arch, str):
            arch = parse_architecture(arch)
        if not isinstance(arch, Architecture):
            raise TypeError(f"arch must be an Architecture or a string like '784-400-R400-10', got {type(arch).__name__}")
        if device not in DEVICES:
            raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
        if device == "cuda_standalone":
            _import_cuda()
        if int(n_steps) != n_steps or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
        if int(samples_per_run) != samples_per_run or samples_per_run < 1:
            raise ValueError(f"samples_per_run must be a positive integer, got {samples_per_run!r}")
        if int(parallel_runs) != parallel_runs or parallel_runs < 1:
            raise ValueError(f"parallel_runs must be a positive integer, got {parallel_runs!r}")
        if parallel_runs > 1 and device != "cpp_standalone":
            raise ValueError("parallel_runs > 1 needs device='cpp_standalone'")
        self.parallel_runs = int(parallel_runs)
        self.arch = arch
        self.device_name = device
        self.n_steps = int(n_steps)
        self.samples_per_run = int(samples_per_run)
        self.dt = 1 * ms if dt is None else dt
        self.configs = configs_for(neuron_configs, len(arch.layers) - 1)
        #: Dimensionless per-layer parameters in steps (for the NumPy engine).
        self.params = [c.to_params(self.dt) for c in self.configs]
        self.masks = None if recurrent_masks is None else {int(k): np.asarray(m, bool) for k, m in recurrent_masks.items()}
        self._user_build_dir = build_dir
        self.keep_build_dir = bool(keep_build_dir) and build_dir is not None
        self.input_capacity = input_capacity
        self.openmp_threads = int(openmp_threads)
        self.extra_compile_args = None if extra_compile_args is None else list(extra_compile_args)
        self.cuda_extra_nvcc_args = list(cuda_extra_nvcc_args or [])
        self.compile_only = compile_only
        self._built = False
        self._closed = False
        self._build_dir = None
        self._created_build_dir = False
        self._order_checked = False
        self.timings = {"build_s": 0.0, "runs": 0, "run_s": 0.0}

    # -- context management ------------------------------------------------
    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release Brian2's standalone device and remove the build folder."""
        global _ACTIVE_STANDALONE
        if self._closed:
            return
        self._closed = True
        if self.device_name in _STANDALONE and _ACTIVE_STANDALONE is self:
            _ACTIVE_STANDALONE = None
            with brian_globals():
                self._dev.reinit()
        self._net = None
        if self._build_dir and not self.keep_build_dir and self._created_build_dir:
            shutil.rmtree(self._build_dir, ignore_errors=True)

    def __del__(self):
        try:
            if not self._closed and self.device_name in _STANDALONE:
                self.close()
        except Exception:
            pass

    # -- building ------------------------------------------------------------
    def _set_prefs(self):
        from brian2 import prefs
        prefs.codegen.target = _runtime_target()
        prefs.core.default_float_dtype = np.float64
        if self.device_name in _STANDALONE:
            prefs.devices.cpp_standalone.openmp_threads = self.openmp_threads
            if self.extra_compile_args is not None:
                prefs.codegen.cpp.extra_compile_args = list(self.extra_compile_args)
        if self.device_name == "cuda_standalone":
            cur = _find_curand()
            if cur is None:
                raise ImportError("cuda_standalone needs curand headers and library; install them with "
                                  f"{CUDA_INSTALL_HINT}")
            inc, lib = cur
            prefs.codegen.cpp.include_dirs = list(prefs.codegen.cpp.include_dirs) + [inc]
            prefs.codegen.cpp.library_dirs = list(prefs.codegen.cpp.library_dirs) + [lib]
            prefs.codegen.cpp.runtime_library_dirs = list(prefs.codegen.cpp.runtime_library_dirs) + [lib]
            prefs.codegen.cpp.extra_compile_args_gcc = [a for a in prefs.codegen.cpp.extra_compile_args_gcc
                                                        if not a.startswith("-std=")] + ["-std=c++17"]
            nvcc = [a for a in prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc
                    if not a.startswith("-std=")]
            prefs.devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc = (
                nvcc + ["-std=c++17", f"-I{inc}"] + self.cuda_extra_nvcc_args)
            if self.compile_only:
                # no GPU needed to generate and compile
                prefs.devices.cuda_standalone.cuda_backend.detect_gpus = False
                if prefs.devices.cuda_standalone.cuda_backend.gpu_id is None:
                    prefs.devices.cuda_standalone.cuda_backend.gpu_id = 0
                if prefs.devices.cuda_standalone.cuda_backend.compute_capability is None:
                    prefs.devices.cuda_standalone.cuda_backend.compute_capability = 7.5

    def build(self, weights: NetworkWeights | None = None, input_capacity: int | None = None) -> None:
        """Build the network (and, standalone, compile it). Called by the first :meth:`run`."""
        if self._closed:
            raise RuntimeError("this Runner is closed")
        if weights is not None and self.masks is None:
            self.masks = {k: lw.rec_mask.copy() for k, lw in enumerate(weights.layers, start=1)
                          if lw.rec_mask is not None}
        if self.masks is None:
            raise ValueError("the recurrent masks are unknown: pass recurrent_masks= or give weights to build()")
        if input_capacity is not None:
            self.input_capacity = int(input_capacity)
        if self.input_capacity is None:
            self.input_capacity = 1 << 16
        t0 = time.perf_counter()
        with brian_globals():
            self._set_prefs()
            if self.device_name == "runtime":
                from brian2.devices.device import reset_device, runtime_device
                reset_device(runtime_device)
                self._build_objects()
            else:
                self._build_standalone()
        self.timings["build_s"] += time.perf_counter() - t0
        self._built = True

    def _build_standalone(self):
        global _ACTIVE_STANDALONE
        import brian2
        from brian2.devices.device import all_devices
        if _ACTIVE_STANDALONE is not None and _ACTIVE_STANDALONE is not self:
            raise RuntimeError("another standalone Runner is open in this process; close it first "
                               "(Brian2's standalone device is one per process)")
        dev = all_devices[self.device_name]
        dev.reinit()
        brian2.set_device(self.device_name, build_on_run=False)
        self._dev = dev
        _ACTIVE_STANDALONE = self
        try:
            self._build_standalone_objects(dev)
        except BaseException:
            _ACTIVE_STANDALONE = None
            dev.reinit()
            raise

    def _build_standalone_objects(self, dev):
        self._build_objects()
        if self._build_dir is None:
            if self._user_build_dir is None:
                self._build_dir = tempfile.mkdtemp(prefix="rsnn_brian_build_")
                self._created_build_dir = True
            else:
                self._build_dir = os.path.abspath(self._user_build_dir)
                self._created_build_dir = not os.path.exists(self._build_dir)
        if self.device_name == "cuda_standalone":
            self._curand_link_shim()
        self._net.run(self._run_duration())
        dev.build(directory=self._build_dir, run=False, compile=True, with_output=False)

    def _curand_link_shim(self):
        """The nvidia-curand wheel ships only libcurand.so.<N>; brian2cuda links with -lcurand.

        Put a libcurand.so symlink in the build folder and add it to the library dirs.
        """
        from brian2 import prefs
        _inc, lib = _find_curand()
        if os.path.exists(os.path.join(lib, "libcurand.so")):
            return
        versioned = sorted(f for f in os.listdir(lib) if f.startswith("libcurand.so."))
        if not versioned:
            raise ImportError(f"no libcurand.so.* in {lib}; reinstall with {CUDA_INSTALL_HINT}")
        shim = os.path.join(self._build_dir, "curand_lib")
        os.makedirs(shim, exist_ok=True)
        link = os.path.join(shim, "libcurand.so")
        if not os.path.islink(link):
            os.symlink(os.path.join(lib, versioned[0]), link)
        prefs.codegen.cpp.library_dirs = list(prefs.codegen.cpp.library_dirs) + [shim]

    def _run_duration(self):
        return self.samples_per_run * self.n_steps * self.dt

    def _build_objects(self):
        """Create every Brian2 object of the network (device already active)."""
        from brian2 import Clock, Network, NeuronGroup, SpikeMonitor, Synapses, TimedArray, ms, second
        arch, dt, T = self.arch, self.dt, self.n_steps
        if self.device_name == "cuda_standalone":
            # brian2cuda's synapse templates hard-code 'defaultclock'
            from brian2 import defaultclock
            defaultclock.dt = dt
            clock = defaultclock
        else:
            clock = Clock(dt=dt, name="rsnn_clock")
        cap = int(self.input_capacity)
        self._spk = TimedArray(np.full(cap, -1.0), dt=dt, name="rsnn_input_events")
        inp = NeuronGroup(arch.n_inputs, "ptr : integer", threshold="spk(ptr*dt) == t_in_timesteps",
                          reset="ptr += 1", clock=clock, name="layer0_input",
                          namespace={"spk": self._spk})
        inp.ptr = cap - 1          # a sentinel: silent until inputs are given
        groups, syn, mons = [inp], [], []
        reset_code = "v = 0\nI = 0\nlastspike = never\nnot_refractory = True"
        for k, (spec, cfg) in enumerate(zip(arch.trained, self.configs), start=1):
            kw = neuron_kwargs(cfg)
            kw["namespace"]["never"] = -1e4 * second   # 'lastspike' of a neuron that never fired
            g = NeuronGroup(spec.size, clock=clock, name=f"layer{k}_{spec.kind}", **kw)
            g.run_regularly(reset_code, dt=T * dt, when="start", name=f"layer{k}_sample_reset")
            s_ff = Synapses(groups[-1], g, SYNAPSE_MODEL, on_pre=ON_PRE, delay=0 * ms, clock=clock,
                            name=f"layer{k}_ff", namespace={})
            s_ff.connect()
            s_ff.w = 0
            syn.append((k, "ff", s_ff, None))
            if k in self.masks and self.masks[k].any():
                mask = self.masks[k]
                if mask.shape != (spec.size, spec.size):
                    raise ValueError(f"layer {k}: recurrent mask must have shape ({spec.size}, {spec.size}), got {mask.shape}")
                post, pre = np.nonzero(mask)
                order = np.lexsort((post, pre))          # i-major: pre, then post
                pre, post = pre[order], post[order]
                s_rec = Synapses(g, g, SYNAPSE_MODEL, on_pre=ON_PRE, delay=0 * ms, clock=clock,
                                 name=f"layer{k}_rec", namespace={})
                s_rec.connect(i=pre, j=post)
                s_rec.w = 0
                syn.append((k, "rec", s_rec, (post, pre)))
            mons.append(SpikeMonitor(g, variables="v", record=True, name=f"layer{k}_spikes"))
            groups.append(g)
        self._inp, self._groups, self._syn, self._mons = inp, groups, syn, mons
        self._net = Network(*groups, *[s for _, _, s, _ in syn], *mons, name="rsnn_network")
        self._order_checked = False

    # -- weights ---------------------------------------------------------------
    def _check_weights(self, weights: NetworkWeights):
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

    def _weight_vectors(self, weights: NetworkWeights) -> list[np.ndarray]:
        out = []
        for k, kind, s, idx in self._syn:
            lw = weights.layers[k - 1]
            if kind == "ff":
                out.append(np.ascontiguousarray(lw.ff.T, dtype=np.float64).ravel())   # i-major
            else:
                post, pre = idx
                out.append(np.asarray(lw.rec, dtype=np.float64)[post, pre])
        return out

    def read_weights(self) -> NetworkWeights:
        """The weights now held by the Brian2 Synapses, as NetworkWeights."""
        if not self._built:
            raise RuntimeError("the network is not built yet (run() or build() first)")
        if self.device_name in _STANDALONE and self.timings["runs"] == 0:
            raise RuntimeError("standalone: the synapses' weights can be read after the first run")
        layers = []
        for k, spec in enumerate(self.arch.trained, start=1):
            n_pre = self.arch.layers[k - 1].size
            ff = np.zeros((spec.size, n_pre))
            rec = mask = None
            if k in self.masks:
                mask = self.masks[k].copy()
                rec = np.zeros((spec.size, spec.size))
            layers.append([ff, rec, mask])
        for k, kind, s, idx in self._syn:
            w = np.asarray(s.w_[:], dtype=np.float64)
            if kind == "ff":
                layers[k - 1][0][s.j[:], s.i[:]] = w
            else:
                layers[k - 1][1][s.j[:], s.i[:]] = w
        return NetworkWeights(self.arch, [LayerWeights(ff, rec, mask, spec.kind == "recurrent")
                                          for (ff, rec, mask), spec in zip(layers, self.arch.trained)])

    # -- inputs ------------------------------------------------------------------
    def _event_list(self, chunk: list[SpikeTrains], offset: int) -> tuple[np.ndarray, np.ndarray]:
        """The flat event list (values, float64) and per-neuron pointers (int32)."""
        n_in, T = self.arch.n_inputs, self.n_steps
        neuron = np.concatenate([tr.neuron for tr in chunk]) if chunk else np.zeros(0, np.int64)
        step = np.concatenate([tr.step + b * T for b, tr in enumerate(chunk)]) + offset
        # neuron-major, then time: the samples come in order, each sorted by step, so a
        # stable sort on the neuron alone is enough (a radix sort for 16-bit keys)
        order = np.argsort(neuron.astype(np.int16 if n_in < 2 ** 15 else np.int32), kind="stable")
        neuron, step = neuron[order], step[order]
        counts = np.bincount(neuron, minlength=n_in)
        starts = np.zeros(n_in, np.int64)
        starts[1:] = np.cumsum(counts + 1)[:-1]                # +1: each block ends with a sentinel
        pos = starts[neuron] + _rank_within(neuron, counts)
        need = int(neuron.size + n_in)
        values = np.full(need, -1.0)
        values[pos] = step.astype(np.float64)
        return values, starts.astype(np.int32)

    # -- running -----------------------------------------------------------------
    def run(self, weights: NetworkWeights, inputs) -> Recording:
        """Simulate a batch with these weights.

        Parameters
        ----------
        weights : NetworkWeights of this architecture
        inputs : list of B :class:`SpikeTrains` (n_inputs neurons, n_steps steps),
            or a 0/1 array (B, n_steps, n_inputs)

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
            need = max(sum(tr.n_spikes for tr in c) for c in chunks) + self.arch.n_inputs
            if self.input_capacity is None:
                # standalone writes the whole list to disk every run: size it from the data;
                # runtime keeps it in memory: a fixed, generous size (one cython build for
                # every batch size, 12.5 % of all (sample, step, input) slots).
                scale = K / len(chunks[0])
                self.input_capacity = _pow2(int(need * scale * 1.25) + 1024)
                if self.device_name == "runtime":
                    self.input_capacity = max(self.input_capacity,
                                              _pow2(K * self.n_steps * self.arch.n_inputs // 8))
            self.build(weights)
        vecs = self._weight_vectors(weights)
        per_layer = [[] for _ in self.arch.trained]
        t0 = time.perf_counter()
        P = self.parallel_runs
        for group in ([chunks[a:a + P] for a in range(0, len(chunks), P)] if P > 1 else [[c] for c in chunks]):
            if self.device_name == "runtime":
                results = [self._run_runtime(vecs, group[0])]
            elif len(group) == 1:
                results = [self._run_standalone(vecs, group[0])]
            else:
                results = self._run_standalone_many(vecs, group)
            for chunk, res in zip(group, results):
                for k, trains in enumerate(res):
                    per_layer[k].extend(trains[:len(chunk)])
        self.timings["run_s"] += time.perf_counter() - t0
        self.timings["runs"] += len(chunks)
        return Recording([list(inputs)] + per_layer)

    def _grow(self, need: int):
        new = _pow2(need)
        warnings.warn(f"rsnn_brian Runner: input event list grows from {self.input_capacity} to {new} "
                      "events; rebuilding the network", RuntimeWarning, stacklevel=3)
        if self.device_name in _STANDALONE:
            with brian_globals():
                self._dev.reinit()
        self.input_capacity = new
        self.build()

    def _split(self, n_samples: int, offset: int) -> list[list[SpikeTrains]]:
        """Read every monitor; split into samples."""
        T, out = self.n_steps, []
        dt_s = float(self.dt)
        for k, (mon, spec) in enumerate(zip(self._mons, self.arch.trained), start=1):
            i = np.asarray(mon.i[:], dtype=np.int64)
            t = np.rint(np.asarray(mon.t_[:]) / dt_s).astype(np.int64) - offset
            # a copy: in runtime mode the monitor hands out views of its buffers, which the next run reuses
            v = np.array(mon.v_[:] if hasattr(mon, "v_") else mon.v[:], dtype=np.float64)
            sample = t // T
            key = t * spec.size + i
            if key.size > 1 and np.any(key[1:] <= key[:-1]):     # Brian2 records by step, then index
                order = np.lexsort((i, t))
                i, t, v, sample = i[order], t[order], v[order], sample[order]
            bounds = np.searchsorted(sample, np.arange(n_samples + 1))
            out.append([SpikeTrains(i[a:b], t[a:b] - s * T, spec.size, T, v=v[a:b])
                        for s, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))])
        return out

    def _run_runtime(self, vecs, chunk) -> list[list[SpikeTrains]]:
        from brian2.devices.device import reset_device, runtime_device
        net = self._net
        offset = int(round(float(net.t / self.dt)))
        values, ptr = self._event_list(chunk, offset)
        if values.size > self.input_capacity:
            self._grow(values.size)
            return self._run_runtime(vecs, chunk)
        with brian_globals():
            self._set_prefs()
            reset_device(runtime_device)
            self._spk.values[:] = -1.0
            self._spk.values[:values.size] = values
            self._inp.ptr_[:] = ptr
            for (k, kind, s, idx), w in zip(self._syn, vecs):
                s.w_[:] = w
            for mon in self._mons:
                mon.resize(0)
                mon.variables["N"].set_value(0)
            net.run(len(chunk) * self.n_steps * self.dt, namespace={})
            self._check_order()
            return self._split(len(chunk), offset)

    def _run_args(self, vecs, chunk, events=None) -> dict:
        """run_args of one chunk (the input list padded to capacity, every weight vector)."""
        values, ptr = self._event_list(chunk, 0) if events is None else events
        cap = self.input_capacity
        padded = np.full(cap, -1.0)
        padded[:values.size] = values
        items = [(self._spk, padded, cap, "input event list"),
                 (self._inp.ptr, ptr, self.arch.n_inputs, "input pointers")]
        for (k, kind, s, idx), w in zip(self._syn, vecs):
            items.append((s.w, w, self._n_synapses(k, kind, idx), f"layer {k} {kind} weights"))
        _check_run_args(items)
        return {key: val for key, val, _, _ in items}

    def _ensure_capacity(self, chunks) -> list:
        """Event lists of the chunks; grow (rebuild) first if one does not fit."""
        events = [self._event_list(c, 0) for c in chunks]
        need = max(v.size for v, _ in events)
        if need > self.input_capacity:
            self._grow(need)
        return events

    def _run_standalone(self, vecs, chunk) -> list[list[SpikeTrains]]:
        events = self._ensure_capacity([chunk])
        run_args = self._run_args(vecs, chunk, events[0])
        dev = self._dev
        with brian_globals():
            try:
                dev.run(directory=self._build_dir, with_output=False, run_args=run_args)
            finally:
                names = list(dev.run_args_arrays)
                dev.delete(code=False, data=False, run_args=True, directory=False)
                for name in names:   # brian2 leaves the FileLock files behind
                    lock = os.path.join(self._build_dir, "static_arrays", name + ".lock")
                    if os.path.exists(lock):
                        os.remove(lock)
            self._check_order()
            return self._split(self.samples_per_run, 0)

    def _run_standalone_many(self, vecs, chunks) -> list[list[list[SpikeTrains]]]:
        """Run several chunks at once: one process of the compiled binary each."""
        from brian2 import TimedArray, prefs
        from brian2.utils.filelock import FileLock
        events = self._ensure_capacity(chunks)
        dev = self._dev
        written, procs, dirs = set(), [], []
        with brian_globals():
            run_cmd = prefs.devices.cpp_standalone.run_cmd_unix
            run_cmd = [run_cmd] if isinstance(run_cmd, str) else list(run_cmd)
            env = dict(os.environ)
            env.update(prefs["devices.cpp_standalone.run_environment_variables"])
            env.update(dev.run_environment_variables)
            default_results = dev.results_dir
            try:
                for r, chunk in enumerate(chunks):
                    args = []
                    for key, value in self._run_args(vecs, chunk, events[r]).items():
                        prepare = (dev._prepare_timed_array_run_arg if isinstance(key, TimedArray)
                                   else dev._prepare_variableview_run_arg)
                        name, string_value, value_name, value_ar = prepare(key, value)
                        if value_name:
                            fname = os.path.join(self._build_dir, "static_arrays", value_name)
                            if value_name not in written:
                                with FileLock(fname + ".lock"):
                                    if not os.path.exists(fname):
                                        value_ar.tofile(fname)
                                if os.path.exists(fname + ".lock"):
                                    os.remove(fname + ".lock")
                                written.add(value_name)
                        args.append(f"{name}={string_value}")
                    rdir = os.path.join(self._build_dir, f"results_{r}", "")
                    os.makedirs(rdir, exist_ok=True)
                    dirs.append(rdir)
                    out = open(os.path.join(rdir, "stdout.txt"), "w")
                    procs.append((subprocess.Popen(run_cmd + ["--results_dir", rdir] + args, cwd=self._build_dir,
                                                   stdout=out, stderr=subprocess.STDOUT, env=env), out))
                failed = []
                for r, (proc, out) in enumerate(procs):
                    if proc.wait() != 0:
                        failed.append(r)
                    out.close()
                if failed:
                    with open(os.path.join(dirs[failed[0]], "stdout.txt")) as fh:
                        tail = fh.read()[-2000:]
                    raise RuntimeError(f"the Brian2 binary failed on chunk(s) {failed} "
                                       f"(project directory {self._build_dir}):\n{tail}")
                results = []
                dev.has_been_run = True
                for rdir in dirs:
                    dev.results_dir = rdir
                    self._check_order()
                    results.append(self._split(self.samples_per_run, 0))
                return results
            finally:
                for proc, out in procs:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                    out.close()
                dev.results_dir = default_results
                for name in written:
                    fname = os.path.join(self._build_dir, "static_arrays", name)
                    if os.path.exists(fname):
                        os.remove(fname)

    def _n_synapses(self, k: int, kind: str, idx) -> int:
        if kind == "ff":
            return self.arch.layers[k - 1].size * self.arch.layers[k].size
        return int(idx[0].size)

    def _check_order(self):
        """Once: the synapse order Brian2 made is the i-major order the weights assume."""
        if self._order_checked:
            return
        for k, kind, s, idx in self._syn:
            i, j = np.asarray(s.i[:]), np.asarray(s.j[:])
            if kind == "ff":
                n_pre, n_post = self.arch.layers[k - 1].size, self.arch.layers[k].size
                ok = np.array_equal(i, np.repeat(np.arange(n_pre), n_post)) and \
                    np.array_equal(j, np.tile(np.arange(n_post), n_pre))
            else:
                post, pre = idx
                ok = np.array_equal(i, pre) and np.array_equal(j, post)
            if not ok:
                raise RuntimeError(f"Brian2 created the synapses of layer {k} ({kind}) in an unexpected order")
        self._order_checked = True


def _check_run_args(items) -> None:
    """Brian2 silently ignores a run_args array of the wrong size: check every one."""
    for _key, val, expected, what in items:
        if np.size(val) != expected:
            raise ValueError(f"internal error: the run_args array for the {what} has {np.size(val)} "
                             f"values, the built network expects {expected}")
        if not np.all(np.isfinite(val)):
            raise ValueError(f"the {what} contain NaN or inf")


def _rank_within(sorted_keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal keys (keys sorted)."""
    if sorted_keys.size == 0:
        return np.zeros(0, np.int64)
    first = np.zeros(counts.size, np.int64)
    first[1:] = np.cumsum(counts)[:-1]
    return np.arange(sorted_keys.size) - first[sorted_keys]


def _pow2(n: int) -> int:
    return 1 << max(int(n) - 1, 1).bit_length()
