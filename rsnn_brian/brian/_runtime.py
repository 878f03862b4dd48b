"""Brian2's runtime device (cython target): one network in this process, run after run.

The network is built once. Each run overwrites the input event list and the
pointers, writes the weights through the unitless ``w_`` views, empties the
monitors and continues the clock (the event list holds absolute steps, so it
is made with the run's start step as offset). No store/restore: the state is
reset at every sample boundary by the network itself.
"""

from __future__ import annotations

import numpy as np

from ..spikes import SpikeTrains
from ._backend import Backend, BuildSpec
from ._brian_private import clear_monitor, use_runtime_device

__all__ = ["RuntimeBackend"]


class RuntimeBackend(Backend):
    """The runtime device; chunks run one at a time."""

    device_name = "runtime"

    def build(self, spec: BuildSpec) -> None:
        """Create the network on the runtime device (code is generated at the first run)."""
        self.set_prefs(spec)
        use_runtime_device()
        self.build_objects(spec)

    def start_offset(self) -> int:
        return int(round(float(self.network.net.t / self.spec.dt)))

    def run_chunk(self, vecs: list[np.ndarray], chunk: list[SpikeTrains],
                  events: tuple[np.ndarray, np.ndarray]) -> list[list[SpikeTrains]]:
        """One Brian2 run of len(chunk) samples; ``events`` made at :meth:`start_offset`."""
        offset = self.start_offset()
        values, ptr = events
        nw, spec = self.network, self.spec
        self.set_prefs(spec)
        use_runtime_device()
        nw.set_inputs(values, ptr)
        for s, w in zip(nw.synapses, vecs):
            s.syn.w_[:] = w
        for mon in nw.mons:
            clear_monitor(mon)
        nw.net.run(len(chunk) * spec.n_steps * spec.dt, namespace={})
        nw.check_order()
        return self.split(len(chunk), offset)
