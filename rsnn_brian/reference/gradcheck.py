"""Gradient check: engine gradients against central finite differences of the
linearised spike-train level model (spec 4.1).

``run_gradcheck`` simulates a small random network (``rsnn_brian.reference.simulate``
by default, or any ``simulator(weights, params, inputs) -> Recording``, e.g.
a Brian2 runner), computes the engine's gradients and compares every
trainable array with finite differences. The error of an array is
``max |fd - grad| / max |grad|``. ``exact`` must pass; ``reference`` is an
approximation in recurrent and output layers by design (spec 4), so its rows
are reported but only rows marked ``checked`` count (none for 'reference'
unless the network has no recurrent layer and no lateral weights).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ..engine.gradients import EngineSettings, backward
from ..engine.linearised import LinearisedModel
from ..network import LayerParams, NetworkWeights, init_weights, parse_architecture

__all__ = ["finite_difference_errors", "run_gradcheck", "main_gradcheck", "GRADCHECK_TOL"]

#: Relative tolerance of the check (float64 central differences, h = 1e-5).
GRADCHECK_TOL = 1e-5


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
                  params: LayerParams | None = None, tables=None) -> pd.DataFrame:
    """Worst relative error per trainable array of a random network.

    Returns a DataFrame with columns: array, layer, kind, n_params,
    max_abs_grad, rel_error, checked, passed. Silent-layer warnings are
    raised by the engine if the random network does not fire.
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
    no_coupling = all(s.kind != "recurrent" for s in architecture.layers)
    rows = []
    for name, (err, _) in errs.items():
        k = int(name.lstrip("ffrec"))
        checked = option == "exact" or (no_coupling and not np.any(weights.layers[-1].rec))
        rows.append(dict(array=name, layer=k, kind=architecture.layers[k].kind,
                         n_params=int(res.grads[name].size), max_abs_grad=float(np.abs(res.grads[name]).max()),
                         rel_error=err, checked=checked, passed=(err <= tol) if checked else None))
    return pd.DataFrame(rows)


def main_gradcheck(args=None) -> int:
    """CLI helper: print the table, return 0 if every checked row passed, else 1.

    ``args`` may be an argparse Namespace or dict with keys of
    :func:`run_gradcheck` (arch, seed, option, ...); missing keys use defaults.
    """
    kw = {} if args is None else dict(args if isinstance(args, dict) else vars(args))
    allowed = run_gradcheck.__code__.co_varnames[:run_gradcheck.__code__.co_argcount]
    df = run_gradcheck(**{k: v for k, v in kw.items() if k in allowed and v is not None})
    with pd.option_context("display.width", 120, "display.float_format", "{:.3g}".format):
        print(df.to_string(index=False))
    checked = df[df["checked"]]
    ok = bool(len(checked) == 0 or checked["passed"].all())
    print("gradcheck", "PASSED" if ok else "FAILED")
    return 0 if ok else 1
