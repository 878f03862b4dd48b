"""ST-RSBP backward pass (spec 4), batched over samples.

For each layer, top to bottom, with ``g = dL/do`` arriving at its counts and
``nu`` its threshold:

* hidden (feed-forward) layer: ``y = g / (nu s)``; ``dL/dW = y e``;
  ``g_below = (W * R)^T y``.
* recurrent layer: ``A = diag(s) - (U * Rrec) / nu`` (s clamped to
  ``|s| >= s_min``), one solve per sample ``A^T y = g / nu``;
  ``g_below = (W * R)^T y``; weight gradients ``y e`` (``exact``) or
  ``g / (nu s) * e`` (``reference``).
* output layer (fixed lateral inhibition U): ``exact`` as a recurrent layer
  (no U gradient); ``reference``: ``y = g / (nu s)``, weight gradient
  ``lambda_i y_i e_ij`` with the authors' lateral factor
  ``lambda_i = 1 / (1 - sum_l (u_li R_li / nu)(u_il R_il / nu))`` (``u = -1``
  gives the spec's formula), error below ``(W * R)^T y`` (without lambda).

Gradients are averaged over the batch. Array shapes: counts (B, n), S-PSPs
(B, n_post, n_pre), weights (n_post, n_pre).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np

from ..network import LayerParams, NetworkWeights, with_params
from ..spikes import Recording, SpikeTrains
from .effect_ratio import EffectRatioTable, effect_ratio_table, pre_ratio, self_factor, weighted_q_sum
from .loss import augment_label, output_error, predict
from .neuron import BRIAN2, Discretisation
from .settings import EngineSettings
from .solve import blas_threads, solve_coupled, solve_layer
from .spsp import layer_spsps

__all__ = ["EngineSettings", "OperatingPoint", "BackwardResult", "SilentLayerWarning",
           "validate_batch", "resolve_tables", "operating_point", "layer_self_factor",
           "lateral_factor", "solve_coupled", "backward"]


class SilentLayerWarning(RuntimeWarning):
    """A layer fired no spike in some sample: no gradient flows through it there."""


@dataclass
class OperatingPoint:
    """Forward quantities at the recorded spike trains (k = 0..K, index 0 unused for e).

    counts[k] (B, n_k): spike counts, the output layer's with artificial label
    spikes; out_counts (B, n_classes): real output counts; e_ff[k]
    (B, n_k, n_{k-1}); e_rec[k] (B, n_k, n_k) or None; tables[k] (k >= 1).
    """

    counts: list
    out_counts: np.ndarray
    e_ff: list
    e_rec: list
    tables: list
    params: list
    labels: np.ndarray


@dataclass
class BackwardResult:
    """grads: batch-averaged gradients keyed like ``NetworkWeights.trainable()``;
    loss (B,), out_counts (B, n_classes), predictions (B,), correct (B,) bool,
    counts: real spike counts per layer (B, n_k), k = 0..K; active (B,) bool:
    samples with a non-zero output error (the others contribute nothing and are
    skipped); s: self factors per layer k = 1..K of the active samples
    (n_active, n_k)."""

    grads: dict
    loss: np.ndarray
    out_counts: np.ndarray
    predictions: np.ndarray
    correct: np.ndarray
    counts: list
    active: np.ndarray
    s: list


def validate_batch(recording: Recording, weights: NetworkWeights, labels) -> np.ndarray:
    """Check that a recording and labels fit the network; return labels as int64 (B,)."""
    weights.validate()
    arch = weights.arch
    if not isinstance(recording, Recording):
        raise TypeError(f"expected a Recording, got {type(recording).__name__}")
    if len(recording.layers) != len(arch.layers):
        raise ValueError(f"recording has {len(recording.layers)} layers, architecture {arch} "
                         f"has {len(arch.layers)} (input included)")
    B = len(recording.layers[0])
    if B == 0:
        raise ValueError("recording holds an empty batch")
    T = recording.layers[0][0].n_steps
    for k, (lay, spec) in enumerate(zip(recording.layers, arch.layers)):
        if len(lay) != B:
            raise ValueError(f"recording layer {k} has {len(lay)} samples, layer 0 has {B}")
        for b, tr in enumerate(lay):
            if not isinstance(tr, SpikeTrains):
                raise TypeError(f"recording layer {k} sample {b} is {type(tr).__name__}, expected SpikeTrains")
            if tr.n_neurons != spec.size:
                raise ValueError(f"recording layer {k} sample {b} has {tr.n_neurons} neurons, "
                                 f"layer {k} ({spec.token}) of {arch} has {spec.size}")
            if tr.n_steps != T:
                raise ValueError(f"recording layer {k} sample {b} has {tr.n_steps} steps, expected {T}")
    labels = np.asarray(labels)
    if labels.shape != (B,):
        raise ValueError(f"labels must have shape ({B},), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ValueError("labels must be whole numbers")
    labels = labels.astype(np.int64)
    if np.any(labels < 0) or np.any(labels >= arch.n_classes):
        raise ValueError(f"labels must lie in [0, {arch.n_classes}), got [{labels.min()}, {labels.max()}]")
    return labels


def resolve_tables(tables, params: list[LayerParams], n_steps: int, cache_dir=None,
                   discretisation: Discretisation | str = BRIAN2) -> list:
    """One EffectRatioTable per layer (index 0 None). ``tables`` may be None
    (generate or load from cache per layer, in ``discretisation``: a
    Discretisation, "brian2" or "authors"), one table, or a list of K."""
    K = len(params)
    if tables is None:
        made = {}
        out = [None]
        for p in params:
            key = p.dynamics_key()
            if key not in made:
                made[key] = effect_ratio_table(p, n_steps, cache_dir=cache_dir,
                                               discretisation=discretisation)
            out.append(made[key])
        return out
    if isinstance(tables, EffectRatioTable):
        return [None] + [tables] * K
    tables = list(tables)
    if len(tables) != K or not all(isinstance(t, EffectRatioTable) for t in tables):
        raise ValueError(f"tables: need one EffectRatioTable or a list of {K}")
    return [None] + tables


def operating_point(recording: Recording, weights: NetworkWeights, params, labels,
                    settings: EngineSettings = EngineSettings(), tables=None,
                    cache_dir=None) -> OperatingPoint:
    """Validate and compute counts and S-PSPs (output with artificial label spikes)."""
    labels = validate_batch(recording, weights, labels)
    K = len(weights.layers)
    params = with_params(params, K)
    tables = resolve_tables(tables, params, recording.n_steps, cache_dir, settings.discretisation)
    out_trains = augment_label(recording.layers[K], labels, settings.loss)
    dtype = np.float32 if settings.dtype == "float32" else np.float64
    post = [None] * (K + 1)
    post[K] = out_trains
    e_ff, e_rec = layer_spsps(recording, weights, params, dtype, post_layers=post,
                              discretisation=settings.discretisation)
    counts = [recording.counts(k) for k in range(K)]
    counts.append(np.stack([tr.counts() for tr in out_trains]))
    return OperatingPoint(counts, recording.counts(K), e_ff, e_rec, tables, params, labels)


def layer_self_factor(op: OperatingPoint, weights: NetworkWeights, k: int, settings: EngineSettings,
                      ff: np.ndarray | None = None, rec: np.ndarray | None = None) -> np.ndarray:
    """Self factor s of layer k (B, n_k); ``ff``/``rec`` override the weights."""
    kind = weights.arch.layers[k].kind
    lw = weights.layers[k - 1]
    ff = lw.ff if ff is None else ff
    rec = lw.rec if rec is None else rec
    zpost = kind != "recurrent"
    zpre = settings.q_silent_pre == "zero"
    o, table = op.counts[k], op.tables[k]
    wq = weighted_q_sum(table, ff, op.counts[k - 1], o, zpost, zpre)
    if rec is not None:
        wq = wq + weighted_q_sum(table, rec, o, o, zpost, zpre)
    nu = op.params[k - 1].v_th
    return self_factor(wq, nu, settings.s_min if kind == "recurrent" else None)


def lateral_factor(rec: np.ndarray, r_lat: np.ndarray, nu: float) -> np.ndarray:
    """Authors' lateral factor ``lambda_i`` (B, n): rec (n, n), r_lat (B, n, n) = e_il / o_l."""
    M = rec[None] * r_lat / nu
    return 1.0 / (1.0 - np.sum(M * np.swapaxes(M, 1, 2), axis=2))


