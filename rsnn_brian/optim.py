"""Optimisation in plain NumPy (spec section 5): Adam, the learning-rate
schedule, the weight regulariser and the boosting of misclassified samples.

Parameters are a dict of named float arrays (e.g. ``NetworkWeights.trainable()``,
views updated in place). Optimiser state is a flat dict of plain arrays that
``np.savez`` can store and ``np.load(..., allow_pickle=False)`` can read back.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "AdamSettings", "Adam", "learning_rate",
    "RegularizerSettings", "regularizer_penalty", "regularizer_gradient", "regularizer_gradients",
    "BoostSettings", "update_boost_weights",
]


# -- Adam --------------------------------------------------------------------------

@dataclass(frozen=True)
class AdamSettings:
    """Adam hyper-parameters (spec section 5)."""

    lr: float = 0.001     # eta_0: 0.001 for images, 0.005 for speech (spec section 5)
    beta1: float = 0.9    # spec section 5
    beta2: float = 0.999  # spec section 5
    eps: float = 1e-8     # spec section 5

    def __post_init__(self):
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        for name in ("beta1", "beta2"):
            b = getattr(self, name)
            if not 0 <= b < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {b}")
        if not (math.isfinite(self.eps) and self.eps > 0):
            raise ValueError(f"eps must be a positive number, got {self.eps}")


class Adam:
    """Adam (Kingma & Ba 2015, Algorithm 1) over named arrays, updated in place.

    ``w -= lr * m_hat / (sqrt(v_hat) + eps)`` with bias-corrected moments
    ``m_hat = m / (1 - beta1^t)``, ``v_hat = v / (1 - beta2^t)``; ``t`` counts
    calls of :meth:`step`. ``masks`` (name -> bool array) freezes entries where
    the mask is False (e.g. absent recurrent synapses): they never move.
    """

    def __init__(self, params: dict[str, np.ndarray], settings: AdamSettings = AdamSettings(),
                 masks: dict[str, np.ndarray] | None = None):
        for name, p in params.items():
            if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"parameter {name!r} must be a floating-point numpy array "
                                f"(updated in place), got {type(p).__name__}")
        self.params = params
        self.settings = settings
        self.masks = {} if masks is None else {k: np.asarray(m, dtype=bool) for k, m in masks.items()}
        for name, m in self.masks.items():
            if name not in params or m.shape != params[name].shape:
                raise ValueError(f"mask {name!r} matches no parameter of the same shape")
        self.t = 0
        self.m = {k: np.zeros_like(p, dtype=np.float64) for k, p in params.items()}
        self.v = {k: np.zeros_like(p, dtype=np.float64) for k, p in params.items()}

    def step(self, grads: dict[str, np.ndarray], lr: float | None = None) -> None:
        """One update with gradients ``grads`` (same names and shapes as the parameters).

        ``lr`` overrides ``settings.lr`` for this step (see :func:`learning_rate`).
        """
        if set(grads) != set(self.params):
            raise ValueError(f"gradients for {sorted(grads)}, parameters are {sorted(self.params)}")
        for name, g in grads.items():
            g = np.asarray(g)
            if g.shape != self.params[name].shape:
                raise ValueError(f"gradient {name!r} has shape {g.shape}, parameter has "
                                 f"{self.params[name].shape}")
            if not np.all(np.isfinite(g)):
                raise ValueError(f"gradient {name!r} contains NaN or inf")
        s = self.settings
        lr = s.lr if lr is None else float(lr)
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"lr must be a non-negative number, got {lr}")
        self.t += 1
        c1 = 1.0 - s.beta1 ** self.t
        c2 = 1.0 - s.beta2 ** self.t
        for name, p in self.params.items():
            g = np.asarray(grads[name], dtype=np.float64)
            m, v = self.m[name], self.v[name]
            m *= s.beta1
            m += (1.0 - s.beta1) * g
            v *= s.beta2
            v += (1.0 - s.beta2) * g * g
            update = lr * (m / c1) / (np.sqrt(v / c2) + s.eps)
            if name in self.masks:
                update *= self.masks[name]
            p -= update

    def state_dict(self) -> dict[str, np.ndarray]:
        """Plain arrays: ``t``, ``m.<name>``, ``v.<name>`` (copies)."""
        out = {"t": np.array(self.t, dtype=np.int64)}
        for name in self.params:
            out[f"m.{name}"] = self.m[name].copy()
            out[f"v.{name}"] = self.v[name].copy()
        return out

    def load_state_dict(self, state) -> None:
        """Restore from :meth:`state_dict` output (a dict or an ``NpzFile``)."""
        keys = set(state.keys())
        need = {"t"} | {f"{a}.{n}" for n in self.params for a in "mv"}
        if need - keys:
            raise ValueError(f"optimiser state lacks {sorted(need - keys)}")
        t = int(np.asarray(state["t"]))
        if t < 0:
            raise ValueError(f"optimiser state has step count {t} < 0")
        new_m, new_v = {}, {}
        for name, p in self.params.items():
            for src, dst in ((f"m.{name}", new_m), (f"v.{name}", new_v)):
                a = np.array(state[src], dtype=np.float64)
                if a.shape != p.shape:
                    raise ValueError(f"optimiser state {src!r} has shape {a.shape}, parameter has {p.shape}")
                dst[name] = a
        self.t, self.m, self.v = t, new_m, new_v


def learning_rate(eta0: float, epoch: int) -> float:
    """``eta0 / sqrt(epoch)``, with epochs 0 and 1 at ``eta0`` (spec section 5)."""
    if int(epoch) != epoch or epoch < 0:
        raise ValueError(f"epoch must be a non-negative integer, got {epoch}")
    return float(eta0) if epoch <= 1 else float(eta0) / math.sqrt(epoch)


# -- weight regulariser ------------------------------------------------------------

@dataclass(frozen=True)
class RegularizerSettings:
    """Weight regulariser for image tasks (spec section 5)."""

    lam: float = 10.0     # lambda (spec section 5)
    beta: float = 0.04    # beta (spec section 5)
    limit: float = 8.0    # L (spec section 5)


def _n_in_and_s(w: np.ndarray, s: RegularizerSettings, mask):
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"weights must be a (n_post, n_pre) matrix, got shape {w.shape}")
    if mask is None:
        n_in = np.full(w.shape[0], w.shape[1], dtype=np.float64)
        wm = w
    else:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != w.shape:
            raise ValueError(f"mask shape {mask.shape} differs from weights {w.shape}")
        n_in = mask.sum(axis=1).astype(np.float64)
        wm = np.where(mask, w, 0.0)
    S = np.sum((wm / s.limit) ** 2, axis=1) / (n_in + 1.0)
    return wm, n_in, S


def regularizer_penalty(w, settings: RegularizerSettings = RegularizerSettings(), mask=None) -> float:
    """The penalty whose gradient is :func:`regularizer_gradient`.

    ``P = sum_i lam * L * (n_in_i + 1) / 2 * exp(beta * (S_i - 1))``, so that
    ``dP/dw_ij = lam * beta * (w_ij / L) * exp(beta * (S_i - 1))``.
    """
    s = settings
    _, n_in, S = _n_in_and_s(w, s, mask)
    return float(np.sum(s.lam * s.limit * (n_in + 1.0) / 2.0 * np.exp(s.beta * (S - 1.0))))


def regularizer_gradient(w, settings: RegularizerSettings = RegularizerSettings(), mask=None) -> np.ndarray:
    """``lam * beta * (w_ij / L) * exp(beta * (S_i - 1))``, shape of ``w`` (n_post, n_pre).

    ``S_i = sum_j (w_ij / L)^2 / (n_in_i + 1)``, ``n_in_i`` the number of inputs
    of neuron ``i``: ``n_pre`` without a mask; with a mask (recurrent layers),
    the synapses that exist in row ``i``, and the sum runs over them only.
    Zero where the mask is False.
    """
    s = settings
    wm, _, S = _n_in_and_s(w, s, mask)
    return s.lam * s.beta * (wm / s.limit) * np.exp(s.beta * (S - 1.0))[:, None]


def regularizer_gradients(weights, settings: RegularizerSettings = RegularizerSettings(),
                          lambdas: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Regulariser gradients for every trainable array of a ``NetworkWeights``.

    Each matrix is regularised on its own (``S_i`` of ``ff<k>`` counts only
    feed-forward inputs, that of ``rec<k>`` only existing recurrent synapses).
    ``lambdas`` (array name -> lambda) overrides ``settings.lam`` for the arrays
    it names; an array at lambda 0 gets no entry (nothing is added to its
    gradient). A name that is not a trainable array is refused.
    """
    lambdas = {} if lambdas is None else dict(lambdas)
    arrays = {}
    for k, lw in enumerate(weights.layers, start=1):
        arrays[f"ff{k}"] = (lw.ff, None)
        if lw.rec is not None and lw.rec_trainable:
            arrays[f"rec{k}"] = (lw.rec, lw.rec_mask)
    unknown = sorted(set(lambdas) - set(arrays))
    if unknown:
        raise ValueError(f"regulariser lambdas for {unknown}: the trainable arrays are {sorted(arrays)}")
    out = {}
    for name, (w, mask) in arrays.items():
        if name not in lambdas:
            out[name] = regularizer_gradient(w, settings, mask)
        elif lambdas[name] != 0:
            out[name] = regularizer_gradient(w, dataclasses.replace(settings, lam=float(lambdas[name])), mask)
    return out


