"""S-PSPs (spec 2.1-2.2) and the identity check (spec 2.3).

Closed form, batched over samples: for a post neuron i firing at steps
``t_1 < ... < t_F`` and restarting its membrane at ``r_f = t_{f-1} +
restart_offset`` (``r_1 = 0``; :meth:`.neuron.Discretisation.restart_offset`),

    e_ij = sum_f [ q_j(t_f) - a_v**(t_f - r_f) q_j(r_f) ],

with ``q_j`` the un-reset unit response to j's train (causal convolution
with the discretisation's PSP kernel, ``h[0] = 0``). In matrix form
``e_b = S_b @ Q_b``: ``S_b`` is the (n_post, T) *post selector* (+1 at every
``t_f``, ``-a_v**(t_f - r_f)`` at every ``r_f``) and ``Q_b`` the (T, n_pre)
traces, computed by the neuron's own recursion (O(T n_pre)). ``S`` has two
non-zeros per post spike, so the product is done sparse for the whole batch
at once (one block-diagonal CSR matrix times the stacked traces). ``q_j(0) = 0`` always, so the ``r_1 = 0`` term is
dropped.

Every function takes the :class:`~.neuron.Discretisation` that made the
spikes (default :data:`~.neuron.BRIAN2`), so that the S-PSPs use exactly the
update, order and refractory handling of the simulation (spec 2.3).

A layer whose ``LayerParams.model`` is set (any linear model, spec 7) goes
through :mod:`.linear`: the same selector-times-traces product, with one
trace channel per reset variable.

All times are integer steps; weights are (n_post, n_pre).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..network import LayerParams, NetworkWeights, with_params
from ..spikes import Recording, SpikeTrains
from . import linear
from .neuron import BRIAN2, Discretisation

__all__ = ["unit_traces", "unit_traces_tm", "post_selector", "post_selector_sparse", "spsp", "layer_spsps",
           "check_identity"]


def unit_traces_tm(trains: list[SpikeTrains], params: LayerParams, dtype=np.float64,
                   discretisation: Discretisation = BRIAN2) -> np.ndarray:
    """Un-reset unit responses in time-major layout, shape (T, B, n_pre).

    ``q[t, b, j] = sum_m h(t - m) x[b, m, j]`` with ``h`` the PSP kernel of
    the *post* layer's ``params`` (``h[0] = 0``: a spike at m first moves q
    at m + 1), by the neuron's own two-state recursion (O(T B n_pre)).
    """
    if params.model is not None:
        return linear.traces_tm(trains, params, discretisation, dtype)[:, 0]
    B = len(trains)
    n, T = trains[0].n_neurons, trains[0].n_steps
    steps = np.concatenate([tr.step for tr in trains])
    flat = np.concatenate([b * n + tr.neuron for b, tr in enumerate(trains)])
    return _traces_from_events(steps, flat, B, n, T, discretisation.propagators(params), dtype)


def _traces_from_events(steps, flat, B, n, T, coef, dtype):
    """Traces (T, B, n) of spikes at ``steps`` of flat (sample, neuron) indices ``flat``."""
    order = np.argsort(steps, kind="stable")
    flat = flat[order]
    bounds = np.searchsorted(steps[order], np.arange(T + 1))
    a_v, a_vI, a_I = (dtype(a) for a in coef)
    q = np.empty((T, B, n), dtype=dtype)
    qf = q.reshape(T, B * n)
    qf[0] = 0
    drive = np.zeros(B * n, dtype=dtype)         # a_vI * I: what the current adds to v next step
    for t in range(T - 1):
        drive *= a_I
        lo, hi = bounds[t], bounds[t + 1]
        if hi > lo:
            drive[flat[lo:hi]] += a_vI           # one spike per (sample, neuron) and step
        np.multiply(qf[t], a_v, out=qf[t + 1])
        qf[t + 1] += drive
    return q


def _channel_traces(trains, params, dtype, discretisation):
    """The traces the post selector multiplies: (T, B, n) for today's model, (T, C, B, n) for a general one."""
    if params.model is not None:
        return linear.traces_tm(trains, params, discretisation, dtype)
    return unit_traces_tm(trains, params, dtype, discretisation)


