"""Effect ratios (spec 4): pre ratio R, post derivative Q, self factor s.

Q comes from tables of the mean S-PSP ``E(n_pre, n_post)`` over random
placements of n_pre pre spikes and n_post post spikes in T steps (both
respecting the refractory period), fitted by a quartic in n_post per n_pre
(rows n_pre = 1..N, coefficients ``[c4 c3 c2 c1 c0]`` as in the authors'
``Effect_Ratio_file``). ``Q = dE/dn_post`` at ``n_post = o_i``.

Monte Carlo, vectorised: the S-PSP is linear in the pre train, so for pre
and post drawn independently ``E = sum_m p_pre(m) Gbar_post(m)`` with
``p_pre(m)`` the probability of a pre spike at step m (exact, by counting
placements) and ``Gbar = Sbar @ H``
the mean post selector (:func:`rsnn_brian.engine.spsp.post_selector`) times
the Toeplitz kernel ``H[t, m] = h(t - m)``. Only histograms of sampled spike
placements are needed; a table takes about a second.

Tables are cached on disk (``RSNN_BRIAN_CACHE`` or ``~/.cache/rsnn_brian``),
keyed by every parameter, written atomically, read without pickle.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.linalg import toeplitz
from scipy.special import gammaln, logsumexp

from ..network import LayerParams, propagators, psp_kernel

__all__ = ["EffectRatioTable", "sample_trains", "mean_spsp_grid", "make_table",
           "sample_trains_authors", "authors_spsp_trials", "mean_spsp_grid_authors",
           "effect_ratio_table", "load_reference_table", "default_cache_dir",
           "pre_ratio", "self_factor", "TABLE_VERSION"]

#: Bump when the generator changes so that old cache files are not reused.
TABLE_VERSION = 2


@dataclass(frozen=True, eq=False)
class EffectRatioTable:
    """Quartic fits ``E(n_pre = r + 1, x) = polyval(coeffs[r], x)``.

    coeffs : (N, 5) float64, rows n_pre = 1..N, columns [c4 c3 c2 c1 c0].
    """

    coeffs: np.ndarray
    meta: tuple = ()

    def __post_init__(self):
        c = np.asarray(self.coeffs, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != 5 or c.shape[0] < 1:
            raise ValueError(f"EffectRatioTable: coeffs must be (N, 5), got {c.shape}")
        if not np.all(np.isfinite(c)):
            raise ValueError("EffectRatioTable: coefficients contain NaN or inf")
        object.__setattr__(self, "coeffs", c)

    @property
    def n_pre_max(self) -> int:
        return self.coeffs.shape[0]

    def rows(self, n_pre) -> np.ndarray:
        """Coefficient rows for counts n_pre clamped to [1, N]: shape (..., 5)."""
        r = np.clip(np.asarray(n_pre, dtype=np.int64), 1, self.n_pre_max) - 1
        return self.coeffs[r]

    def value(self, n_pre, n_post) -> np.ndarray:
        """Fitted mean S-PSP, broadcasting n_pre against n_post."""
        c = self.rows(n_pre)
        x = np.asarray(n_post, dtype=np.float64)
        return (((c[..., 0] * x + c[..., 1]) * x + c[..., 2]) * x + c[..., 3]) * x + c[..., 4]

    def derivative_coeffs(self, n_pre) -> np.ndarray:
        """Coefficients [d3 d2 d1 d0] of dE/dx for counts n_pre: shape (..., 4)."""
        c = self.rows(n_pre)
        return c[..., :4] * np.array([4.0, 3.0, 2.0, 1.0])

    def derivative(self, n_pre, n_post) -> np.ndarray:
        """``Q = dE/dn_post`` at ``n_post``, broadcasting n_pre against n_post."""
        d = self.derivative_coeffs(n_pre)
        x = np.asarray(n_post, dtype=np.float64)
        return ((d[..., 0] * x + d[..., 1]) * x + d[..., 2]) * x + d[..., 3]


# ---------------------------------------------------------------------------
# Monte Carlo

def sample_trains(n_spikes: int, n_steps: int, refractory: int, n_samples: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Sorted spike steps of ``n_samples`` random trains, shape (n_samples, n_spikes).

    Uniform over all placements of n_spikes spikes in n_steps steps whose
    gaps are at least ``max(refractory, 1)`` (stars and bars: choose sorted
    slots among ``n_steps - (n - 1)(gap - 1)`` and spread them).
    """
    gap = max(int(refractory), 1)
    slots = n_steps - (n_spikes - 1) * (gap - 1)
    if n_spikes < 0 or slots < n_spikes:
        raise ValueError(f"cannot place {n_spikes} spikes with gap {gap} in {n_steps} steps")
    if n_spikes == 0:
        return np.zeros((n_samples, 0), np.int64)
    keys = rng.random((n_samples, slots))
    pick = np.sort(np.argpartition(keys, n_spikes - 1, axis=1)[:, :n_spikes], axis=1)
    return pick + np.arange(n_spikes) * (gap - 1)


