"""Gradient check: engine gradients against central finite differences of the
linearised spike-train level model (spec 4.1).

``run_gradcheck`` simulates a small random network (``rsnn_brian.reference.simulate``
by default, or any ``simulator(weights, params, inputs) -> Recording``, e.g.
a Brian2 runner), computes the engine's gradients and compares every
trainable array with central differences (step h) of the linearised model.
An array passes when both hold:

* ``max |fd - g| / max |g| <= tol`` (its worst error beside its largest entry);
* ``|fd - g| <= atol + rtol |g|`` for every entry, so that small entries are
  checked too. ``atol = noise * eps * |L| / h`` is the rounding floor of a
  central difference of a loss of size L (measured: at most 1.2 eps |L| / h
  at h = 1e-5, so ``noise = 100``); ``rtol`` bounds the truncation error
  (measured: at most 1.3e-10 |g| at h = 1e-5, it falls as h^2).

Which arrays are checked: every one for option 'exact'. The 'reference' rule
(the authors' formulas) is an approximation by design (spec 4) in recurrent
layers (``g / (nu s)`` in place of the coupled solve), in an output layer
with lateral coupling (the authors' lateral factor) and in every layer below
such an output layer (its error sent down ignores the coupling); those
arrays are reported, not checked. The report says which arrays were checked
and never reports a pass over none (exit status 2).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..connectivity import init_weights
from ..engine.gradients import EngineSettings, backward
from ..engine.linearised import LinearisedModel
from ..network import LayerParams, NetworkWeights, parse_architecture

__all__ = ["finite_difference_errors", "fd_noise_floor", "elementwise_excess", "reference_checkable",
           "run_gradcheck", "report", "main_gradcheck", "GRADCHECK_TOL", "GRADCHECK_RTOL", "GRADCHECK_NOISE"]

# Measured (float64, h = 1e-5) on this command's random networks (20-15-R12-5, 12-R8-4, 12-10-4,
# 30-R20-10, seeds 0-3) and on the test networks: max |fd - g| / max |g| <= 8.7e-9 (it is the
# rounding floor over max |g|: 20-15-R12-5 seed 3 has max |g| ~ 1); |fd - g| <= 1.2 eps |L| / h for
# every entry; truncation error <= 1.3e-10 |g| (from h = 1e-3 and 3e-3, scaled by h^2).
# Each bound is about 100 times what was measured.
#: largest accepted ``max |fd - g| / max |g|`` of an array.
GRADCHECK_TOL = 1e-6
#: elementwise: relative part of ``|fd - g| <= atol + rtol |g|`` (truncation error).
GRADCHECK_RTOL = 1e-8
#: elementwise: ``atol = GRADCHECK_NOISE * eps * |L| / h`` (rounding floor of the differences).
GRADCHECK_NOISE = 100.0


def fd_noise_floor(loss: float, h: float) -> float:
    """Rounding floor ``eps |L| / h`` of a central difference of a float64 loss of size L."""
    return float(np.finfo(np.float64).eps * max(abs(loss), np.finfo(np.float64).tiny) / h)


def elementwise_excess(fd: np.ndarray, g: np.ndarray, atol: float, rtol: float) -> float:
    """``max |fd - g| / (atol + rtol |g|)``: at most 1 where every entry agrees."""
    return float(np.max(np.abs(fd - g) / (atol + rtol * np.abs(g)), initial=0.0))


def reference_checkable(weights: NetworkWeights) -> dict[str, str]:
    """For option 'reference': why each trainable array is not checked ('' = checked).

    With ``recurrent_below='spec'`` a recurrent layer sends the same error down
    in both options; a laterally coupled output layer does not.
    """
    arch, out = weights.arch, {}
    coupled_above = False
    for k in range(len(weights.layers), 0, -1):
        kind, lw = arch.layers[k].kind, weights.layers[k - 1]
        coupled = lw.rec is not None and bool(np.any(lw.rec))
        if coupled_above:
            why = "below an output layer with lateral coupling, whose error sent down ignores it"
        elif kind == "recurrent" and coupled:
            why = "recurrent layer: g / (nu s) in place of the coupled solve"
        elif kind == "output" and coupled:
            why = "output layer with lateral coupling: the authors' lateral factor"
        else:
            why = ""
        for name in (f"ff{k}", f"rec{k}"):
            if name in weights.trainable():
                out[name] = why
        coupled_above = coupled_above or (kind == "output" and coupled)
    return {name: out[name] for name in weights.trainable()}


def finite_difference_errors(model: LinearisedModel, weights: NetworkWeights, grads: dict,
                             h: float = 1e-5, names=None) -> dict:
    """Central differences of ``model.loss`` for every trainable entry.

    Returns ``{name: (rel_error, fd_array)}`` with ``rel_error = max|fd - g| /
    max|g|`` (``max|fd - g|`` when g is all zero). Absent recurrent synapses
    are skipped.
    """
    out = {}
    for name in names or grads:
        g = grads[name]
        fd = np.zeros_like(g)
        arr = weights.trainable()[name]
        mask = np.ones(arr.shape, bool)
        if name.startswith("rec"):
            mask = weights.layers[int(name[3:]) - 1].rec_mask
        for idx in zip(*np.nonzero(mask)):
            wp, wm = weights.copy(), weights.copy()
            wp.trainable()[name][idx] += h
            wm.trainable()[name][idx] -= h
            fd[idx] = (model.loss(wp) - model.loss(wm)) / (2 * h)
        scale = np.abs(g).max()
        err = np.abs(fd - g).max()
        out[name] = (float(err / scale) if scale > 0 else float(err), fd)
    return out


def _default_weights(arch, rng, ff_scale):
    w = init_weights(arch, rng, recurrent="all")
    for lw in w.layers:
        lw.ff *= ff_scale
    return w


def run_gradcheck(arch: str = "20-15-R12-5", seed: int = 0, option: str = "exact",
                  n_samples: int = 3, n_steps: int = 100, v_th: float = 5.0,
                  input_rate: float = 0.1, ff_scale: float = 3.0, h: float = 1e-5,
                  tol: float = GRADCHECK_TOL, simulator: Callable | None = None,
                  params: LayerParams | None = None, tables=None, rtol: float = GRADCHECK_RTOL,
                  noise: float = GRADCHECK_NOISE) -> pd.DataFrame:
    """Errors per trainable array of a random network.

    Returns a DataFrame with columns: array, layer, kind, n_params,
    max_abs_grad, rel_error (``max |fd - g| / max |g|``), elem_excess
    (``max |fd - g| / (atol + rtol |g|)``), checked, passed (None where not
    checked), note (why an array is not checked). ``df.attrs`` holds option,
    h, loss, atol, rtol and tol. Silent-layer warnings are raised by the
    engine if the random network does not fire.
    """
    if simulator is None:
        from .simulate import simulate as simulator
    rng = np.random.default_rng(seed)
    architecture = parse_architecture(arch)
    weights = _default_weights(architecture, rng, ff_scale)
    params = params or LayerParams(v_th=v_th)
    x = (rng.random((n_samples, n_steps, architecture.n_inputs)) < input_rate).astype(np.float64)
    labels = rng.integers(0, architecture.n_classes, n_samples)
    recording = simulator(weights, params, x)
    settings = EngineSettings(option=option)
    res = backward(recording, weights, params, labels, settings, tables=tables)
    model = LinearisedModel(recording, weights, params, labels, settings, tables=tables)
    errs = finite_difference_errors(model, weights, res.grads, h)
    loss = model.loss(weights)
    atol = noise * fd_noise_floor(loss, h)
    why = reference_checkable(weights) if option == "reference" else {name: "" for name in errs}
    rows = []
    for name, (err, fd) in errs.items():
        k = int(name[2:] if name.startswith("ff") else name[3:])
        g = res.grads[name]
        excess = elementwise_excess(fd, g, atol, rtol)
        checked = not why[name]
        rows.append(dict(array=name, layer=k, kind=architecture.layers[k].kind, n_params=int(g.size),
                         max_abs_grad=float(np.abs(g).max()), rel_error=err, elem_excess=excess,
                         checked=checked, passed=(err <= tol and excess <= 1.0) if checked else None,
                         note=why[name]))
    df = pd.DataFrame(rows)
    df.attrs.update(option=option, h=h, loss=loss, atol=atol, rtol=rtol, tol=tol)
    return df


def report(df: pd.DataFrame) -> tuple[str, int]:
    """The text of a gradcheck report and its exit status: 0 passed, 1 failed, 2 nothing checked."""
    a = df.attrs
    with pd.option_context("display.width", 160, "display.max_colwidth", 90,
                           "display.float_format", "{:.3g}".format):
        lines = [df.drop(columns="note").to_string(index=False), ""]
    checked = df[df["checked"].astype(bool)]
    lines.append(f"option {a.get('option')!r}: engine gradients against central differences of the linearised "
                 f"model (h = {a.get('h'):.3g}, loss {a.get('loss'):.6g}); an array passes if "
                 f"max|fd - g| / max|g| <= {a.get('tol'):.3g} and |fd - g| <= atol + rtol |g| everywhere "
                 f"(atol = {a.get('atol'):.3g}, rtol = {a.get('rtol'):.3g}).")
    lines.append("checked: " + (", ".join(checked["array"]) if len(checked) else "none"))
    skipped = df[~df["checked"].astype(bool)]
    if len(skipped):
        lines.append("reported, not checked (the 'reference' rule is an approximation there by design, spec 4):")
        lines += [f"  {r.array}: {r.note}" for r in skipped.itertuples()]
    if not len(checked):
        lines.append(f"gradcheck NOTHING CHECKED: no array of this network is checkable with option "
                     f"{a.get('option')!r} (see above); option 'exact' checks every array")
        return "\n".join(lines), 2
    failed = checked[~checked["passed"].astype(bool)]
    if len(failed):
        lines.append(f"gradcheck FAILED: {', '.join(failed['array'])} ({len(failed)} of {len(checked)} checked arrays)")
        return "\n".join(lines), 1
    lines.append(f"gradcheck PASSED: {len(checked)} of {len(df)} arrays checked")
    return "\n".join(lines), 0


def main_gradcheck(args=None) -> int:
    """CLI helper: print the report; return 0 if every checked array passed, 1 if one
    failed, 2 if no array was checked.

    ``args`` may be an argparse Namespace or dict with keys of
    :func:`run_gradcheck` (arch, seed, option, ...); missing keys use defaults.
    """
    kw = {} if args is None else dict(args if isinstance(args, dict) else vars(args))
    allowed = run_gradcheck.__code__.co_varnames[:run_gradcheck.__code__.co_argcount]
    df = run_gradcheck(**{k: v for k, v in kw.items() if k in allowed and v is not None})
    text, status = report(df)
    print(text)
    return status