def unit_traces(trains: list[SpikeTrains], params: LayerParams, dtype=np.float64,
                discretisation: Discretisation = BRIAN2) -> np.ndarray:
    """Un-reset unit responses ``q``, shape (B, T, n_pre) (a view of :func:`unit_traces_tm`)."""
    return unit_traces_tm(trains, params, dtype, discretisation).transpose(1, 0, 2)


def _selector_entries(trains: list[SpikeTrains], params: LayerParams, discretisation: Discretisation):
    """(sample, post neuron, step, value) of every non-zero of the post selector."""
    a_v = discretisation.propagators(params)[0]
    off = discretisation.restart_offset(params)
    bb, ii, tt, vv = [], [], [], []
    for b, tr in enumerate(trains):
        if tr.n_spikes == 0:
            continue
        order = np.lexsort((tr.step, tr.neuron))          # by neuron, then step
        nrn, stp = tr.neuron[order], tr.step[order]
        same = nrn[1:] == nrn[:-1]                          # spike f >= 2 of a neuron
        r = stp[:-1][same] + off
        t = stp[1:][same]
        ii += [nrn, nrn[1:][same]]
        tt += [stp, r]
        vv += [np.ones(stp.size), -(a_v ** (t - r))]
        bb.append(np.full(stp.size + r.size, b, np.int64))
    if not bb:
        z = np.zeros(0, np.int64)
        return z, z, z, np.zeros(0)
    return np.concatenate(bb), np.concatenate(ii), np.concatenate(tt), np.concatenate(vv)


def post_selector(trains: list[SpikeTrains], params: LayerParams, dtype=np.float64,
                  discretisation: Discretisation = BRIAN2) -> np.ndarray:
    """Dense post selector ``S``, shape (B, n_post, T): ``e_b = S_b @ q_b``.

    ``S[b, i, t_f] += 1`` for every spike f of i; ``S[b, i, r_f] -=
    a_v**(t_f - r_f)`` for f >= 2 with ``r_f = t_{f-1} + restart_offset``.
    """
    B = len(trains)
    n, T = trains[0].n_neurons, trains[0].n_steps
    if params.model is not None:
        b, i, t, ch, v = linear.selector_entries(trains, params, discretisation)
        if np.any(ch):
            raise ValueError("post_selector: the model resets variables other than v; use post_selector_sparse")
    else:
        b, i, t, v = _selector_entries(trains, params, discretisation)
    out = np.bincount((b * n + i) * T + t, weights=v, minlength=B * n * T)
    return out.reshape(B, n, T).astype(dtype, copy=False)


def post_selector_sparse(trains: list[SpikeTrains], params: LayerParams, dtype=np.float64,
                         discretisation: Discretisation = BRIAN2):
    """The post selectors of a batch as one sparse (B * n_post, T * B) CSR matrix.

    Row ``b * n_post + i``, column ``t * B + b`` (matching ``unit_traces_tm``
    reshaped to (T * B, n_pre)), so ``S @ q_tm.reshape(T * B, -1)`` is the
    (B * n_post, n_pre) stack of all samples' S-PSPs.
    """
    if params.model is not None:
        return linear.selector_sparse(trains, params, discretisation, dtype)
    B = len(trains)
    n, T = trains[0].n_neurons, trains[0].n_steps
    b, i, t, v = _selector_entries(trains, params, discretisation)
    return sp.csr_matrix((v.astype(dtype), (b * n + i, t * B + b)), shape=(B * n, T * B))


def spsp(post: list[SpikeTrains], pre: list[SpikeTrains], params: LayerParams,
         dtype=np.float64, selector: np.ndarray | None = None,
         discretisation: Discretisation = BRIAN2) -> np.ndarray:
    """S-PSPs of every synapse from ``pre`` onto ``post``, shape (B, n_post, n_pre).

    ``params`` are the post layer's. ``selector`` may pass a precomputed
    :func:`post_selector_sparse` of ``post``. Cost: O(T B n_pre) for the
    traces plus (number of post spikes x 2 x n_pre) for the sparse product.
    """
    if len(post) != len(pre):
        raise ValueError(f"spsp: {len(post)} post samples but {len(pre)} pre samples")
    if post[0].n_steps != pre[0].n_steps:
        raise ValueError("spsp: pre and post trains have different n_steps")
    B, n_post, n_pre = len(post), post[0].n_neurons, pre[0].n_neurons
    S = post_selector_sparse(post, params, dtype, discretisation) if selector is None else selector
    q = _channel_traces(pre, params, dtype, discretisation).reshape(-1, n_pre)
    return np.asarray(S @ q).reshape(B, n_post, n_pre)


