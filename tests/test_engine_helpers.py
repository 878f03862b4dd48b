"""Shared helpers of the engine tests: small networks that fire, literal loops."""

from __future__ import annotations

import numpy as np

from rsnn_brian.connectivity import init_weights
from rsnn_brian.engine.neuron import BRIAN2, Discretisation
from rsnn_brian.network import LayerParams
from rsnn_brian.reference.simulate import simulate
from rsnn_brian.spikes import SpikeTrains


def small_network(arch="20-15-R12-5", seed=0, B=3, T=100, rate=0.1, ff_scale=3.0, v_th=5.0,
                  recurrent="all", refractory=2, zero_lateral=False, discretisation=BRIAN2):
    """A random network and batch where every layer fires. Returns (rec, w, params, labels)."""
    rng = np.random.default_rng(seed)
    w = init_weights(arch, rng, recurrent=recurrent)
    for lw in w.layers:
        lw.ff *= ff_scale
    if zero_lateral:
        w.layers[-1].rec[:] = 0.0
    p = LayerParams(v_th=v_th, refractory=refractory)
    x = (rng.random((B, T, w.arch.n_inputs)) < rate).astype(float)
    rec = simulate(w, p, x, discretisation=discretisation)
    for k in range(len(rec.layers)):
        assert rec.counts(k).sum() > 0, f"test network: layer {k} is silent"
    labels = rng.integers(0, w.arch.n_classes, B)
    return rec, w, p, labels


def literal_spsp(post: SpikeTrains, pre: SpikeTrains, i: int, j: int, params: LayerParams,
                 discretisation: Discretisation = BRIAN2) -> float:
    """Replay j's train through a unit synapse onto a copy of i that is reset and held
    exactly when i fired (Brian2's schedule), summing the copy's v at i's firing steps."""
    a_v, a_vI, a_I = discretisation.propagators(params)
    refractory = discretisation.refractory_steps(params)
    fires = set(post.step[post.neuron == i].tolist())
    pre_steps = set(pre.step[pre.neuron == j].tolist())
    v = cur = 0.0
    last = -10 ** 9
    total = 0.0
    for n in range(post.n_steps):
        if n - last >= refractory:
            v = a_v * v + a_vI * cur
        cur = a_I * cur
        if n in fires:
            total += v
            last = n
        if n in pre_steps:
            cur += 1.0
        if n in fires:
            v = 0.0
    return total
