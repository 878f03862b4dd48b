"""Dense NumPy simulator of the network, step for step as Brian2 does it.

This is the independent oracle of the tests (identical spikes to Brian2 in
float64) and the floor of the forward-pass benchmarks. It mirrors Brian2's
default schedule (see BRIAN2_NOTES, section 5) with the propagators and
refractoriness of a :class:`~rsnn_brian.engine.neuron.Discretisation`
(default Brian2's exact integration; the authors' Euler update is another
value of it):

1. groups: ``not_ref = (n - lastspike) >= R`` (``R = refractory_steps``);
   ``v = where(not_ref, a_v v + a_vI I, v)``; ``I = a_I I`` (old values);
2. thresholds: ``spike = (v > v_th) & not_ref``; ``lastspike = n``;
3. synapses: every layer's spikes of this step add their weights to the
   currents of their targets (same step);
4. resets: ``v = 0`` where a neuron spiked.

All samples of a batch are simulated together, each from rest.
"""

from __future__ import annotations

import numpy as np

from ..engine.neuron import BRIAN2, Discretisation, as_discretisation
from ..network import LayerParams, NetworkWeights, with_params
from ..spikes import Recording, SpikeTrains, as_input_batch, dense_batch

__all__ = ["simulate"]


def simulate(weights: NetworkWeights, params: list[LayerParams] | LayerParams, inputs,
             dtype=np.float64, discretisation: Discretisation | str = BRIAN2) -> Recording:
    """Simulate a batch; return every layer's spike trains with v at each spike.

    Parameters
    ----------
    weights : NetworkWeights
    params : LayerParams, or one per layer with incoming weights
    inputs : list of SpikeTrains (B samples) or 0/1 array (B, T, n_in)
    dtype : float64 for exact comparisons; float32 is faster but shifts spikes.
    discretisation : how a step is taken (default Brian2's exact integration);
        a Discretisation or a built-in's name.
    """
    from threadpoolctl import threadpool_limits
    disc = as_discretisation(discretisation)
    with threadpool_limits(limits=1, user_api="blas"):   # small per-step products: threads only contend
        n_layers = len(weights.arch.layers) - 1
        if any(p.model is not None for p in with_params(params, n_layers)):
            return _simulate_linear(weights, params, inputs, dtype, disc)
        return _simulate(weights, params, inputs, dtype, disc)


def _simulate(weights, params, inputs, dtype, disc) -> Recording:
    arch = weights.arch
    weights.validate()
    params = with_params(params, len(arch.layers) - 1)
    x = dense_batch(as_input_batch(inputs, arch.n_inputs), dtype=dtype)
    B, T, _ = x.shape
    n_layers = len(weights.layers)
    coef = [disc.propagators(p) for p in params]
    refr = [disc.refractory_steps(p) for p in params]
    ffT = [lw.ff.T.astype(dtype) for lw in weights.layers]
    recT = [None if lw.rec is None else lw.rec.T.astype(dtype) for lw in weights.layers]
    v = [np.zeros((B, s.size), dtype) for s in arch.trained]
    cur = [np.zeros((B, s.size), dtype) for s in arch.trained]
    last = [np.full((B, s.size), -10 ** 9, np.int64) for s in arch.trained]
    events = [[] for _ in range(n_layers)]   # (b, neuron, v) arrays per step
    steps = [[] for _ in range(n_layers)]
    for n in range(T):
        spk = []
        for k in range(n_layers):
            a_v, a_vI, a_I = coef[k]
            nr = (n - last[k]) >= refr[k]
            v[k] = np.where(nr, a_v * v[k] + a_vI * cur[k], v[k])
            cur[k] *= a_I
            s = (v[k] > params[k].v_th) & nr
            last[k][s] = n
            spk.append(s)
        below = x[:, n, :]
        for k in range(n_layers):
            cur[k] += below @ ffT[k]
            if recT[k] is not None:
                cur[k] += spk[k].astype(dtype) @ recT[k]
            below = spk[k].astype(dtype)
        for k in range(n_layers):
            s = spk[k]
            if s.any():
                b, i = np.nonzero(s)
                events[k].append((b, i, v[k][b, i]))
                steps[k].append(np.full(b.size, n, np.int64))
                v[k][s] = 0.0
    return _recording(x, arch, events, steps)


def _simulate_linear(weights, params, inputs, dtype, disc) -> Recording:
    """Any linear model (spec 7): state X (B, n, d), ``X' = X P^T`` (v only where not refractory),
    spikes add ``w c`` to the state of their targets, the reset sets the reset variables to 0."""
    arch = weights.arch
    weights.validate()
    params = with_params(params, len(arch.layers) - 1)
    x = dense_batch(as_input_batch(inputs, arch.n_inputs), dtype=dtype)
    B, T, _ = x.shape
    n_layers = len(weights.layers)
    systems = [disc.state_propagator(p) for p in params]
    PT = [P.T.astype(dtype) for P, _, _ in systems]
    jumps = [c.astype(dtype) for _, c, _ in systems]
    resets = [r for _, _, r in systems]
    refr = [disc.refractory_steps(p) for p in params]
    ffT = [lw.ff.T.astype(dtype) for lw in weights.layers]
    recT = [None if lw.rec is None else lw.rec.T.astype(dtype) for lw in weights.layers]
    X = [np.zeros((B, s.size, len(c)), dtype) for s, c in zip(arch.trained, jumps)]
    last = [np.full((B, s.size), -10 ** 9, np.int64) for s in arch.trained]
    events = [[] for _ in range(n_layers)]
    steps = [[] for _ in range(n_layers)]
    for n in range(T):
        spk = []
        for k in range(n_layers):
            nr = (n - last[k]) >= refr[k]
            new = X[k] @ PT[k]
            new[..., 0] = np.where(nr, new[..., 0], X[k][..., 0])
            X[k] = new
            s = (X[k][..., 0] > params[k].v_th) & nr
            last[k][s] = n
            spk.append(s)
        below = x[:, n, :]
        for k in range(n_layers):
            drive = below @ ffT[k]
            if recT[k] is not None:
                drive += spk[k].astype(dtype) @ recT[k]
            X[k] += drive[..., None] * jumps[k]
            below = spk[k].astype(dtype)
        for k in range(n_layers):
            s = spk[k]
            if s.any():
                b, i = np.nonzero(s)
                events[k].append((b, i, X[k][b, i, 0]))
                steps[k].append(np.full(b.size, n, np.int64))
                X[k][b[:, None], i[:, None], np.flatnonzero(resets[k])[None, :]] = 0.0
    return _recording(x, arch, events, steps)


def _recording(x, arch, events, steps) -> Recording:
    B, T, _ = x.shape
    layers = [[SpikeTrains.from_dense(x[b]) for b in range(B)]]
    for k in range(len(events)):
        n_k = arch.trained[k].size
        if events[k]:
            bb = np.concatenate([e[0] for e in events[k]])
            ii = np.concatenate([e[1] for e in events[k]])
            vv = np.concatenate([e[2] for e in events[k]]).astype(np.float64)
            tt = np.concatenate(steps[k])
        else:
            bb = ii = tt = np.zeros(0, np.int64)
            vv = np.zeros(0)
        per = []
        for b in range(B):
            sel = bb == b
            per.append(SpikeTrains(ii[sel], tt[sel], n_k, T, v=vv[sel]))
        layers.append(per)
    return Recording(layers)