def layer_spsps(recording: Recording, weights: NetworkWeights, params, dtype=np.float64,
                post_layers: list | None = None, discretisation: Discretisation = BRIAN2):
    """S-PSPs of every layer with incoming weights.

    Returns two lists indexed k = 1..K (index 0 is None): ``e_ff[k]`` of shape
    (B, n_k, n_{k-1}) and ``e_rec[k]`` of shape (B, n_k, n_k) (recurrent or
    lateral synapses, zero where the mask has no synapse; None for hidden
    layers). ``post_layers`` may replace the post trains of given layers
    (used for the output layer with artificial label spikes).
    """
    K = len(weights.layers)
    params = with_params(params, K)
    layers = list(recording.layers)
    if post_layers is not None:
        for k, tr in enumerate(post_layers):
            if tr is not None:
                layers[k] = tr
    e_ff, e_rec = [None], [None]
    traces = {}                    # (layer, dynamics) -> (T [* C] * B, n) traces, shared between uses

    def q_of(layer, p):
        key = (layer, p.tau_m, p.tau_s, p.model, p.constants)
        if key not in traces:
            q = _channel_traces(layers[layer], p, dtype, discretisation)
            traces[key] = q.reshape(-1, layers[layer][0].n_neurons)
        return traces[key]

    B = len(layers[0])
    for k in range(1, K + 1):
        p = params[k - 1]
        S = post_selector_sparse(layers[k], p, dtype, discretisation)
        n_post = layers[k][0].n_neurons
        e_ff.append(np.asarray(S @ q_of(k - 1, p)).reshape(B, n_post, -1))
        for key in [key for key in traces if key[0] == k - 1]:      # layer k-1 has no later use: free its
            del traces[key]                                         # traces before layer k's are made
        lw = weights.layers[k - 1]
        if lw.rec is not None:
            er = np.asarray(S @ q_of(k, p)).reshape(B, n_post, n_post)
            er *= lw.rec_mask
            e_rec.append(er)
        else:
            e_rec.append(None)
    return e_ff, e_rec


def check_identity(recording: Recording, weights: NetworkWeights, params,
                   discretisation: Discretisation = BRIAN2) -> list[float]:
    """Spec 2.3 on a recorded batch: max relative error per layer (k = 1..K).

    Compares ``a_i = sum_j w_ij e_ij + sum_p u_ip e_ip`` with the sum of the
    recorded membrane values at i's spikes (``SpikeTrains.v``), for every
    neuron of every sample; relative to that sum (a silent neuron must give
    ``a_i = 0`` exactly, else the error is reported as ``inf``).
    """
    K = len(weights.layers)
    e_ff, e_rec = layer_spsps(recording, weights, params, np.float64, discretisation=discretisation)
    out = []
    for k in range(1, K + 1):
        trains = recording.layers[k]
        if any(tr.v is None for tr in trains):
            raise ValueError(f"check_identity: layer {k} has no recorded membrane values (SpikeTrains.v)")
        lw = weights.layers[k - 1]
        a = np.einsum("bij,ij->bi", e_ff[k], lw.ff)
        if e_rec[k] is not None:
            a += np.einsum("bij,ij->bi", e_rec[k], lw.rec)
        vsum = np.stack([np.bincount(tr.neuron, weights=tr.v, minlength=tr.n_neurons) for tr in trains])
        cnt = recording.counts(k)
        err = np.where(cnt > 0, np.abs(a - vsum) / np.maximum(np.abs(vsum), 1e-300),
                       np.where(a == 0, 0.0, np.inf))
        out.append(float(err.max()) if err.size else 0.0)
    return out
