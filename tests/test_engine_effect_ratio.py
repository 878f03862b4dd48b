from pathlib import Path

import numpy as np
import pytest
from tolerances import TABLE_Q_TOL, TABLE_SEED_Q_TOL, TABLE_VALUE_TOL

from rsnn_brian._io import CorruptCacheWarning
from rsnn_brian.engine.effect_ratio import (
    EffectRatioTable,
    effect_ratio_table,
    load_reference_table,
    make_table,
    mean_spsp_grid,
    pre_ratio,
    q_matrix,
    sample_trains,
    self_factor,
    weighted_q_sum,
)
from rsnn_brian.engine.neuron import AUTHORS, Discretisation
from rsnn_brian.engine.spsp import spsp
from rsnn_brian.engine.tables_authors import authors_spsp_trials, sample_trains_authors
from rsnn_brian.network import LayerParams
from rsnn_brian.spikes import SpikeTrains

#: the authors' reference tables, shipped with the tests (see data/README.md)
REF = Path(__file__).parent / "data"


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


@pytest.mark.parametrize("garbage", [b"not an npz file at all", "truncated", "wrong key", "wrong shape"])
def test_corrupt_cache_file_is_reported_and_recomputed(tmp_path, garbage):
    p = LayerParams(tau_m=32.0)
    good = effect_ratio_table(p, 120, n_pre_max=20, n_samples=300, cache_dir=tmp_path)
    (path,) = tmp_path.iterdir()
    data = path.read_bytes()
    if garbage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif garbage == "wrong key":
        np.savez(path, coeffs=good.coeffs, key=np.array("v2_something_else"))
    elif garbage == "wrong shape":
        with np.load(path, allow_pickle=False) as f:
            key = f["key"]
        np.savez(path, coeffs=good.coeffs[:5], key=key)
    else:
        path.write_bytes(garbage)
    with pytest.warns(CorruptCacheWarning, match=str(path)):
        again = effect_ratio_table(p, 120, n_pre_max=20, n_samples=300, cache_dir=tmp_path)
    np.testing.assert_array_equal(again.coeffs, good.coeffs)
    assert list(tmp_path.iterdir()) == [path]
    with np.load(path, allow_pickle=False) as f:                  # rewritten: read back without a warning
        np.testing.assert_array_equal(f["coeffs"], good.coeffs)


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


# ---------------------------------------------------------------------------
# the authors' discretisation reproduces their tables within Monte-Carlo error

def test_authors_sampler_matches_their_procedure():
    rng = np.random.default_rng(0)
    s = sample_trains_authors(30, 100, 4000, rng)
    assert s.shape == (4000, 30) and s.min() == 0 and s.max() == 100
    assert np.all(np.diff(s, axis=1) >= 3)                     # |t - t'| <= 2 rejected
    s1 = sample_trains_authors(1, 10, 40000, rng).ravel()      # round(U * 10): end points half weight
    f = np.bincount(s1, minlength=11) / s1.size
    np.testing.assert_allclose(f, np.r_[0.05, np.full(9, 0.1), 0.05], atol=0.006)
    assert sample_trains_authors(100, 400, 50, rng).shape == (50, 100)   # dense: exact fallback


def test_authors_loop_details():
    tau_m, tau_s = 64.0, 8.0
    # one input at 0, one output at 3: q(3) by Euler with the one-step delay
    p = q = 0.0
    for t in range(1, 4):
        p = p - p / tau_s + (1.0 if t == 1 else 0.0)
        q = q - q / tau_m + p / tau_s
    S = authors_spsp_trials(np.array([[0]]), np.array([[3]]), 10, tau_m, tau_s)
    assert S[0] == pytest.approx(q, rel=1e-14)
    # an output at t = 0 is never reached: nothing is accumulated in that trial
    assert authors_spsp_trials(np.array([[0]]), np.array([[0, 5]]), 10, tau_m, tau_s)[0] == 0.0
    # q is held at 0 for T_REF = 2 steps after an output
    S2 = authors_spsp_trials(np.array([[0]]), np.array([[3, 6]]), 10, tau_m, tau_s)
    p = q = 0.0
    for t in range(1, 7):
        p = p - p / tau_s + (1.0 if t == 1 else 0.0)
        q = 0.0 if t in (3, 4, 5) else q - q / tau_m + p / tau_s
    assert S2[0] == pytest.approx(S[0] + q, rel=1e-14)


def test_authors_grid_matches_their_loop():
    """The linear (histogram) formulation equals averaging their loop over sampled pairs."""
    p = LayerParams(tau_m=64.0)
    T, K = 60, 20000
    grid = mean_spsp_grid(p, T, np.array([3]), np.array([4]), 40000, np.random.default_rng(0), AUTHORS)
    rng = np.random.default_rng(1)
    S = authors_spsp_trials(sample_trains_authors(3, T, K, rng), sample_trains_authors(4, T, K, rng),
                            T, p.tau_m, p.tau_s)
    assert abs(grid[0, 0] - S.mean()) < 4 * np.sqrt(2) * S.std() / np.sqrt(K)
    with pytest.raises(ValueError):
        make_table(p, 100, n_pre_max=10, discretisation="matlab")


