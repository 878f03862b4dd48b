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

Every table is made in a :class:`~.neuron.Discretisation` (default
:data:`~.neuron.BRIAN2`; :data:`~.neuron.AUTHORS` follows the authors'
MATLAB generator, :mod:`.tables_authors`).

Tables are cached on disk (:func:`rsnn_brian._io.cache_root`: ``cache_dir``,
``RSNN_BRIAN_CACHE`` or ``~/.cache/rsnn_brian``), keyed by every parameter,
written atomically, read without pickle; an unreadable cache file is
reported (:class:`rsnn_brian._io.CorruptCacheWarning`) and recomputed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.linalg import toeplitz
from scipy.special import gammaln, logsumexp

from .._io import atomic_savez, cache_root, warn_corrupt_cache
from ..network import LayerParams
from . import linear
from .neuron import BRIAN2, DISCRETISATIONS, Discretisation, as_discretisation
from .tables_authors import mean_spsp_grid_authors

__all__ = ["EffectRatioTable", "sample_trains", "pre_marginal", "mean_spsp_grid", "make_table",
           "effect_ratio_table", "load_reference_table", "pre_ratio", "q_matrix", "weighted_q_sum",
           "self_factor", "model_tag", "TABLE_VERSION", "DISCRETISATIONS"]

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
                   rng: np.random.Generator, d: Discretisation) -> np.ndarray:
    """Mean post selector over random post trains, shape (n_steps,)."""
    t = sample_trains(n_post, n_steps, d.refractory_steps(params), n_samples, rng)
    a_v = d.propagators(params)[0]
    out = np.bincount(t.ravel(), minlength=n_steps).astype(np.float64)
    if n_post > 1:
        r = t[:, :-1] + d.restart_offset(params)
        out -= np.bincount(r.ravel(), weights=(a_v ** (t[:, 1:] - r)).ravel(), minlength=n_steps)
    return out / n_samples


def mean_spsp_grid(params: LayerParams, n_steps: int, n_pre: np.ndarray, n_post: np.ndarray,
                   n_samples: int, rng: np.random.Generator,
                   discretisation: Discretisation | str = BRIAN2) -> np.ndarray:
    """Monte-Carlo mean S-PSP ``E[n_pre, n_post]``, shape (len(n_pre), len(n_post)).

    With ``placement='authors'`` (:data:`~.neuron.AUTHORS`) the trains are
    drawn as the authors' generator draws them, in 0..n_steps
    (:func:`.tables_authors.mean_spsp_grid_authors`).
    """
    d = as_discretisation(discretisation)
    if d.placement == "authors":
        return mean_spsp_grid_authors(params, n_steps, n_pre, n_post, n_samples, rng, d)
    if params.model is not None:       # spec 7: one selector and kernel per trace channel
        kern = linear.channel_kernels(params, d, n_steps)
        Gbar = np.zeros((len(n_post), n_steps))
        for row, n in enumerate(n_post):
            t = sample_trains(int(n), n_steps, d.refractory_steps(params), n_samples, rng)
            sbar = linear.mean_selector(t, params, d, n_steps)
            for ch in range(kern.shape[0]):
                Gbar[row] += sbar[ch] @ toeplitz(kern[ch], np.zeros(n_steps))
    else:
        H = toeplitz(d.psp_kernel(params, n_steps), np.zeros(n_steps))      # H[t, m] = h(t - m)
        Sbar = np.stack([_mean_selector(int(n), params, n_steps, n_samples, rng, d) for n in n_post])
        Gbar = Sbar @ H                                          # (n_post, T)
    P = np.stack([pre_marginal(int(n), n_steps, d.refractory_steps(params)) for n in n_pre])
    return P @ Gbar.T