# -- boosting ----------------------------------------------------------------------

@dataclass(frozen=True)
class BoostSettings:
    """Boosting of misclassified training samples (spec section 5)."""

    temperature: float = 20.0   # factor exp(eps_c / 20) (spec section 5)


def update_boost_weights(weights, labels, predictions, n_classes: int,
                         settings: BoostSettings = BoostSettings()) -> np.ndarray:
    """New per-sample error weights after an epoch (spec section 5).

    ``eps_c = sum(weights of misclassified samples of class c) / sum(weights of
    samples of class c)`` (0 for a class with no samples); every misclassified
    sample of class ``c`` gets its weight multiplied by ``exp(eps_c / T)``,
    ``T = settings.temperature``. Others keep theirs. No renormalisation.
    All arrays have shape (n_samples,); returns a new float64 array.
    """
    w = np.asarray(weights, dtype=np.float64)
    y = np.asarray(labels)
    yhat = np.asarray(predictions)
    if w.ndim != 1 or y.shape != w.shape or yhat.shape != w.shape:
        raise ValueError(f"weights, labels and predictions must be 1-D of one length, got "
                         f"{w.shape}, {y.shape}, {yhat.shape}")
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("boost weights must be finite and > 0")
    for what, a in (("labels", y), ("predictions", yhat)):
        if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= n_classes):
            raise ValueError(f"{what} must be integers in 0..{n_classes - 1}")
    wrong = y != yhat
    total = np.bincount(y, weights=w, minlength=n_classes)
    err = np.bincount(y, weights=w * wrong, minlength=n_classes)
    eps = np.divide(err, total, out=np.zeros(n_classes), where=total > 0)
    return np.where(wrong, w * np.exp(eps[y] / settings.temperature), w)