def test_cache_key_includes_discretisation(tmp_path):
    p = LayerParams(tau_m=32.0)
    a = effect_ratio_table(p, 120, n_pre_max=10, n_samples=200, cache_dir=tmp_path)
    b = effect_ratio_table(p, 120, n_pre_max=10, n_samples=200, cache_dir=tmp_path, discretisation="authors")
    assert len(list(tmp_path.iterdir())) == 2 and not np.array_equal(a.coeffs, b.coeffs)
    c = effect_ratio_table(p, 120, n_pre_max=10, n_samples=200, cache_dir=tmp_path, discretisation="authors")
    np.testing.assert_array_equal(b.coeffs, c.coeffs)
    # a value, not only a name: the authors' update with Brian2's placement is a third table
    euler = Discretisation("euler", integration="euler")
    d = effect_ratio_table(p, 120, n_pre_max=10, n_samples=200, cache_dir=tmp_path, discretisation=euler)
    assert len(list(tmp_path.iterdir())) == 3
    fresh = make_table(p, 120, n_pre_max=10, n_samples=200, discretisation=euler)
    np.testing.assert_array_equal(d.coeffs, fresh.coeffs)
    assert not np.array_equal(a.coeffs, d.coeffs)


AUTHORS_ROWS = (1, 5, 20, 50)
AUTHORS_TRIALS = 1000          # their trials per (n_pre, n_post) cell
AUTHORS_Z = 4.5                # ~20 effectively independent fitted quantities per table


def _fit_z(table, ref, var, N, n_ours):
    """max |z| of (ours - theirs) for the fitted values and for Q over n_post = 1..N in the
    rows AUTHORS_ROWS. The fit is linear in the cell means, so its standard error is
    propagated exactly from the per-cell variances ``var`` (rows, N): theirs with 1000
    trials a cell, ours with ``n_ours`` (conservative for the histogram estimator, whose
    variance is at most the plain mean's to leading order)."""
    x = np.arange(1, N + 1, dtype=np.float64)
    pinv = np.linalg.pinv(np.vander(x, 5))
    Mv = np.vander(x, 5) @ pinv
    Mq = (np.vander(x, 4) * [4.0, 3.0, 2.0, 1.0]) @ pinv[:4]
    k = 1.0 / n_ours + 1.0 / AUTHORS_TRIALS
    zv, zq = [], []
    for r, n in enumerate(AUTHORS_ROWS):
        zv.append((table.value(n, x) - ref.value(n, x)) / np.sqrt(Mv ** 2 @ var[r] * k))
        zq.append((table.derivative(n, x) - ref.derivative(n, x)) / np.sqrt(Mq ** 2 @ var[r] * k))
    return np.abs(zv).max(), np.abs(zq).max()


@pytest.mark.slow
@pytest.mark.parametrize("name,tau_m,T,N", [("taum64_T400", 64.0, 400, 100),
                                            ("taum128_T700", 128.0, 700, 50)])
def test_authors_discretisation_reproduces_reference_tables(name, tau_m, T, N):
    ref = load_reference_table(REF / f"effect_ratio_poly_{name}.txt")
    rng = np.random.default_rng(7)
    # per-cell variance of their S-PSP, from their loop (200 trials a cell)
    K_var = 200
    var = np.stack([authors_spsp_trials(sample_trains_authors(n, T, K_var * N, rng),
                                        [sample_trains_authors(m, T, K_var, rng) for m in range(1, N + 1)],
                                        T, tau_m, 8.0).reshape(N, K_var).var(axis=1, ddof=1)
                    for n in AUTHORS_ROWS])
    K = 2000
    kw = dict(n_pre_max=max(AUTHORS_ROWS), n_post_fit=(1, N), n_samples=K)
    ours = make_table(LayerParams(tau_m=tau_m), T, discretisation="authors", **kw)
    zv, zq = _fit_z(ours, ref, var, N, K)
    # the same comparison fails for Brian2's discretisation and for another tau_m
    zv_b, zq_b = _fit_z(make_table(LayerParams(tau_m=tau_m), T, **kw), ref, var, N, K)
    zv_t, zq_t = _fit_z(make_table(LayerParams(tau_m=tau_m / 2), T, discretisation="authors", **kw),
                        ref, var, N, K)
    print(f"{name}: max|z| authors value {zv:.2f} Q {zq:.2f}; brian2 value {zv_b:.1f} Q {zq_b:.1f}; "
          f"tau_m/2 value {zv_t:.1f} Q {zq_t:.1f}")
    assert zv < AUTHORS_Z and zq < AUTHORS_Z
    assert zq_b > AUTHORS_Z and zv_b > AUTHORS_Z
    assert zq_t > AUTHORS_Z and zv_t > AUTHORS_Z
