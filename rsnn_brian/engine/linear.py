"""S-PSPs, PSP kernels and mean selectors of any linear model (spec section 7).

State ``X`` (v first), one-step propagator ``P = expm(M dt)`` (from
:meth:`.neuron.Discretisation.state_propagator`), jump ``c`` per unit
weight. Every input spike's contribution to the state evolves linearly, so
``U_j(t) = sum_{m <= t} P^(t-m) c x_j(m)`` (the un-reset trace at the end of
step t, the spikes of step t included; its v component ``q_j`` is the
membrane value at the threshold test, since ``c_v = 0``). Let ``R`` be the
reset set (v and the reset variables ``Y_R``), ``r = t_{f-1} +
restart_offset`` and ``Delta = t_f - r``. Since v feeds nothing and no
variable outside the reset set depends on one inside it, the contribution
lost to the reset before ``t_f`` is ``P^Delta D(r)`` with ``D_v(r) =
q_j(r)`` and ``D_Y(r) = P_YY^off Pi_R U_Y(t_{f-1})``, so

    e_ij = sum_f q_j(t_f)
           - sum_{f >= 2} [ (P^Delta)_vv q_j(r) + sum_{c in Y_R} W_c(Delta) U^c_j(t_{f-1}) ],
    W(Delta) = (P^Delta)_{v, Y} (P^off)_{Y, Y_R}.

With only v reset this is the closed form of spec 2.2 with ``a_v^Delta =
(P^Delta)_vv``. The traces are channels: v, then every reset variable;
the post selector has one column per (step, channel, sample).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..network import LayerParams
from ..spikes import SpikeTrains

__all__ = ["channels", "power_rows", "channel_kernels", "traces_tm", "selector_entries",
           "selector_sparse", "mean_selector"]


def channels(p: LayerParams, d) -> tuple[np.ndarray, np.ndarray, list]:
    """``(P, c, chans)``: the propagator, the jump and the state indices of the trace channels."""
    P, c, rmask = d.state_propagator(p)
    return P, c, [0] + [i for i in range(1, len(c)) if rmask[i]]


def power_rows(P: np.ndarray, n_steps: int) -> np.ndarray:
    """``(P^k)[v, :]`` for k = 0..n_steps, shape (n_steps + 1, n)."""
    out = np.empty((n_steps + 1, P.shape[0]))
    row = np.zeros(P.shape[0])
    row[0] = 1.0
    for k in range(n_steps + 1):
        out[k] = row
        row = row @ P
    return out


def _weights(P: np.ndarray, chans: list, off: int, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``(g_vv, W)``: ``(P^Delta)_vv`` (n_steps + 1,) and ``W(Delta)`` (n_steps + 1, C - 1)."""
    rows = power_rows(P, n_steps)
    if len(chans) == 1:
        return rows[:, 0], np.zeros((n_steps + 1, 0))
    P_off = np.linalg.matrix_power(P, off)
    return rows[:, 0], rows[:, 1:] @ P_off[1:, :][:, chans[1:]]


def channel_kernels(p: LayerParams, d, n_steps: int) -> np.ndarray:
    """Responses ``h_c[k] = (P^k c)_c`` of every channel to one unit spike, shape (C, n_steps)."""
    P, c, chans = channels(p, d)
    out = np.empty((len(chans), n_steps))
    x = c.astype(np.float64)
    for k in range(n_steps):
        out[:, k] = x[chans]
        x = P @ x
    return out


def traces_tm(trains: list[SpikeTrains], p: LayerParams, d, dtype=np.float64) -> np.ndarray:
    """Un-reset traces of every channel, shape (T, C, B, n_pre) (channel 0: ``q``, v)."""
    P, c, chans = channels(p, d)
    B = len(trains)
    n, T = trains[0].n_neurons, trains[0].n_steps
    steps = np.concatenate([tr.step for tr in trains])
    flat = np.concatenate([b * n + tr.neuron for b, tr in enumerate(trains)])
    order = np.argsort(steps, kind="stable")
    flat = flat[order]
    bounds = np.searchsorted(steps[order], np.arange(T + 1))
    P, c = P.astype(dtype), c.astype(dtype)
    live = np.flatnonzero(c)
    X = np.zeros((len(c), B * n), dtype=dtype)
    out = np.empty((T, len(chans), B * n), dtype=dtype)
    for t in range(T):
        if t:
            X = P @ X
        lo, hi = bounds[t], bounds[t + 1]
        if hi > lo:
            X[np.ix_(live, flat[lo:hi])] += c[live, None]
        out[t] = X[chans]
    return out.reshape(T, len(chans), B, n)


def selector_entries(trains: list[SpikeTrains], p: LayerParams, d):
    """(sample, post neuron, step, channel, value) of every non-zero of the post selector."""
    P, _, chans = channels(p, d)
    off = d.restart_offset(p)
    T = trains[0].n_steps
    g_vv, W = _weights(P, chans, off, T)
    bb, ii, tt, cc, vv = [], [], [], [], []
    for b, tr in enumerate(trains):
        if tr.n_spikes == 0:
            continue
        order = np.lexsort((tr.step, tr.neuron))
        nrn, stp = tr.neuron[order], tr.step[order]
        same = nrn[1:] == nrn[:-1]
        prev, t = stp[:-1][same], stp[1:][same]
        r = prev + off
        delta = t - r
        post = nrn[1:][same]
        ii += [nrn, post]
        tt += [stp, r]
        cc += [np.zeros(stp.size, np.int64), np.zeros(r.size, np.int64)]
        vv += [np.ones(stp.size), -g_vv[delta]]
        for k in range(1, len(chans)):
            ii.append(post)
            tt.append(prev)
            cc.append(np.full(prev.size, k, np.int64))
            vv.append(-W[delta, k - 1])
        bb.append(np.full(sum(a.size for a in ii[-(2 + len(chans) - 1):]), b, np.int64))
    if not bb:
        z = np.zeros(0, np.int64)
        return z, z, z, z, np.zeros(0)
    return (np.concatenate(bb), np.concatenate(ii), np.concatenate(tt), np.concatenate(cc),
            np.concatenate(vv))


def selector_sparse(trains: list[SpikeTrains], p: LayerParams, d, dtype=np.float64):
    """The post selectors of a batch, sparse (B * n_post, T * C * B): column ``(t C + ch) B + b``
    matches :func:`traces_tm` reshaped to (T * C * B, n_pre)."""
    C = len(channels(p, d)[2])
    B = len(trains)
    n, T = trains[0].n_neurons, trains[0].n_steps
    b, i, t, ch, v = selector_entries(trains, p, d)
    return sp.csr_matrix((v.astype(dtype), (b * n + i, (t * C + ch) * B + b)), shape=(B * n, T * C * B))


def mean_selector(times: np.ndarray, p: LayerParams, d, n_steps: int) -> np.ndarray:
    """Mean post selector of sorted spike steps ``times`` (n_samples, n_post), shape (C, n_steps)."""
    P, _, chans = channels(p, d)
    off = d.restart_offset(p)
    g_vv, W = _weights(P, chans, off, n_steps)
    out = np.zeros((len(chans), n_steps))
    out[0] = np.bincount(times.ravel(), minlength=n_steps)
    if times.shape[1] > 1:
        prev, t = times[:, :-1], times[:, 1:]
        r = prev + off
        delta = (t - r).ravel()
        out[0] -= np.bincount(r.ravel(), weights=g_vv[delta], minlength=n_steps)
        for k in range(1, len(chans)):
            out[k] -= np.bincount(prev.ravel(), weights=W[delta, k - 1], minlength=n_steps)
    return out / times.shape[0]
