"""Connectivity and initial weights (rsnn_brian.connectivity; spec section 1), self-connections
as an option of the package rather than a patch (the authors' reservoir loop includes a == b).

(Mirrors rsnn_brian/connectivity.py; named test_engine_* only for who owns which file.)
"""

import numpy as np
import pytest
from tolerances import IDENTITY_RTOL

from rsnn_brian.connectivity import grid_shape, init_weights, init_weights_with_types, reservoir_mask
from rsnn_brian.engine.spsp import check_identity
from rsnn_brian.network import LayerParams, NetworkWeights
from rsnn_brian.reference.simulate import simulate


def test_grid_shapes():
    assert grid_shape(400) == (5, 5, 16) and grid_shape(200) == (5, 5, 8) and grid_shape(800) == (10, 10, 8)
    assert grid_shape(50) == (5, 5, 2)
    assert grid_shape(27) == (3, 3, 3) and grid_shape(12) == (2, 2, 3)
    for n in (7, 12, 30, 64, 1000):
        assert np.prod(grid_shape(n)) == n


def test_reservoir_density_and_types():
    mask, inh = reservoir_mask(400, np.random.default_rng(0))
    assert mask.shape == (400, 400) and inh.sum() == 80                  # 20 % inhibitory
    assert not np.diag(mask).any()
    assert 0.02 < mask.mean() < 0.09 and 5 < mask.sum(axis=1).mean() < 20   # spec: fan-in about 10


def test_autapses_change_only_the_diagonal():
    m0, i0 = reservoir_mask(50, np.random.default_rng(3))
    m1, i1 = reservoir_mask(50, np.random.default_rng(3), autapses=True)
    np.testing.assert_array_equal(i0, i1)
    off = ~np.eye(50, dtype=bool)
    np.testing.assert_array_equal(m0[off], m1[off])                      # the same random draws
    assert np.diag(m1).sum() > 10 and not np.diag(m0).any()


def test_init_weights_with_autapses_and_types():
    w0 = init_weights("10-50-R50-4", np.random.default_rng(1))
    w1, types = init_weights_with_types("10-50-R50-4", np.random.default_rng(1), autapses=True)
    assert not w0.allow_autapses and w1.allow_autapses
    assert types[0] is None and types[2] is None and types[1].shape == (50,) and types[1].sum() == 10
    np.testing.assert_array_equal(w0.layers[0].ff, w1.layers[0].ff)
    np.testing.assert_array_equal(w0.layers[2].ff, w1.layers[2].ff)
    assert np.diag(w1.layers[1].rec_mask).any() and not np.diag(w1.layers[2].rec_mask).any()
    assert np.all(w1.layers[1].rec[~w1.layers[1].rec_mask] == 0)
    same, _ = init_weights_with_types("10-50-R50-4", np.random.default_rng(1))
    for a, b in zip(same.to_arrays().values(), w0.to_arrays().values()):
        np.testing.assert_array_equal(a, b)
    all_to_all = init_weights("6-R5-3", np.random.default_rng(0), recurrent="all", autapses=True)
    assert all_to_all.layers[0].rec_mask.all()
    assert not np.diag(init_weights("6-R5-3", np.random.default_rng(0), recurrent="all").layers[0].rec_mask).any()
    with pytest.raises(ValueError, match="reservoir"):
        init_weights("6-R5-3", np.random.default_rng(0), recurrent="sparse")


def test_weights_refuse_self_connections_unless_allowed():
    w = init_weights("10-50-R50-4", np.random.default_rng(1), autapses=True)
    arrays = w.to_arrays()
    with pytest.raises(ValueError, match="self-connections"):
        NetworkWeights.from_arrays(w.arch, arrays)
    back = NetworkWeights.from_arrays(w.arch, arrays, allow_autapses=True)
    assert back.allow_autapses and back.copy().allow_autapses
    out = back.copy()
    out.layers[2].rec_mask[0, 0] = True                       # lateral inhibition never has them
    with pytest.raises(ValueError, match="self-connections"):
        out.validate()


def test_simulator_and_identity_with_autapses():
    rng = np.random.default_rng(2)
    w = init_weights("20-30-R30-4", rng, autapses=True)
    for lw in w.layers:
        lw.ff *= 3.0
    assert np.diag(w.layers[1].rec_mask).any()
    p = LayerParams(v_th=5.0)
    rec = simulate(w, p, (rng.random((2, 100, 20)) < 0.1).astype(float))
    assert all(rec.counts(k).sum() > 0 for k in range(4))
    assert max(check_identity(rec, w, p)) < IDENTITY_RTOL
    # the self-synapses matter: without them the identity breaks
    w2 = w.copy()
    w2.layers[1].rec[np.diag_indices(30)] = 0.0
    assert max(check_identity(rec, w2, p)) > 1e3 * IDENTITY_RTOL
