"""The Brian2 objects of one network, and weights to and from its synapses.

One copy of the network: the input group replaying the event list (see
:mod:`._encoding`), one NeuronGroup per trained layer whose state is reset at
every sample boundary by a ``run_regularly`` at ``when='start'``, feed-forward
(all-to-all) and recurrent (masked) Synapses, and one SpikeMonitor per layer.
Every object has an explicit name and namespace; they run through an explicit
``Network`` called ``rsnn_network``.

Brian2 creates synapses in i-major order (pre index, then post), so a weight
matrix (n_post, n_pre) goes to Brian2 as ``W.T.ravel()`` for all-to-all, and
as ``W[post, pre]`` over the mask's (pre, post)-sorted pairs for recurrent
synapses; :meth:`BuiltNetwork.check_order` checks this once after the first run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..network import Architecture, LayerWeights, NetworkWeights
from ._brian_private import overwrite_timed_array
from ._encoding import first_steps
from .model import SYNAPSE_MODEL, neuron_kwargs, sample_reset, synapse_on_pre

__all__ = ["SynapseSet", "BuiltNetwork", "build_network"]

#: The state of a layer of today's model at every sample boundary ('never': the lastspike of a neuron that
#: never fired); a general model resets every state variable (:func:`.model.sample_reset`).
SAMPLE_RESET = "v = 0\nI = 0\nlastspike = never\nnot_refractory = True"


@dataclass(frozen=True)
class SynapseSet:
    """One Synapses object: layer ``k`` (1-based), ``kind`` 'ff' or 'rec'.

    ``idx`` is None for 'ff' (all-to-all), else the (post, pre) index arrays of the
    recurrent synapses in Brian2's (i-major) order.
    """

    k: int
    kind: str
    syn: object
    idx: tuple | None


@dataclass
class BuiltNetwork:
    """The Brian2 objects of one network (see :func:`build_network`)."""

    arch: Architecture
    net: object
    inp: object
    spk: object
    groups: list
    synapses: list[SynapseSet]
    mons: list
    order_checked: bool = False

    def set_inputs(self, values: np.ndarray, ptr: np.ndarray) -> None:
        """Runtime mode: the event list of the next run (see :mod:`._encoding`)."""
        overwrite_timed_array(self.spk, values)
        self.inp.ptr_[:] = ptr
        self.inp.next_t_[:] = first_steps(values, ptr)

    def n_synapses(self, s: SynapseSet) -> int:
        """The number of synapses of one Synapses object."""
        if s.kind == "ff":
            return self.arch.layers[s.k - 1].size * self.arch.layers[s.k].size
        return int(s.idx[0].size)

    def weight_vectors(self, weights: NetworkWeights) -> list[np.ndarray]:
        """One float64 vector per Synapses object, in Brian2's synapse order."""
        out = []
        for s in self.synapses:
            lw = weights.layers[s.k - 1]
            if s.kind == "ff":
                out.append(np.ascontiguousarray(lw.ff.T, dtype=np.float64).ravel())   # i-major
            else:
                post, pre = s.idx
                out.append(np.asarray(lw.rec, dtype=np.float64)[post, pre])
        return out

    def read_weights(self, masks: dict) -> NetworkWeights:
        """The weights now held by the Synapses: ff (n_post, n_pre), rec (n, n) on ``masks``."""
        arch = self.arch
        layers = []
        for k, spec in enumerate(arch.trained, start=1):
            ff = np.zeros((spec.size, arch.layers[k - 1].size))
            rec = mask = None
            if k in masks:
                mask = masks[k].copy()
                rec = np.zeros((spec.size, spec.size))
            layers.append([ff, rec, mask])
        for s in self.synapses:
            w = np.asarray(s.syn.w_[:], dtype=np.float64)
            layers[s.k - 1][0 if s.kind == "ff" else 1][s.syn.j[:], s.syn.i[:]] = w
        return NetworkWeights(arch, [LayerWeights(ff, rec, mask, spec.kind == "recurrent")
                                     for (ff, rec, mask), spec in zip(layers, arch.trained)])

    def check_order(self) -> None:
        """Once: the synapse order Brian2 made is the i-major order the weights assume."""
        if self.order_checked:
            return
        for s in self.synapses:
            i, j = np.asarray(s.syn.i[:]), np.asarray(s.syn.j[:])
            if s.kind == "ff":
                n_pre, n_post = self.arch.layers[s.k - 1].size, self.arch.layers[s.k].size
                ok = np.array_equal(i, np.repeat(np.arange(n_pre), n_post)) and \
                    np.array_equal(j, np.tile(np.arange(n_post), n_pre))
            else:
                post, pre = s.idx
                ok = np.array_equal(i, pre) and np.array_equal(j, post)
            if not ok:
                raise RuntimeError(f"Brian2 created the synapses of layer {s.k} ({s.kind}) in an unexpected order")
        self.order_checked = True


