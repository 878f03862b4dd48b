"""Linear systems of the backward pass (spec 4): one per sample in recurrent and output layers.

``A = diag(s) - (U * Rrec) / nu`` couples the counts of a layer through its
recurrent (or lateral) synapses; the backward pass needs ``A^T y = rhs`` for
every sample of a batch. Never forms an inverse. Shapes: s, o, rhs (B, n);
rec, mask (n, n); e_rec (B, n, n).
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .effect_ratio import pre_ratio

__all__ = ["solve_coupled", "solve_layer", "blas_threads"]


@contextlib.contextmanager
def blas_threads(n: int | None):
    """Run a block with at most n BLAS threads (threadpoolctl); no-op if n is None.

    Many small batched solves are slower with several OpenBLAS threads on a
    shared 2-core machine (measured: stalls of seconds per call).
    """
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=int(n), user_api="blas"):
        yield


def solve_coupled(s: np.ndarray, rec: np.ndarray, mask: np.ndarray, e_rec: np.ndarray,
                  o: np.ndarray, nu: float, rhs: np.ndarray, solver: str = "auto",
                  silent: float = 0.0) -> np.ndarray:
    """Solve ``A_b^T y_b = rhs_b`` for every sample, ``A = diag(s) - (U * Rrec) / nu``.

    s, o, rhs (B, n); rec, mask (n, n); e_rec (B, n, n) with
    ``Rrec = e_rec / o_pre`` (``silent`` where o_pre or o_post is 0).
    Returns y (B, n). Never forms an inverse.
    """
    B, n = s.shape
    if solver == "auto":
        solver = "reduced"
    if solver == "reduced" and silent != 0.0:
        solver = "dense"          # silent neurons are coupled through the silent ratio
    if solver == "reduced":
        # A[p, i] = 0 whenever p is silent (e_pi = 0) or i is silent (R_pi = 0), so
        # for a silent neuron y = rhs / s, and the firing neurons form their own system.
        fire = o > 0
        m = int(fire.sum(axis=1).max())
        y = rhs / s
        if m == 0:
            return y
        order = np.argsort(~fire, axis=1, kind="stable")[:, :m]          # firing first
        valid = np.take_along_axis(fire, order, axis=1)                    # (B, m)
        bi = np.arange(B)[:, None, None]
        o_sub = np.where(valid, np.take_along_axis(o, order, axis=1), 1).astype(np.float64)
        # A = where(pair, -u_sub * e_sub / (o_sub * nu), 0), the same operations in place (memory: the
        # (B, m, m) float64 arrays of the reservoir are the backward pass's largest after the S-PSPs)
        A = rec[order[:, :, None], order[:, None, :]]                      # u_sub
        np.negative(A, out=A)
        A *= e_rec[bi, order[:, :, None], order[:, None, :]].astype(np.float64, copy=False)
        A /= o_sub[:, None, :] * nu
        A[~(valid[:, :, None] & valid[:, None, :])] = 0.0
        idx = np.arange(m)
        A[:, idx, idx] += np.where(valid, np.take_along_axis(s, order, axis=1), 1.0)
        r_sub = np.where(valid, np.take_along_axis(rhs, order, axis=1), 0.0)
        y_sub = np.linalg.solve(np.swapaxes(A, 1, 2), r_sub[:, :, None])[:, :, 0]
        bb, jj = np.nonzero(valid)
        y[bb, order[bb, jj]] = y_sub[bb, jj]
        return y
    if solver == "dense":
        r_rec = pre_ratio(np.asarray(e_rec, dtype=np.float64), o, o, silent)
        A = s[:, :, None] * np.eye(n) - rec[None] * r_rec / nu
        return np.linalg.solve(np.swapaxes(A, 1, 2), rhs[:, :, None])[:, :, 0]
    post, pre = np.nonzero(mask)
    o_pre = o[:, pre].astype(np.float64)
    both = (o_pre > 0) & (o[:, post] > 0)
    vals = np.divide(e_rec[:, post, pre].astype(np.float64) * (rec[post, pre] / nu), o_pre,
                     out=np.broadcast_to(silent * rec[post, pre] / nu, o_pre.shape).copy(),
                     where=both)                                         # (B, nnz) = (U*R)/nu
    base = (np.arange(B) * n)[:, None]
    diag = np.arange(n)[None, :]
    # A^T[p, i] = -vals(i, p); diagonal s
    rows = np.concatenate([(base + pre[None]).ravel(), (base + diag).ravel()])
    cols = np.concatenate([(base + post[None]).ravel(), (base + diag).ravel()])
    data = np.concatenate([-vals.ravel(), s.ravel()])
    At = sp.csc_matrix((data, (rows, cols)), shape=(B * n, B * n))
    return spla.spsolve(At, rhs.ravel()).reshape(B, n)


def solve_layer(k: int, s: np.ndarray, rec: np.ndarray, mask: np.ndarray, e_rec: np.ndarray,
                o: np.ndarray, nu: float, rhs: np.ndarray, solver: str = "auto",
                silent: float = 0.0) -> np.ndarray:
    """:func:`solve_coupled` for layer k; a singular system is a FloatingPointError naming k."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", spla.MatrixRankWarning)
            return solve_coupled(s, rec, mask, e_rec, o, nu, rhs, solver, silent)
    except (np.linalg.LinAlgError, spla.MatrixRankWarning, RuntimeError) as err:
        raise FloatingPointError(f"backward: the linear system of layer {k} is singular") from err