def _log_placements(n_steps, n_spikes, gap):
    """log of the number of ways to place n_spikes with gaps >= gap in n_steps steps
    (``C(n_steps - (n_spikes - 1)(gap - 1), n_spikes)``; -inf where impossible)."""
    n_steps, n_spikes = np.broadcast_arrays(np.asarray(n_steps, float), np.asarray(n_spikes, float))
    a = n_steps - np.maximum(n_spikes - 1, 0) * (gap - 1)
    ok = (a >= n_spikes) & (n_spikes >= 0)
    a = np.where(ok, a, 0.0)
    k = np.where(ok, n_spikes, 0.0)
    out = gammaln(a + 1) - gammaln(k + 1) - gammaln(a - k + 1)
    # zero spikes fit anywhere (also in an empty or negative range)
    return np.where(n_spikes == 0, 0.0, np.where(ok, out, -np.inf))


def pre_marginal(n_pre: int, n_steps: int, refractory: int) -> np.ndarray:
    """Exact probability of a spike at each step for a uniformly random train of
    n_pre spikes with gaps >= max(refractory, 1), shape (n_steps,), summing to n_pre."""
    gap = max(int(refractory), 1)
    m = np.arange(n_steps)[:, None]
    r = np.arange(n_pre)[None, :]                      # spikes before step m
    logp = (_log_placements(m - gap + 1, r, gap) + _log_placements(n_steps - m - gap, n_pre - 1 - r, gap)
            - _log_placements(n_steps, n_pre, gap))
    return np.exp(logsumexp(logp, axis=1))