def build_network(arch: Architecture, configs, masks: dict, dt, n_steps: int, capacity: int,
                  clock) -> BuiltNetwork:
    """Create every Brian2 object of the network (the device already active).

    Parameters
    ----------
    arch : Architecture
    configs : one NeuronConfig per trained layer
    masks : {layer index: (n, n) bool} recurrent (and lateral) synapses
    dt : time Quantity
    n_steps : int, steps per sample (T): the state is reset every T * dt
    capacity : int, length of the input event list
    clock : the Brian2 Clock of every object

    Returns
    -------
    BuiltNetwork
    """
    from brian2 import Network, NeuronGroup, SpikeMonitor, Synapses, TimedArray, ms, second
    cap = int(capacity)
    spk = TimedArray(np.full(cap, -1.0), dt=dt, name="rsnn_input_events")
    inp = NeuronGroup(arch.n_inputs, "ptr : integer\nnext_t : integer", threshold="next_t == t_in_timesteps",
                      reset="ptr += 1\nnext_t = int(spk(ptr*dt))", clock=clock, name="layer0_input",
                      namespace={"spk": spk})
    inp.ptr = cap - 1          # a sentinel: silent until inputs are given
    inp.next_t = -1
    groups, syn, mons = [inp], [], []
    for k, (spec, cfg) in enumerate(zip(arch.trained, configs), start=1):
        kw = neuron_kwargs(cfg)
        kw["namespace"]["never"] = -1e4 * second
        g = NeuronGroup(spec.size, clock=clock, name=f"layer{k}_{spec.kind}", **kw)
        g.run_regularly(sample_reset(cfg), dt=n_steps * dt, when="start", name=f"layer{k}_sample_reset")
        s_ff = Synapses(groups[-1], g, SYNAPSE_MODEL, on_pre=synapse_on_pre(cfg), delay=0 * ms, clock=clock,
                        name=f"layer{k}_ff", namespace={})
        s_ff.connect()
        s_ff.w = 0
        syn.append(SynapseSet(k, "ff", s_ff, None))
        if k in masks and masks[k].any():
            mask = masks[k]
            if mask.shape != (spec.size, spec.size):
                raise ValueError(f"layer {k}: recurrent mask must have shape ({spec.size}, {spec.size}), "
                                 f"got {mask.shape}")
            post, pre = np.nonzero(mask)
            order = np.lexsort((post, pre))          # i-major: pre, then post
            pre, post = pre[order], post[order]
            s_rec = Synapses(g, g, SYNAPSE_MODEL, on_pre=synapse_on_pre(cfg), delay=0 * ms, clock=clock,
                             name=f"layer{k}_rec", namespace={})
            s_rec.connect(i=pre, j=post)
            s_rec.w = 0
            syn.append(SynapseSet(k, "rec", s_rec, (post, pre)))
        mons.append(SpikeMonitor(g, variables="v", record=True, name=f"layer{k}_spikes"))
        groups.append(g)
    net = Network(*groups, *[s.syn for s in syn], *mons, name="rsnn_network")
    return BuiltNetwork(arch, net, inp, spk, groups, syn, mons)
