"""The authors' Monte-Carlo generator of effect-ratio tables (their MATLAB code), in NumPy.

Used by :func:`rsnn_brian.engine.effect_ratio.mean_spsp_grid` for a
:class:`~.neuron.Discretisation` with ``placement='authors'`` (the built-in
:data:`~.neuron.AUTHORS`), which reproduces their reference tables.

Their loop: Euler steps of the trace p (decay, then +1 one step after an
input spike) and of q (uses the new p); an output spike at t adds q(t) to the
S-PSP and zeroes q for the next T_REF = 2 steps. Spike times are integers
``round(U * end_time)`` in 0..end_time, drawn one at a time and rejected when
within T_REF of an earlier one. An output spike at t = 0 is never reached by
their loop (t = 1..end_time), so their output index never advances and such
a trial contributes 0.

:func:`authors_spsp_trials` is that loop, literally (vectorised over trials
only): the oracle of the tests. :func:`mean_spsp_grid_authors` is the fast
linear formulation the tables use.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import toeplitz

from ..network import LayerParams
from .neuron import AUTHORS, AUTHORS_T_REF, Discretisation

__all__ = ["sample_trains_authors", "authors_spsp_trials", "mean_spsp_grid_authors", "AUTHORS_T_REF"]


def sample_trains_authors(n_spikes: int, end_time: int, n_samples: int, rng: np.random.Generator,
                          t_ref: int = AUTHORS_T_REF, max_rounds: int = 16) -> np.ndarray:
    """Sorted spike times, shape (n_samples, n_spikes), drawn as the authors do.

    Each spike is ``round(U * end_time)`` (so the end points 0 and end_time
    have half weight), redrawn while within ``t_ref`` of an earlier spike.
    Vectorised: ``max_rounds`` rounds of plain rejection, then the remaining
    rows draw from the same distribution restricted to the free times
    (identical in law). A row with no free time left (jammed; their loop would
    not terminate) is redrawn from scratch; ValueError after 1000 such rounds.
    """
    n_t = end_time + 1
    w = np.full(n_t, 1.0 / end_time)
    w[0] = w[-1] = 0.5 / end_time
    out = np.empty((n_samples, n_spikes), np.int64)
    todo = np.arange(n_samples)
    for _attempt in range(1000):
        if not todo.size:
            break
        m = todo.size
        free = np.ones((m, n_t), bool)
        times = np.empty((m, n_spikes), np.int64)
        ok = np.ones(m, bool)
        rows = np.arange(m)
        for i in range(n_spikes):
            need = rows[ok]
            for _ in range(max_rounds):
                if not need.size:
                    break
                c = np.rint(rng.random(need.size) * end_time).astype(np.int64)
                acc = free[need, c]
                times[need[acc], i] = c[acc]
                need = need[~acc]
            if need.size:                      # exact conditional draw for the slow rows
                cw = np.cumsum(free[need] * w, axis=1)
                tot = cw[:, -1]
                jam = tot <= 0
                ok[need[jam]] = False
                need, cw, tot = need[~jam], cw[~jam], tot[~jam]
                u = rng.random(need.size) * tot
                c = np.minimum((cw < u[:, None]).sum(axis=1), n_t - 1)
                times[need, i] = c
            placed = rows[ok]
            t = times[placed, i]
            for d in range(-t_ref, t_ref + 1):
                tt = t + d
                v = (tt >= 0) & (tt < n_t)
                free[placed[v], tt[v]] = False
        out[todo[ok]] = np.sort(times[ok], axis=1)
        todo = todo[~ok]
    else:
        raise ValueError(f"{n_spikes} spikes at distance > {t_ref} in 0..{end_time}: draws keep jamming")
    return out


def authors_spsp_trials(pre: np.ndarray, post: np.ndarray, end_time: int, tau_m: float,
                        tau_s: float, t_ref: int = AUTHORS_T_REF) -> np.ndarray:
    """S-PSP of each trial by the authors' loop, vectorised over trials.

    pre, post : (M, n_pre), (M, n_post) sorted integer times in 0..end_time, or
    lists of such blocks (different counts per block, same total M). Returns (M,).
    """
    def indicator(blocks, width, dtype):
        blocks = [np.asarray(b) for b in (blocks if isinstance(blocks, (list, tuple)) else [blocks])]
        out = np.zeros((sum(b.shape[0] for b in blocks), width), dtype)
        r0 = 0
        for b in blocks:
            out[np.arange(r0, r0 + b.shape[0])[:, None], b] = 1
            r0 += b.shape[0]
        return out

    pin = indicator(pre, end_time + 2, np.float64)
    pout = indicator(post, end_time + 1, bool)
    M = pin.shape[0]
    if pout.shape[0] != M:
        raise ValueError("pre and post must have the same number of trials")
    dead = pout[:, 0].copy()                  # output at 0: index never advances
    p = np.zeros(M)
    q = np.zeros(M)
    cnt = np.zeros(M, np.int64)
    S = np.zeros(M)
    for t in range(1, end_time + 1):
        p = p - p / tau_s
        p += pin[:, t - 1]
        q = q - q / tau_m + p / tau_s
        ref = cnt > 0
        q[ref] = 0.0
        cnt[ref] -= 1
        o = pout[:, t]
        S[o] += q[o]
        cnt[o] = t_ref
        q[o] = 0.0
    S[dead] = 0.0
    return S


def _mean_selector(post: np.ndarray, a_v: float, restart: int, n_t: int) -> np.ndarray:
    """Summed selector of the trials ``post`` (K, n_post): +1 at each output t_k,
    ``-a_v**(t_k - r)`` at ``r = t_{k-1} + restart`` (q restarts from 0 at r + 1); trials
    with an output at 0 contribute nothing. Shape (n_t,)."""
    post = post[post[:, 0] > 0] if post.shape[1] else post
    out = np.bincount(post.ravel(), minlength=n_t).astype(np.float64)
    if post.shape[1] > 1:
        r = post[:, :-1] + restart
        out -= np.bincount(r.ravel(), weights=(a_v ** (post[:, 1:] - r)).ravel(), minlength=n_t)
    return out


def mean_spsp_grid_authors(params: LayerParams, end_time: int, n_pre: np.ndarray,
                           n_post: np.ndarray, n_samples: int, rng: np.random.Generator,
                           discretisation: Discretisation = AUTHORS) -> np.ndarray:
    """Mean S-PSP with the authors' placement, shape (len(n_pre), len(n_post)).

    The update (kernel, decay, held steps) is the discretisation's; with
    :data:`~.neuron.AUTHORS` (their T_REF = 2 regardless of
    ``params.refractory``) this is their generator. Same linear formulation as
    :func:`rsnn_brian.engine.effect_ratio.mean_spsp_grid`: the S-PSP of a trial
    is ``sum_k q(t_k)`` with q linear in the input train, so
    ``E = sum_m P(pre spike at m) Gbar_post(m)``; both factors are sampled.
    """
    d = discretisation
    n_t = end_time + 1
    t_ref = d.restart_offset(params)
    a_v = d.propagators(params)[0]
    H = toeplitz(d.psp_kernel(params, n_t), np.zeros(n_t))       # H[t, m] = h(t - m)
    sel = [_mean_selector(sample_trains_authors(int(n), end_time, n_samples, rng, t_ref), a_v, t_ref, n_t)
           / n_samples for n in n_post]
    Gbar = np.stack(sel) @ H
    P = np.stack([np.bincount(sample_trains_authors(int(n), end_time, n_samples, rng, t_ref).ravel(),
                              minlength=n_t) / n_samples for n in n_pre])
    return P @ Gbar.T
