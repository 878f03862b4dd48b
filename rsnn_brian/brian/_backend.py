"""What every device backend shares: the build settings, the preferences, the network.

A backend builds the network on one Brian2 device and runs chunks of K
samples through it. :class:`~rsnn_brian.brian.runner.Runner` validates,
chunks, sizes the input list and keeps the timings; it calls every backend
method inside :func:`._brian_private.brian_globals`, so a backend may set
Brian2 preferences and devices freely.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass

import numpy as np

from ..spikes import SpikeTrains
from ._encoding import split_monitors
from ._network import BuiltNetwork, build_network

__all__ = ["BuildSpec", "Backend", "runtime_target"]


@dataclass(frozen=True)
class BuildSpec:
    """Everything one build depends on (taken from the runner's attributes at build time).

    Attributes
    ----------
    arch : Architecture
    configs : one NeuronConfig per trained layer
    dt : time Quantity
    n_steps : int, steps per sample (T)
    samples_per_run : int, samples back to back in one Brian2 run (K)
    masks : {layer index: (n, n) bool} recurrent (and lateral) synapses
    capacity : int, length of the input event list
    openmp_threads : int, cpp_standalone OpenMP threads (0 = off)
    extra_compile_args : list of str or None (Brian2's C++ flags unchanged)
    cuda_extra_nvcc_args : tuple of str, extra nvcc flags
    compile_only : bool, cuda_standalone without GPU detection
    """

    arch: object
    configs: tuple
    dt: object
    n_steps: int
    samples_per_run: int
    masks: dict
    capacity: int
    openmp_threads: int = 0
    extra_compile_args: tuple | None = None
    cuda_extra_nvcc_args: tuple = ()
    compile_only: bool = False

    @property
    def run_duration(self):
        """K * T * dt, the length of one Brian2 run."""
        return self.samples_per_run * self.n_steps * self.dt


def runtime_target() -> str:
    """'cython' (1.5-3x faster than numpy, BRIAN2_NOTES table) when Cython is importable."""
    if importlib.util.find_spec("Cython") is not None:
        return "cython"
    warnings.warn("Cython is not importable; Brian2 runtime mode falls back to the slower numpy target",
                  RuntimeWarning, stacklevel=5)
    return "numpy"


class Backend:
    """One Brian2 device: build the network, run chunks of samples, release the device.

    Subclasses implement :meth:`build` and :meth:`run`; the runner calls both
    inside ``brian_globals()``.
    """

    #: The Brian2 device's name.
    device_name = "runtime"
    #: Whether :meth:`run` takes several chunks at once (else one chunk per call).
    parallel = False

    def __init__(self):
        self.network: BuiltNetwork | None = None
        self.spec: BuildSpec | None = None

    @property
    def build_dir(self) -> str | None:
        """The standalone project folder (None in runtime mode)."""
        return None

    def set_prefs(self, spec: BuildSpec) -> None:
        """The preferences every device needs: code generation target, float64."""
        from brian2 import prefs
        prefs.codegen.target = runtime_target()
        prefs.core.default_float_dtype = np.float64

    def make_clock(self, dt):
        """The clock of every object of the network."""
        from brian2 import Clock
        return Clock(dt=dt, name="rsnn_clock")

    def build_objects(self, spec: BuildSpec) -> BuiltNetwork:
        """Create the network's Brian2 objects on the active device; keep them."""
        self.spec = spec
        self.network = build_network(spec.arch, spec.configs, spec.masks, spec.dt, spec.n_steps,
                                     spec.capacity, self.make_clock(spec.dt))
        return self.network

    def start_offset(self) -> int:
        """The step at which the next run starts (the input event list is absolute)."""
        return 0

    def split(self, n_samples: int, offset: int) -> list[list[SpikeTrains]]:
        """The monitors of the last run, per layer a list of n_samples SpikeTrains."""
        spec = self.spec
        return split_monitors(self.network.mons, [s.size for s in spec.arch.trained], spec.n_steps,
                              float(spec.dt), n_samples, offset)

    def build(self, spec: BuildSpec) -> None:   # pragma: no cover - abstract
        """Build (and compile) the network."""
        raise NotImplementedError

    def run(self, vecs: list[np.ndarray], group: list[list[SpikeTrains]],
            events: list[tuple[np.ndarray, np.ndarray]], done=None) -> list[list[list[SpikeTrains]]]:
        """Run chunks of samples with these weights, one after the other (:meth:`run_chunk`).

        Parameters
        ----------
        vecs : one weight vector per Synapses object (``BuiltNetwork.weight_vectors``)
        group : chunks of at most K SpikeTrains
        events : the chunks' event lists (``_encoding.event_list``), within capacity
        done : optional ``f(r, result)``, called as soon as chunk ``r`` has run

        Returns
        -------
        per chunk, per trained layer, a list of (at least len(chunk)) SpikeTrains.
        """
        results = []
        for r, (chunk, ev) in enumerate(zip(group, events)):
            results.append(self.run_chunk(vecs, chunk, ev))
            if done is not None:
                done(r, results[-1])
        return results

    def run_chunk(self, vecs: list[np.ndarray], chunk: list[SpikeTrains],
                  events: tuple[np.ndarray, np.ndarray]) -> list[list[SpikeTrains]]:   # pragma: no cover
        """One chunk (abstract): per trained layer, a list of (at least len(chunk)) SpikeTrains."""
        raise NotImplementedError

    def weights_readable(self, n_runs: int) -> bool:
        """Whether the Synapses hold weights that can be read back."""
        return True

    def discard(self) -> None:
        """Forget the built network before a rebuild."""

    def close(self, keep_build_dir: bool) -> None:
        """Release the device and the network."""
        self.network = None