def _table_rows(params: LayerParams, n_steps: int, n_pre_max: int, d: Discretisation) -> tuple[int, int, int]:
    """``(rows, gap, slots)``: n_pre_max clamped to what fits in the steps."""
    gap = d.min_gap(params)
    n_slots = n_steps + 1 if d.placement == "authors" else n_steps     # authors: times 0..n_steps
    return min(n_pre_max, (n_slots + gap - 1) // gap), gap, n_slots


def make_table(params: LayerParams, n_steps: int, n_pre_max: int = 100,
               n_post_fit: tuple[int, int] | None = None, n_samples: int = 2000,
               seed: int = 0, discretisation: Discretisation | str = BRIAN2) -> EffectRatioTable:
    """Generate a table: quartic least-squares fit in n_post over ``n_post_fit``
    (inclusive; default ``(1, n_pre_max)``, which is what reproduces the
    authors' coefficients best: N = 100 for T = 400, N = 50 for T = 700) for
    each n_pre = 1..n_pre_max. ``n_samples`` random trains per count.

    ``discretisation``: a :class:`~.neuron.Discretisation` or a built-in's
    name: ``"brian2"`` (default; exact integration, Brian2's refractoriness)
    or ``"authors"`` (their MATLAB Monte Carlo: Euler steps, T_REF = 2, spike
    times ``round(U * T)`` in 0..T by rejection; see
    :func:`.tables_authors.authors_spsp_trials`), which reproduces their
    reference tables."""
    d = as_discretisation(discretisation)
    n_pre_max, gap, n_slots = _table_rows(params, n_steps, n_pre_max, d)
    if n_post_fit is None:
        n_post_fit = (1, n_pre_max)
    rng = np.random.default_rng(seed)
    hi = min(n_post_fit[1], (n_slots + gap - 1) // gap)
    x = np.arange(n_post_fit[0], hi + 1)
    if x.size < 5:
        raise ValueError(f"n_post_fit {n_post_fit} leaves fewer than 5 points to fit a quartic")
    E = mean_spsp_grid(params, n_steps, np.arange(1, n_pre_max + 1), x, n_samples, rng, d)
    V = np.vander(x.astype(np.float64), 5)                  # columns x^4 .. x^0
    coeffs = np.linalg.lstsq(V, E.T, rcond=None)[0].T
    return EffectRatioTable(coeffs, meta=(("n_post_fit", tuple(n_post_fit)),
                                          ("discretisation", d.name)))


def _read_cached(path: Path, key: str, n_rows: int) -> EffectRatioTable | None:
    """The cached table at ``path``, or None (absent; or unreadable: reported, then recomputed)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            found, coeffs = str(f["key"]), np.array(f["coeffs"])
        if found != key:
            raise ValueError(f"it holds the table {found!r}, not {key!r}")
        if coeffs.shape != (n_rows, 5):
            raise ValueError(f"its coefficients have shape {coeffs.shape}, expected ({n_rows}, 5)")
        return EffectRatioTable(coeffs, meta=(("key", key),))
    except Exception as err:      # truncated, not an npz, wrong content: any of them is recomputed
        warn_corrupt_cache(path, err)
        return None


def effect_ratio_table(params: LayerParams, n_steps: int, n_pre_max: int = 100,
                       n_post_fit: tuple[int, int] | None = None, n_samples: int = 2000,
                       seed: int = 0, cache_dir: str | Path | None = None,
                       use_cache: bool = True,
                       discretisation: Discretisation | str = BRIAN2) -> EffectRatioTable:
    """:func:`make_table`, cached on disk under a key of every parameter
    (``cache_dir``, else :func:`rsnn_brian._io.cache_root`)."""
    d = as_discretisation(discretisation)
    if n_post_fit is None:
        n_post_fit = (1, n_pre_max)
    if not use_cache:
        return make_table(params, n_steps, n_pre_max, n_post_fit, n_samples, seed, d)
    key = (f"v{TABLE_VERSION}_taum{params.tau_m!r}_taus{params.tau_s!r}_ref{params.refractory}"
           f"_T{n_steps}_N{n_pre_max}_fit{n_post_fit[0]}-{n_post_fit[1]}_K{n_samples}_seed{seed}"
           + d.cache_tag() + model_tag(params))    # '' for Brian2's and today's model: default keys unchanged
    path = cache_root(cache_dir) / f"effect_ratio_{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"
    cached = _read_cached(path, key, _table_rows(params, n_steps, n_pre_max, d)[0])
    if cached is not None:
        return cached
    table = make_table(params, n_steps, n_pre_max, n_post_fit, n_samples, seed, d)
    atomic_savez(path, {"coeffs": table.coeffs, "key": np.array(key)})
    return EffectRatioTable(table.coeffs, meta=(("key", key),))


def model_tag(params: LayerParams) -> str:
    """Part of a cache key: '' for today's model in closed form, else the model's digest and constants."""
    if params.model is None:
        return ""
    consts = "".join(f"_{k}{v!r}" for k, v in params.constants)
    return f"_model-{params.model.tag()}{consts}"


def load_reference_table(path: str | Path) -> EffectRatioTable:
    """Read an authors' text table (N rows of ``c4 c3 c2 c1 c0``, one per n_pre = 1..N, their
    ``p_Tau_*.txt``); a missing or malformed file stops with a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"effect-ratio table file {path} does not exist")
    try:
        return EffectRatioTable(np.loadtxt(path, ndmin=2), meta=(("path", str(path)),))
    except ValueError as err:
        raise ValueError(f"effect-ratio table file {path}: {err} (need rows of 5 numbers, c4 .. c0)") from None


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