def _mean_selector(n_post: int, params: LayerParams, n_steps: int, n_samples: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Mean post selector over random post trains, shape (n_steps,)."""
    t = sample_trains(n_post, n_steps, params.refractory, n_samples, rng)
    a_v = propagators(params)[0]
    out = np.bincount(t.ravel(), minlength=n_steps).astype(np.float64)
    if n_post > 1:
        r = t[:, :-1] + params.restart_offset
        out -= np.bincount(r.ravel(), weights=(a_v ** (t[:, 1:] - r)).ravel(), minlength=n_steps)
    return out / n_samples


def mean_spsp_grid(params: LayerParams, n_steps: int, n_pre: np.ndarray, n_post: np.ndarray,
                   n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Monte-Carlo mean S-PSP ``E[n_pre, n_post]``, shape (len(n_pre), len(n_post))."""
    h = psp_kernel(params, n_steps)
    H = toeplitz(h, np.zeros(n_steps))                      # H[t, m] = h(t - m)
    Sbar = np.stack([_mean_selector(int(n), params, n_steps, n_samples, rng) for n in n_post])
    Gbar = Sbar @ H                                          # (n_post, T)
    P = np.stack([pre_marginal(int(n), n_steps, params.refractory) for n in n_pre])
    return P @ Gbar.T


# ---------------------------------------------------------------------------
# the authors' discretisation (their MATLAB Monte-Carlo generator)
#
# Euler steps of the trace p (decay, then +1 one step after an input spike)
# and of q (uses the new p); an output spike at t adds q(t) to the S-PSP and
# zeroes q for the next T_REF = 2 steps. Spike times are integers
# round(U * end_time) in 0..end_time, drawn one at a time and rejected when
# within T_REF of an earlier one. An output spike at t = 0 is never reached
# by their loop (t = 1..end_time), so their output index never advances and
# such a trial contributes 0.

AUTHORS_T_REF = 2
DISCRETISATIONS = ("brian2", "authors")


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


def authors_psp_kernel(tau_m: float, tau_s: float, n_t: int) -> np.ndarray:
    """q at t for a unit input at t - d without reset, ``h[d]``, d = 0..n_t-1 (h[0] = 0)."""
    h = np.zeros(n_t)
    p = q = 0.0
    for d in range(1, n_t):
        p = 1.0 if d == 1 else p - p / tau_s
        q = q - q / tau_m + p / tau_s
        h[d] = q
    return h


def _authors_mean_selector(post: np.ndarray, tau_m: float, n_t: int,
                           t_ref: int = AUTHORS_T_REF) -> np.ndarray:
    """Mean selector: +1 at each output t_k, ``-(1 - 1/tau_m)**(t_k - t_{k-1} - t_ref)``
    at ``t_{k-1} + t_ref`` (q restarts from 0 at t_{k-1} + t_ref + 1); trials with
    an output at 0 contribute nothing."""
    post = post[post[:, 0] > 0] if post.shape[1] else post
    K_live = post.shape[0]
    out = np.bincount(post.ravel(), minlength=n_t).astype(np.float64)
    if post.shape[1] > 1:
        r = post[:, :-1] + t_ref
        a = 1.0 - 1.0 / tau_m
        out -= np.bincount(r.ravel(), weights=(a ** (post[:, 1:] - r)).ravel(), minlength=n_t)
    return out, K_live


def mean_spsp_grid_authors(params: LayerParams, end_time: int, n_pre: np.ndarray,
                           n_post: np.ndarray, n_samples: int, rng: np.random.Generator
                           ) -> np.ndarray:
    """Mean S-PSP with the authors' discretisation (``params.tau_m``, ``params.tau_s``;
    their T_REF = 2 regardless of ``params.refractory``), shape (len(n_pre), len(n_post)).

    Same linear formulation as :func:`mean_spsp_grid`: the S-PSP of a trial is
    ``sum_k q(t_k)`` with q linear in the input train, so
    ``E = sum_m P(pre spike at m) Gbar_post(m)``; both factors are sampled.
    """
    n_t = end_time + 1
    h = authors_psp_kernel(params.tau_m, params.tau_s, n_t)
    H = toeplitz(h, np.zeros(n_t))                          # H[t, m] = h(t - m)
    sel = []
    for n in n_post:
        s, _ = _authors_mean_selector(sample_trains_authors(int(n), end_time, n_samples, rng),
                                      params.tau_m, n_t)
        sel.append(s / n_samples)
    Gbar = np.stack(sel) @ H
    P = np.stack([np.bincount(sample_trains_authors(int(n), end_time, n_samples, rng).ravel(),
                              minlength=n_t) / n_samples for n in n_pre])
    return P @ Gbar.T


def make_table(params: LayerParams, n_steps: int, n_pre_max: int = 100,
               n_post_fit: tuple[int, int] | None = None, n_samples: int = 2000,
               seed: int = 0, discretisation: str = "brian2") -> EffectRatioTable:
    """Generate a table: quartic least-squares fit in n_post over ``n_post_fit``
    (inclusive; default ``(1, n_pre_max)``, which is what reproduces the
    authors' coefficients best: N = 100 for T = 400, N = 50 for T = 700) for
    each n_pre = 1..n_pre_max. ``n_samples`` random trains per count.

    ``discretisation``: ``"brian2"`` (default; exact integration, Brian2's
    refractoriness) or ``"authors"`` (their MATLAB Monte Carlo: Euler steps,
    T_REF = 2, spike times ``round(U * T)`` in 0..T by rejection; see
    :func:`authors_spsp_trials`), which reproduces their reference tables."""
    if discretisation not in DISCRETISATIONS:
        raise ValueError(f"discretisation must be one of {DISCRETISATIONS}, got {discretisation!r}")
    authors = discretisation == "authors"
    gap = AUTHORS_T_REF + 1 if authors else max(params.refractory, 1)
    n_slots = n_steps + 1 if authors else n_steps          # authors: times 0..n_steps
    n_pre_max = min(n_pre_max, (n_slots + gap - 1) // gap)
    if n_post_fit is None:
        n_post_fit = (1, n_pre_max)
    rng = np.random.default_rng(seed)
    hi = min(n_post_fit[1], (n_slots + gap - 1) // gap)
    x = np.arange(n_post_fit[0], hi + 1)
    if x.size < 5:
        raise ValueError(f"n_post_fit {n_post_fit} leaves fewer than 5 points to fit a quartic")
    grid = mean_spsp_grid_authors if authors else mean_spsp_grid
    E = grid(params, n_steps, np.arange(1, n_pre_max + 1), x, n_samples, rng)
    V = np.vander(x.astype(np.float64), 5)                  # columns x^4 .. x^0
    coeffs = np.linalg.lstsq(V, E.T, rcond=None)[0].T
    return EffectRatioTable(coeffs, meta=(("n_post_fit", tuple(n_post_fit)),
                                          ("discretisation", discretisation)))


def default_cache_dir() -> Path:
    env = os.environ.get("RSNN_BRIAN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "rsnn_brian"


def effect_ratio_table(params: LayerParams, n_steps: int, n_pre_max: int = 100,
                       n_post_fit: tuple[int, int] | None = None, n_samples: int = 2000,
                       seed: int = 0, cache_dir: str | Path | None = None,
                       use_cache: bool = True, discretisation: str = "brian2") -> EffectRatioTable:
    """:func:`make_table`, cached on disk under a key of every parameter."""
    if n_post_fit is None:
        n_post_fit = (1, n_pre_max)
    key = (f"v{TABLE_VERSION}_taum{params.tau_m!r}_taus{params.tau_s!r}_ref{params.refractory}"
           f"_T{n_steps}_N{n_pre_max}_fit{n_post_fit[0]}-{n_post_fit[1]}_K{n_samples}_seed{seed}")
    if discretisation != "brian2":        # keys of default tables unchanged
        key += f"_disc-{discretisation}"
    if not use_cache:
        return make_table(params, n_steps, n_pre_max, n_post_fit, n_samples, seed, discretisation)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache / f"effect_ratio_{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) == key:
                return EffectRatioTable(f["coeffs"], meta=(("key", key),))
    table = make_table(params, n_steps, n_pre_max, n_post_fit, n_samples, seed, discretisation)
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, coeffs=table.coeffs, key=np.array(key))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return EffectRatioTable(table.coeffs, meta=(("key", key),))


def load_reference_table(path: str | Path) -> EffectRatioTable:
    """Read an authors' text table (N rows of ``c4 c3 c2 c1 c0``)."""
    return EffectRatioTable(np.loadtxt(path, ndmin=2), meta=(("path", str(path)),))


# ---------------------------------------------------------------------------
# ratios and self factor

def pre_ratio(e: np.ndarray, o_pre: np.ndarray, o_post: np.ndarray | None = None,
              silent: float = 0.0) -> np.ndarray:
    """``R_ij = e_ij / o_j``: e (B, n_post, n_pre), o_pre (B, n_pre), o_post (B, n_post).

    Where o_j = 0 or o_i = 0 the ratio is ``silent``: 0 in the spec, 0.5 in the
    authors' code (``EngineSettings.silent_ratio``); ``o_post`` is only needed
    when ``silent`` is not 0.
    """
    o = o_pre[:, None, :]
    if silent == 0.0:
        return np.divide(e, o, out=np.zeros_like(e), where=o > 0)
    if o_post is None:
        raise ValueError("pre_ratio: a non-zero silent ratio needs the post counts")
    both = (o > 0) & (o_post[:, :, None] > 0)
    return np.divide(e, o, out=np.full(e.shape, silent, dtype=e.dtype), where=both)


def q_matrix(table: EffectRatioTable, o_pre: np.ndarray, o_post: np.ndarray,
             zero_silent_post: bool, zero_silent_pre: bool = False) -> np.ndarray:
    """Explicit ``Q[b, i, j]`` (B, n_post, n_pre) (small networks, tests, linearised model)."""
    Q = table.derivative(o_pre[:, None, :], o_post[:, :, None].astype(np.float64))
    if zero_silent_post:
        Q = np.where(o_post[:, :, None] > 0, Q, 0.0)
    if zero_silent_pre:
        Q = np.where(o_pre[:, None, :] > 0, Q, 0.0)
    return Q


def weighted_q_sum(table: EffectRatioTable, w: np.ndarray, o_pre: np.ndarray, o_post: np.ndarray,
                   zero_silent_post: bool, zero_silent_pre: bool = False) -> np.ndarray:
    """``sum_j w_ij Q_ij`` for every sample, shape (B, n_post), without forming Q.

    Q is a cubic in n_post = o_i with coefficients depending on o_j only, so
    the sum is ``sum_k (w @ d_k(o_pre))_i o_i**k`` (one small GEMM).
    """
    d = table.derivative_coeffs(o_pre)                       # (B, n_pre, 4)
    if zero_silent_pre:
        d = d * (o_pre[:, :, None] > 0)
    wd = np.matmul(w[None], d)                                # (B, n_post, 4)
    x = o_post.astype(np.float64)
    out = ((wd[..., 0] * x + wd[..., 1]) * x + wd[..., 2]) * x + wd[..., 3]
    if zero_silent_post:
        out = np.where(o_post > 0, out, 0.0)
    return out


def self_factor(wq_sum: np.ndarray, v_th: float, s_min: float | None = None) -> np.ndarray:
    """``s_i = 1 - wq_sum_i / v_th``; if ``s_min`` keep ``|s| >= s_min`` with the sign kept."""
    s = 1.0 - wq_sum / v_th
    if s_min is not None:
        s = np.where(np.abs(s) < s_min, np.where(s < 0, -s_min, s_min), s)
    return s
