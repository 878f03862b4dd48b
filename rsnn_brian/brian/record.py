"""Record a network's activity in Brian2 runtime mode: spikes of every layer, traces of chosen neurons.

The network is the trainer's own (:func:`._network.build_network`, the same
equations, synapses and sample resets), built in Brian2's runtime device with
one ``StateMonitor`` per layer on request::

    act = record_network_activity(weights, configs, inputs, n_steps=400,
                                  neurons={1: [0, 1, 2], 3: range(10)}, variables=("v", "I"))
    act.recording.counts(3)          # output spike counts, (samples, 10)
    act.traces[3]["v"]               # (samples, n_steps, 10) membrane values
    act.save("activity.npz"); ActivityRecording.load("activity.npz")

The StateMonitors record after the state update and before the threshold is
tested (``when='thresholds'``, ``order=-1``): at a spike step the trace holds
the value that crossed the threshold, the one the SpikeMonitor records as
``v``; the reset shows at the next step. All samples run back to back in one
Brian2 run, the state reset at every sample boundary as in training. For a
run directory, see :func:`rsnn_brian.export.activity.record_activity`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..network import NetworkWeights
from ..spikes import Recording, SpikeTrains, as_input_batch
from ._brian_private import brian_globals, use_runtime_device
from ._encoding import _pow2, event_list, split_monitors
from ._network import build_network
from .model import configs_for

__all__ = ["ActivityRecording", "record_network_activity", "VARIABLES"]

#: State variables of the model (rsnn_brian.brian.model.EQUATIONS) that can be traced.
VARIABLES = ("v", "I")


@dataclass
class ActivityRecording:
    """Spikes of every layer and traces of chosen neurons for a few samples.

    recording : spikes of layer 0 (inputs) .. K, with ``v`` at each spike of layers >= 1
    neurons : {layer k >= 1: indices of the traced neurons}
    traces : {layer k: {variable: (samples, n_steps, len(neurons[k])) float array}}
    dt_ms : the time step in ms
    meta : JSON-able notes (labels, sample indices, class names, description, ...)
    """

    recording: Recording
    neurons: dict
    traces: dict
    dt_ms: float
    meta: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return self.recording.batch_size

    @property
    def n_steps(self) -> int:
        return self.recording.layers[0][0].n_steps

    def spikes_frame(self):
        """Tidy spikes: one row per spike (sample, layer, neuron, step, time_ms)."""
        import pandas as pd
        rows = []
        for k, trains in enumerate(self.recording.layers):
            for b, tr in enumerate(trains):
                rows.append(pd.DataFrame({"sample": b, "layer": k, "neuron": tr.neuron.astype(np.int64),
                                          "step": tr.step.astype(np.int64)}))
        df = pd.concat(rows, ignore_index=True)
        df["time_ms"] = df["step"] * self.dt_ms
        return df

    def traces_frame(self):
        """Tidy traces: one row per (sample, layer, neuron, variable, step) with its value."""
        import pandas as pd
        rows = []
        for k, by_var in self.traces.items():
            idx = np.asarray(self.neurons[k])
            for var, arr in by_var.items():
                B, T, n = arr.shape
                rows.append(pd.DataFrame({
                    "sample": np.repeat(np.arange(B), T * n), "layer": int(k),
                    "neuron": np.tile(idx, B * T), "variable": var,
                    "step": np.tile(np.repeat(np.arange(T), n), B), "value": arr.ravel()}))
        df = pd.concat(rows, ignore_index=True)
        df["time_ms"] = df["step"] * self.dt_ms
        return df

    # -- files ---------------------------------------------------------------
    def save(self, path, float32: bool = False) -> Path:
        """One compressed .npz (no pickle): per layer the spikes' neurons and steps (int16 where they
        fit) and counts per sample; traces as float32; ``float32`` also stores ``v`` at spikes so."""
        path = Path(path)
        data = {"sizes": np.array([tr[0].n_neurons for tr in self.recording.layers], np.int64),
                "n_samples": np.array(self.n_samples), "n_steps": np.array(self.n_steps),
                "dt_ms": np.array(self.dt_ms), "meta": np.array(json.dumps(self.meta))}
        small = np.int16 if max(int(data["sizes"].max()), self.n_steps) < 2 ** 15 else np.int32
        for k, trains in enumerate(self.recording.layers):
            data[f"spk{k}_n"] = np.array([tr.n_spikes for tr in trains], np.int64)
            data[f"spk{k}_neuron"] = np.concatenate([tr.neuron for tr in trains]).astype(small)
            data[f"spk{k}_step"] = np.concatenate([tr.step for tr in trains]).astype(small)
            if k > 0 and all(tr.v is not None for tr in trains):
                data[f"spk{k}_v"] = np.concatenate([tr.v for tr in trains]).astype(
                    np.float32 if float32 else np.float64)
        for k, by_var in self.traces.items():
            data[f"neurons{k}"] = np.asarray(self.neurons[k], np.int64)
            for var, arr in by_var.items():
                data[f"trace{k}_{var}"] = np.asarray(arr, np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **data)
        return path

    @classmethod
    def load(cls, path) -> ActivityRecording:
        with np.load(path, allow_pickle=False) as f:
            sizes, T = f["sizes"], int(f["n_steps"])
            layers = []
            for k, n in enumerate(sizes):
                i, t = f[f"spk{k}_neuron"].astype(np.int64), f[f"spk{k}_step"].astype(np.int64)
                v = f[f"spk{k}_v"].astype(np.float64) if f"spk{k}_v" in f else None
                bounds = np.concatenate([[0], np.cumsum(f[f"spk{k}_n"])])
                layers.append([SpikeTrains(i[a:b], t[a:b], int(n), T, v=None if v is None else v[a:b])
                               for a, b in zip(bounds[:-1], bounds[1:])])
            neurons, traces = {}, {}
            for key in f.files:
                if key.startswith("neurons"):
                    neurons[int(key[7:])] = f[key]
                elif key.startswith("trace"):
                    k, var = key[5:].split("_", 1)
                    traces.setdefault(int(k), {})[var] = f[key]
            return cls(Recording(layers), dict(sorted(neurons.items())), dict(sorted(traces.items())),
                       float(f["dt_ms"]), json.loads(str(f["meta"])))


def _neuron_choice(arch, neurons) -> dict:
    """{layer: sorted unique indices}; default the first 5 neurons of every trained layer, all outputs."""
    sizes = [s.size for s in arch.layers]
    if neurons is None:
        neurons = {k: range(min(5, sizes[k])) for k in range(1, len(sizes) - 1)}
        neurons[len(sizes) - 1] = range(sizes[-1])
    out = {}
    for k, idx in dict(neurons).items():
        k = int(k)
        if not 1 <= k < len(sizes):
            raise ValueError(f"neurons: layer {k} has no neurons to trace; layers with incoming weights "
                             f"are 1..{len(sizes) - 1}")
        idx = np.unique(np.asarray(list(idx), np.int64))
        if idx.size and (idx.min() < 0 or idx.max() >= sizes[k]):
            raise ValueError(f"neurons: layer {k} has {sizes[k]} neurons (0..{sizes[k] - 1}), got {idx.max()}")
        if idx.size:
            out[k] = idx
    return out


def record_network_activity(weights: NetworkWeights, neuron_configs, inputs, n_steps: int, dt=None,
                            neurons=None, variables=VARIABLES, target: str | None = None,
                            meta: dict | None = None) -> ActivityRecording:
    """Simulate ``inputs`` with ``weights`` in Brian2 runtime mode and record spikes and traces.

    Parameters
    ----------
    weights : NetworkWeights (their recurrent masks are the network's synapses)
    neuron_configs : NeuronConfig, or one per layer with incoming weights
    inputs : list of SpikeTrains (n_inputs, n_steps) or a 0/1 array (B, n_steps, n_inputs)
    n_steps : steps per sample (T)
    dt : time Quantity (default 1 ms)
    neurons : {layer k >= 1: neuron indices} to trace (default: 5 per hidden layer, every output)
    variables : state variables to trace (today's model: :data:`VARIABLES`; another model's own names)
    target : Brian2 code generation target, 'cython' (default when importable) or 'numpy'
        (no compilation: seconds for tiny networks)
    """
    from brian2 import Clock, StateMonitor, ms, prefs

    from ._backend import runtime_target
    if not isinstance(weights, NetworkWeights):
        raise TypeError(f"weights must be a NetworkWeights, got {type(weights).__name__}")
    weights.validate()
    variables = [str(v) for v in variables]
    arch = weights.arch
    configs = configs_for(neuron_configs, len(arch.layers) - 1)
    dt = 1 * ms if dt is None else dt
    inputs = as_input_batch(inputs, arch.n_inputs, n_steps)
    choice = _neuron_choice(arch, neurons)
    masks = {k: lw.rec_mask.copy() for k, lw in enumerate(weights.layers, start=1) if lw.rec_mask is not None}
    values, ptr = event_list(inputs, arch.n_inputs, n_steps, 0)
    with brian_globals():
        prefs.codegen.target = target or runtime_target()
        prefs.core.default_float_dtype = np.float64
        use_runtime_device()
        nw = build_network(arch, configs, masks, dt, n_steps, _pow2(values.size + 1), Clock(dt=dt, name="rsnn_clock"))
        nw.set_inputs(values, ptr)
        for s, w in zip(nw.synapses, nw.weight_vectors(weights)):
            s.syn.w_[:] = w
        states = {k: StateMonitor(nw.groups[k], list(variables), record=idx, when="thresholds", order=-1,
                                  name=f"layer{k}_state") for k, idx in choice.items()}
        nw.net.add(*states.values())
        nw.net.run(len(inputs) * n_steps * dt, namespace={})
        nw.check_order()
        spikes = split_monitors(nw.mons, [s.size for s in arch.trained], n_steps, float(dt), len(inputs), 0)
        traces = {}
        for k, mon in states.items():
            traces[k] = {}
            for var in variables:
                arr = np.asarray(getattr(mon, var + "_")[:], np.float64)      # (n_traced, B * T)
                traces[k][var] = arr.reshape(len(choice[k]), len(inputs), n_steps).transpose(1, 2, 0).copy()
        del nw, states
    return ActivityRecording(Recording([list(inputs)] + spikes), choice, traces, float(dt / ms), dict(meta or {}))
