"""Adam, learning-rate schedule, weight regulariser and boosting (spec section 5)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rsnn_brian.optim import (
    Adam,
    AdamSettings,
    BoostSettings,
    RegularizerSettings,
    learning_rate,
    regularizer_gradient,
    regularizer_gradients,
    regularizer_penalty,
    update_boost_weights,
)

# -- Adam --------------------------------------------------------------------------

def test_adam_two_steps_by_hand():
    w = np.array([1.0, -2.0])
    opt = Adam({"w": w}, AdamSettings(lr=0.1))
    view = w                                   # updated in place
    opt.step({"w": np.array([0.5, -1.0])})
    # step 1: m_hat = g, v_hat = g^2, so w -= lr * g / (|g| + eps)
    np.testing.assert_allclose(view, [1 - 0.1 * 0.5 / (0.5 + 1e-8), -2 + 0.1 * 1 / (1 + 1e-8)], rtol=0, atol=1e-15)
    opt.step({"w": np.array([0.2, 0.0])}, lr=0.05)
    # step 2, first coordinate: m = 0.9*0.05 + 0.1*0.2 = 0.065; v = 0.999*0.00025 + 0.001*0.04
    m = 0.9 * 0.05 + 0.1 * 0.2
    v = 0.999 * (0.001 * 0.25) + 0.001 * 0.04
    expect0 = (1 - 0.1 * 0.5 / (0.5 + 1e-8)) - 0.05 * (m / (1 - 0.81)) / (math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
    m1 = 0.9 * (0.1 * -1.0)
    v1 = 0.999 * 0.001 * 1.0
    expect1 = (-2 + 0.1 / (1 + 1e-8)) - 0.05 * (m1 / 0.19) / (math.sqrt(v1 / (1 - 0.999 ** 2)) + 1e-8)
    np.testing.assert_allclose(w, [expect0, expect1], rtol=1e-14)
    assert opt.t == 2


def test_adam_updates_views_in_place_and_respects_masks():
    big = np.zeros((3, 4))
    params = {"a": big[:, :2], "b": big[:, 2:]}
    mask = np.array([[True, False]] * 3)
    opt = Adam(params, masks={"b": mask})
    opt.step({"a": np.ones((3, 2)), "b": np.ones((3, 2))})
    assert np.all(big[:, :3] < 0) and np.all(big[:, 3] == 0)


def test_adam_state_roundtrip_through_npz(tmp_path):
    rng = np.random.default_rng(0)
    grads = [{"w": rng.normal(size=(3, 2)), "u": rng.normal(size=4)} for _ in range(6)]
    p1 = {"w": np.ones((3, 2)), "u": np.zeros(4)}
    a = Adam(p1)
    for g in grads:
        a.step(g)
    p2 = {"w": np.ones((3, 2)), "u": np.zeros(4)}
    b = Adam(p2)
    for g in grads[:3]:
        b.step(g)
    np.savez(tmp_path / "opt.npz", **b.state_dict())
    saved = {k: v.copy() for k, v in p2.items()}
    c = Adam({k: v.copy() for k, v in saved.items()})
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as z:
        c.load_state_dict(z)
    for g in grads[3:]:
        c.step(g)
    for k in p1:
        np.testing.assert_array_equal(c.params[k], p1[k])
    assert c.t == 6


def test_adam_errors():
    opt = Adam({"w": np.zeros(3)})
    with pytest.raises(ValueError, match="gradients for"):
        opt.step({"x": np.zeros(3)})
    with pytest.raises(ValueError, match="shape"):
        opt.step({"w": np.zeros(4)})
    with pytest.raises(ValueError, match="NaN"):
        opt.step({"w": np.array([0, np.nan, 0])})
    with pytest.raises(TypeError, match="floating-point"):
        Adam({"w": np.zeros(3, int)})
    with pytest.raises(ValueError, match="lacks"):
        opt.load_state_dict({"t": np.array(1)})
    with pytest.raises(ValueError, match="beta1"):
        AdamSettings(beta1=1.0)


# -- schedule ----------------------------------------------------------------------

def test_learning_rate_schedule():
    assert learning_rate(0.001, 0) == 0.001
    assert learning_rate(0.001, 1) == 0.001
    assert learning_rate(0.001, 4) == pytest.approx(0.0005, rel=1e-15)
    assert learning_rate(0.005, 9) == pytest.approx(0.005 / 3, rel=1e-15)
    with pytest.raises(ValueError, match="epoch"):
        learning_rate(0.001, -1)


# -- regulariser -------------------------------------------------------------------

def literal_gradient(w, lam=10.0, beta=0.04, L=8.0, mask=None):
    n_post, n_pre = w.shape
    out = np.zeros_like(w)
    for i in range(n_post):
        syn = [j for j in range(n_pre) if mask is None or mask[i, j]]
        S = sum((w[i, j] / L) ** 2 for j in syn) / (len(syn) + 1)
        for j in syn:
            out[i, j] = lam * beta * (w[i, j] / L) * math.exp(beta * (S - 1))
    return out


def test_regularizer_against_literal_loop():
    rng = np.random.default_rng(1)
    w = rng.normal(scale=5, size=(4, 6))
    np.testing.assert_allclose(regularizer_gradient(w), literal_gradient(w), rtol=1e-12, atol=0)
    mask = rng.random((4, 6)) < 0.5
    wm = np.where(mask, w, 0.0)
    np.testing.assert_allclose(regularizer_gradient(wm, mask=mask), literal_gradient(wm, mask=mask),
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("masked", [False, True])
def test_regularizer_is_gradient_of_its_penalty(masked):
    rng = np.random.default_rng(2)
    w = rng.normal(scale=20, size=(3, 5))     # large weights: exp term far from 1
    mask = (rng.random((3, 5)) < 0.6) if masked else None
    s = RegularizerSettings()
    g = regularizer_gradient(w, s, mask)
    h = 1e-4
    fd = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        wp, wn = w.copy(), w.copy()
        wp[idx] += h
        wn[idx] -= h
        fd[idx] = (regularizer_penalty(wp, s, mask) - regularizer_penalty(wn, s, mask)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-9)
    if masked:
        assert np.all(g[~mask] == 0)


def test_regularizer_for_network_weights():
    from rsnn_brian.connectivity import init_weights
    weights = init_weights("12-10-R8-4", np.random.default_rng(0))
    grads = regularizer_gradients(weights)
    assert set(grads) == set(weights.trainable())
    lw = weights.layers[1]
    np.testing.assert_allclose(grads["rec2"], literal_gradient(lw.rec, mask=lw.rec_mask), rtol=1e-12)
    # the masks handed to Adam: trainable recurrent arrays only (not the fixed lateral inhibition)
    masks = weights.trainable_masks()
    assert list(masks) == ["rec2"] and masks["rec2"] is lw.rec_mask
    assert weights.layers[2].rec is not None and not weights.layers[2].rec_trainable


def test_regularizer_lambdas_per_array():
    """Per-array lambdas scale only the arrays they name; 0 drops an array; unknown names are refused."""
    from rsnn_brian.connectivity import init_weights
    weights = init_weights("12-10-R8-4", np.random.default_rng(0))
    base = regularizer_gradients(weights)
    grads = regularizer_gradients(weights, RegularizerSettings(), {"ff1": 0.03, "rec2": 0.0})
    assert set(grads) == {"ff1", "ff2", "ff3"}                     # rec2 at lambda 0: nothing added
    np.testing.assert_allclose(grads["ff1"], 0.003 * base["ff1"], rtol=1e-12)
    for name in ("ff2", "ff3"):                                     # untouched arrays keep lambda 10
        assert np.array_equal(grads[name], base[name])
    with pytest.raises(ValueError, match=r"rec3.*trainable arrays are \['ff1', 'ff2', 'ff3', 'rec2'\]"):
        regularizer_gradients(weights, RegularizerSettings(), {"rec3": 1.0})


# -- boosting ----------------------------------------------------------------------

def test_boosting_by_hand():
    w = np.array([1.0, 1.0, 2.0, 1.0, 1.0, 3.0])
    y = np.array([0, 0, 0, 1, 1, 2])
    yhat = np.array([0, 1, 2, 1, 0, 2])
    new = update_boost_weights(w, y, yhat, n_classes=3)
    eps0 = (1 + 2) / (1 + 1 + 2)     # samples 1 and 2 wrong, class weight 4
    eps1 = 1 / 2                      # sample 4 wrong
    expect = [1.0, math.exp(eps0 / 20), 2 * math.exp(eps0 / 20), 1.0, math.exp(eps1 / 20), 3.0]
    np.testing.assert_allclose(new, expect, rtol=1e-15)
    assert w[1] == 1.0                # input untouched
    np.testing.assert_allclose(update_boost_weights(w, y, yhat, 3, BoostSettings(temperature=1.0))[1],
                               math.exp(0.75))


def test_boosting_errors():
    with pytest.raises(ValueError, match="1-D of one length"):
        update_boost_weights(np.ones(3), np.zeros(2, int), np.zeros(3, int), 10)
    with pytest.raises(ValueError, match="labels must be integers in 0..9"):
        update_boost_weights(np.ones(2), np.array([0, 10]), np.zeros(2, int), 10)
    with pytest.raises(ValueError, match="> 0"):
        update_boost_weights(np.array([1.0, 0.0]), np.zeros(2, int), np.zeros(2, int), 10)
