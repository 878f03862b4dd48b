from pathlib import Path

import numpy as np
import pytest

from rsnn_brian.engine.effect_ratio import (EffectRatioTable, effect_ratio_table, load_reference_table,
                                            make_table, mean_spsp_grid, pre_ratio, q_matrix,
                                            sample_trains, self_factor, weighted_q_sum)
from rsnn_brian.engine.spsp import spsp
from rsnn_brian.network import LayerParams
from rsnn_brian.spikes import SpikeTrains

from tolerances import TABLE_Q_TOL, TABLE_SEED_Q_TOL, TABLE_VALUE_TOL

REF = Path("/work/shared/reference")


def test_sample_trains_respect_refractoriness_and_are_uniform():
    rng = np.random.default_rng(0)
    s = sample_trains(30, 100, 3, 4000, rng)
    assert s.shape == (4000, 30)
    assert np.all(np.diff(s, axis=1) >= 3) and s.min() >= 0 and s.max() < 100
    with pytest.raises(ValueError):
        sample_trains(40, 100, 3, 1, rng)
    # one spike: uniform over the steps
    s1 = sample_trains(1, 10, 2, 20000, rng)
    assert np.abs(np.bincount(s1.ravel(), minlength=10) / 20000 - 0.1).max() < 0.01


def test_monte_carlo_mean_matches_brute_force():
    """The histogram formulation equals averaging spsp() over explicitly sampled pairs."""
    p = LayerParams()
    T, n_pre, n_post, K = 60, 3, 4, 3000
    grid = mean_spsp_grid(p, T, np.array([n_pre]), np.array([n_post]), 20000, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    post_s = sample_trains(n_post, T, p.refractory, K, rng)
    pre_s = sample_trains(n_pre, T, p.refractory, K, rng)
    post = [SpikeTrains(np.zeros(n_post), s, 1, T) for s in post_s]
    pre = [SpikeTrains(np.zeros(n_pre), s, 1, T) for s in pre_s]
    e = spsp(post, pre, p)[:, 0, 0]
    assert abs(grid[0, 0] - e.mean()) < 4 * e.std() / np.sqrt(K)


def _agreement(ours, ref, N):
    """max over rows n_pre = 1..N and n_post = 5..N//2 of |Q - Q_ref|, relative to the row's
    max |Q_ref| over the authors' fit range n_post = 1..N."""
    n = np.arange(1, N + 1)[:, None]
    scale = np.abs(ref.derivative(n, np.arange(1, N + 1)[None, :])).max(axis=1)
    x = np.arange(5, N // 2 + 1)[None, :]
    dq = np.abs(ours.derivative(n, x) - ref.derivative(n, x))
    return (dq.max(axis=1) / scale).max()


def _value_agreement(ours, ref, N, hi=10):
    """max |E - E_ref| / max_x |E_ref| per row over n_post = 1..hi (low firing density)."""
    n = np.arange(1, N + 1)[:, None]
    scale = np.abs(ref.value(n, np.arange(1, N + 1)[None, :])).max(axis=1)
    x = np.arange(1, hi + 1)[None, :]
    return (np.abs(ours.value(n, x) - ref.value(n, x)).max(axis=1) / scale).max()


@pytest.mark.slow
@pytest.mark.parametrize("name,tau_m,T,N", [("taum64_T400", 64.0, 400, 100),
                                            ("taum128_T700", 128.0, 700, 50)])
def test_tables_agree_with_authors_reference(name, tau_m, T, N, tmp_path):
    ref = load_reference_table(REF / f"effect_ratio_poly_{name}.txt")
    assert ref.coeffs.shape == (N, 5)
    ours = effect_ratio_table(LayerParams(tau_m=tau_m), T, n_pre_max=N, cache_dir=tmp_path)
    assert ours.coeffs.shape == (N, 5)
    err = _agreement(ours, ref, N)
    verr = _value_agreement(ours, ref, N)
    print(f"{name}: Q agreement (n_post 5..{N // 2}) {err:.3f}, value agreement (n_post 1..10) {verr:.3f}")
    assert err < TABLE_Q_TOL[name]
    assert verr < TABLE_VALUE_TOL
    # the comparison can fail: a table from another tau_m does not agree
    other = make_table(LayerParams(tau_m=tau_m / 2), T, n_pre_max=N)
    assert _agreement(other, ref, N) > TABLE_Q_TOL[name]


@pytest.mark.slow
def test_table_monte_carlo_error_is_small():
    p = LayerParams(tau_m=128.0)
    a = make_table(p, 700, n_pre_max=50, seed=0)
    b = make_table(p, 700, n_pre_max=50, seed=1)
    assert _agreement(a, b, 50) < TABLE_SEED_Q_TOL


def test_mean_spsp_is_proportional_to_n_pre():
    p = LayerParams()
    E = mean_spsp_grid(p, 200, np.array([1, 4, 10]), np.array([3, 10, 20]), 3000, np.random.default_rng(0))
    np.testing.assert_allclose(E / np.array([1, 4, 10])[:, None], np.broadcast_to(E[0], (3, 3)), rtol=0.03)


def test_cache_roundtrip_atomic_no_pickle(tmp_path):
    p = LayerParams(tau_m=32.0)
    t1 = effect_ratio_table(p, 120, n_pre_max=20, n_samples=300, cache_dir=tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"
    with np.load(files[0], allow_pickle=False) as f:
        np.testing.assert_array_equal(f["coeffs"], t1.coeffs)
    t2 = effect_ratio_table(p, 120, n_pre_max=20, n_samples=300, cache_dir=tmp_path)
    np.testing.assert_array_equal(t1.coeffs, t2.coeffs)
    effect_ratio_table(LayerParams(tau_m=32.0, refractory=3), 120, n_pre_max=20, n_samples=300,
                       cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2          # keyed by every parameter, no temp files left


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RSNN_BRIAN_CACHE", str(tmp_path / "c"))
    effect_ratio_table(LayerParams(tau_m=30.0), 100, n_pre_max=10, n_samples=200)
    assert len(list((tmp_path / "c").iterdir())) == 1


def test_table_derivative_and_clamping():
    c = np.zeros((3, 5))
    c[:, 0] = [1, 2, 3]          # E = k x^4
    c[:, 3] = 1.0                # + x
    t = EffectRatioTable(c)
    assert t.derivative(2, 2.0) == pytest.approx(4 * 2 * 8 + 1)
    assert t.derivative(0, 1.0) == t.derivative(1, 1.0)          # clamped to row 1
    assert t.derivative(99, 1.0) == t.derivative(3, 1.0)
    assert t.value(3, 2.0) == pytest.approx(3 * 16 + 2)
    with pytest.raises(ValueError):
        EffectRatioTable(np.full((2, 5), np.nan))


@pytest.mark.parametrize("zpost,zpre", [(False, False), (True, False), (True, True)])
def test_weighted_q_sum_equals_explicit_sum(zpost, zpre):
    rng = np.random.default_rng(0)
    t = EffectRatioTable(rng.normal(size=(8, 5)) * 1e-3)
    o_pre = rng.integers(0, 12, (3, 7))
    o_post = rng.integers(0, 5, (3, 4))
    w = rng.normal(size=(4, 7))
    Q = q_matrix(t, o_pre, o_post, zpost, zpre)
    np.testing.assert_allclose(weighted_q_sum(t, w, o_pre, o_post, zpost, zpre),
                               np.einsum("ij,bij->bi", w, Q), rtol=1e-12, atol=1e-15)
    if zpost:
        assert np.all(Q[o_post == 0] == 0)


def test_self_factor_clamp_keeps_sign():
    s = self_factor(np.array([[20.0 - 1e-6, 20.0 + 1e-6, 10.0]]), 20.0, 1e-4)
    np.testing.assert_allclose(s, [[1e-4, -1e-4, 0.5]])
    assert self_factor(np.array([[20.0]]), 20.0)[0, 0] == 0.0       # no clamp outside recurrent layers


def test_pre_ratio_zero_for_silent():
    e = np.ones((1, 2, 3))
    r = pre_ratio(e, np.array([[2, 0, 4]]))
    np.testing.assert_allclose(r, [[[0.5, 0, 0.25], [0.5, 0, 0.25]]])


@pytest.mark.parametrize("n,T,refractory", [(1, 10, 2), (5, 30, 3), (40, 100, 2), (3, 20, 1), (4, 20, 0)])
def test_exact_pre_marginal_matches_sampling(n, T, refractory):
    from rsnn_brian.engine.effect_ratio import pre_marginal
    p = pre_marginal(n, T, refractory)
    assert p.sum() == pytest.approx(n)
    K = 100000
    h = np.bincount(sample_trains(n, T, refractory, K, np.random.default_rng(0)).ravel(), minlength=T) / K
    assert np.abs(p - h).max() < 5 * np.sqrt(p.max() / K)
    if refractory <= 1:
        np.testing.assert_allclose(p, n / T)