def _finite(name: str, arr: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise FloatingPointError(f"backward: {name} contains NaN or inf (a self factor or lateral "
                                 "factor is zero, or the weights are extreme)")
    return arr


def backward(recording: Recording, weights: NetworkWeights, params, labels,
             settings: EngineSettings | None = None, sample_weight=None, tables=None,
             cache_dir=None, option: str | None = None) -> BackwardResult:
    """Gradients of the ST-RSBP loss for a recorded batch.

    Parameters
    ----------
    recording : Recording, layers[0] = input, one SpikeTrains per sample
    weights : NetworkWeights (the weights the recording was made with)
    params : LayerParams or one per layer with incoming weights
    labels : (B,) ints in [0, n_classes)
    settings : EngineSettings; ``option`` overrides ``settings.option``
    sample_weight : (B,) error weights (boosting), default 1
    tables : EffectRatioTable, list of one per layer, or None (cached tables)

    Returns a :class:`BackwardResult`; ``grads`` is keyed like
    ``weights.trainable()`` and averaged over the batch.
    """
    settings = settings or EngineSettings()
    if option is not None:
        settings = dataclasses.replace(settings, option=option)
    labels = validate_batch(recording, weights, labels)
    B, K = recording.batch_size, len(weights.layers)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (B,) or not np.all(np.isfinite(sample_weight)):
            raise ValueError(f"sample_weight must be {B} finite numbers")
    out_counts = recording.counts(K)
    g, loss, _ = output_error(out_counts, labels, settings.loss, sample_weight)
    active = np.any(g != 0, axis=1)
    idx = np.flatnonzero(active)
    grads = {name: np.zeros(a.shape) for name, a in weights.trainable().items()}
    s_all = [None] * (K + 1)
    if idx.size:
        n_parts = max(int(settings.threads), -(-idx.size // settings.chunk) if settings.chunk else 1)
        parts = [p for p in np.array_split(idx, min(n_parts, idx.size)) if p.size]
        if tables is None:     # load or make the tables once, not in every thread
            tables = resolve_tables(None, with_params(params, K), recording.n_steps, cache_dir,
                                    settings.discretisation)[1:]

        def part(sel):
            sub = recording if sel.size == B else Recording([[lay[b] for b in sel] for lay in recording.layers])
            return _backward(sub, weights, params, labels[sel], settings,
                             None if sample_weight is None else sample_weight[sel], tables, cache_dir)

        with blas_threads(settings.blas_threads):
            if settings.threads == 1 or len(parts) == 1:
                outs = [part(sel) for sel in parts]
            else:
                from concurrent.futures import ThreadPoolExecutor
                with ThreadPoolExecutor(min(int(settings.threads), len(parts))) as pool:
                    outs = list(pool.map(part, parts))
        grads = {name: sum(o[0][name] * (p.size / B) for o, p in zip(outs, parts)) for name in outs[0][0]}
        s_all = [None] + [np.concatenate([o[1][k] for o in outs]) for k in range(1, K + 1)]
    pred = predict(out_counts)
    return BackwardResult(grads, loss, out_counts, pred, pred == labels,
                          [recording.counts(k) for k in range(K + 1)], active, s_all)


def _backward(recording, weights, params, labels, settings, sample_weight, tables, cache_dir):
    """Gradients averaged over the given batch (every sample has a non-zero error)."""
    op = operating_point(recording, weights, params, labels, settings, tables, cache_dir)
    K = len(weights.layers)
    arch = weights.arch
    B = recording.batch_size
    for k in range(K):
        silent = np.sum(op.counts[k].sum(axis=1) == 0)
        if silent:
            warnings.warn(f"layer {k} ({arch.layers[k].token}) fired no spike in {silent} of the {B} samples "
                          "with an output error; "
                          "no gradient flows through it there (zero gradients below and above it)",
                          SilentLayerWarning, stacklevel=4)
    g, loss, _ = output_error(op.out_counts, op.labels, settings.loss, sample_weight)
    grads, s_all = {}, [None] * (K + 1)
    for k in range(K, 0, -1):
        kind = arch.layers[k].kind
        lw = weights.layers[k - 1]
        nu = op.params[k - 1].v_th
        e = op.e_ff[k]
        s = _finite(f"self factor of layer {k}", layer_self_factor(op, weights, k, settings))
        s_all[k] = s
        if np.any(s == 0):
            b, i = np.argwhere(s == 0)[0]
            raise FloatingPointError(f"backward: the self factor s of layer {k} is zero (sample {b}, neuron {i}): "
                                     "sum_j w_ij Q_ij equals the threshold; the gradient would be infinite")
        y_ref = g / (nu * s)
        if kind == "hidden":
            y = y_ref
        else:
            y = solve_layer(k, s, lw.rec, lw.rec_mask, op.e_rec[k], op.counts[k], nu, g / nu,
                            settings.solver, settings.silent_ratio)
        _finite(f"error of layer {k}", y)
        if settings.option == "reference" and kind != "hidden":
            yw = y_ref
            if kind == "output":
                # no silent ratio here: the authors' lateral factor keeps only terms between
                # firing neurons and the label (whose artificial spikes make it firing here)
                r_rec = pre_ratio(np.asarray(op.e_rec[k], dtype=np.float64), op.counts[k])
                yw = yw * _finite("lateral factor", lateral_factor(lw.rec, r_rec, nu))
        else:
            yw = y
        ywc = yw.astype(e.dtype)
        grads[f"ff{k}"] = np.einsum("bi,bij->ij", ywc, e, optimize=True).astype(np.float64) / B
        if lw.rec is not None and lw.rec_trainable:
            grads[f"rec{k}"] = (np.einsum("bi,bij->ij", ywc, op.e_rec[k], optimize=True)
                                .astype(np.float64) / B) * lw.rec_mask
        authors_below = settings.recurrent_below == "authors" and kind == "recurrent"
        if k > 1:
            y_down = y_ref if (settings.option == "reference" and kind == "output") else y
            if authors_below:
                if lw.ff.shape[1] != lw.ff.shape[0]:
                    raise ValueError(f"recurrent_below='authors' needs layer {k - 1} to have as many neurons as "
                                     f"the recurrent layer {k} ({lw.ff.shape[1]} != {lw.ff.shape[0]})")
                y_down = g / nu
            num = np.matmul(y_down.astype(e.dtype)[:, None, :], e * lw.ff.astype(e.dtype))[:, 0, :]
            o_pre = op.counts[k - 1]
            g = np.divide(num.astype(np.float64), o_pre, out=np.zeros(o_pre.shape), where=o_pre > 0)
            c = settings.silent_ratio
            if c:
                # R_ij = c where o_j = 0 (every post i) or o_i = 0 (e_ij = 0, so not in num)
                y_sil = np.where(op.counts[k] > 0, 0.0, y_down)
                g = g + c * np.where(o_pre > 0, y_sil @ lw.ff, y_down @ lw.ff)
            if authors_below:
                # the authors' order: (W * R)^T (g / nu) first, then the layer's system
                # A^T x = z, indexed as if the layer below were this layer
                g = solve_layer(k, s, lw.rec, lw.rec_mask, op.e_rec[k], op.counts[k], nu, g,
                                settings.solver, settings.silent_ratio)
            _finite(f"error arriving at layer {k - 1}", g)
    for name, arr in grads.items():
        _finite(f"gradient {name}", arr)
    return {name: grads[name] for name in weights.trainable()}, s_all
