import subprocess
import sys

import numpy as np
import pytest
from test_engine_helpers import literal_spsp, small_network
from tolerances import IDENTITY_RTOL, SPSP_LOOP_RTOL

from rsnn_brian.engine.effect_ratio import sample_trains
from rsnn_brian.engine.neuron import BRIAN2
from rsnn_brian.engine.spsp import check_identity, layer_spsps, post_selector, post_selector_sparse, spsp, unit_traces
from rsnn_brian.network import LayerParams
from rsnn_brian.spikes import SpikeTrains


def _random_batch(rng, n_post, n_pre, T, refractory, B=2):
    post, pre = [], []
    for _ in range(B):
        nrn, stp = [], []
        for i in range(n_post):
            k = int(rng.integers(0, 12))
            if i == 0:
                k = 0                                   # a silent post neuron
            s = sample_trains(k, T, refractory, 1, rng)[0]
            nrn.append(np.full(k, i))
            stp.append(s)
        post.append(SpikeTrains(np.concatenate(nrn), np.concatenate(stp), n_post, T))
        raster = rng.random((T, n_pre)) < 0.08
        raster[:, 0] = False                            # a silent pre neuron
        pre.append(SpikeTrains.from_dense(raster))
    return post, pre


@pytest.mark.parametrize("refractory", [0, 1, 2, 3])
def test_spsp_matches_literal_replay(refractory):
    rng = np.random.default_rng(refractory)
    p = LayerParams(refractory=refractory)
    post, pre = _random_batch(rng, 5, 6, 80, refractory)
    e = spsp(post, pre, p)
    assert e.shape == (2, 5, 6)
    lit = np.array([[[literal_spsp(post[b], pre[b], i, j, p) for j in range(6)] for i in range(5)]
                    for b in range(2)])
    assert np.all(e[:, 0, :] == 0) and np.all(e[:, :, 0] == 0)
    np.testing.assert_allclose(e, lit, rtol=SPSP_LOOP_RTOL, atol=SPSP_LOOP_RTOL * np.abs(lit).max())


def test_traces_are_kernel_convolution():
    rng = np.random.default_rng(1)
    p = LayerParams()
    _, pre = _random_batch(rng, 3, 4, 60, 2)
    q = unit_traces(pre, p)
    h = BRIAN2.psp_kernel(p, 60)
    x = pre[1].dense()
    ref = np.stack([np.convolve(x[:, j], h)[:60] for j in range(4)], axis=1)
    np.testing.assert_allclose(q[1], ref, rtol=1e-12, atol=1e-14)


def test_dense_and_sparse_selector_agree():
    rng = np.random.default_rng(2)
    p = LayerParams()
    post, pre = _random_batch(rng, 4, 5, 50, 2, B=3)
    S = post_selector(post, p)
    Ss = post_selector_sparse(post, p).toarray()          # rows b*n+i, cols t*B+b
    for b in range(3):
        np.testing.assert_array_equal(S[b], Ss[b * 4:(b + 1) * 4, b::3])
    np.testing.assert_allclose(spsp(post, pre, p), np.matmul(S, unit_traces(pre, p)), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("arch,recurrent,refractory", [("20-15-R12-5", "all", 2),
                                                       ("20-15-R12-5", "reservoir", 2),
                                                       ("16-R10-12-4", "all", 3),
                                                       ("16-10-4", "all", 1)])
def test_identity_on_simulator_output(arch, recurrent, refractory):
    rec, w, p, _ = small_network(arch, recurrent=recurrent, refractory=refractory)
    errs = check_identity(rec, w, p)
    assert len(errs) == len(w.layers)
    assert max(errs) < IDENTITY_RTOL, errs


def test_identity_check_can_fail():
    rec, w, p, _ = small_network()
    w2 = w.copy()
    w2.layers[1].ff[:, 3] += 0.01
    assert max(check_identity(rec, w2, p)) > 1e3 * IDENTITY_RTOL


def test_layer_spsps_shapes_and_masks():
    rec, w, p, _ = small_network(recurrent="reservoir")
    e_ff, e_rec = layer_spsps(rec, w, p)
    assert e_ff[1].shape == (3, 15, 20) and e_ff[2].shape == (3, 12, 15) and e_ff[3].shape == (3, 5, 12)
    assert e_rec[1] is None and e_rec[2].shape == (3, 12, 12)
    assert np.all(e_rec[2][:, ~w.layers[1].rec_mask] == 0)
    e32, _ = layer_spsps(rec, w, p, dtype=np.float32)
    assert e32[1].dtype == np.float32
    np.testing.assert_allclose(e32[1], e_ff[1], rtol=1e-4, atol=1e-4 * np.abs(e_ff[1]).max())


def test_engine_does_not_import_brian2_or_matplotlib():
    code = ("import sys, rsnn_brian.engine, rsnn_brian.engine.spsp, rsnn_brian.engine.effect_ratio, "
            "rsnn_brian.engine.loss, rsnn_brian.engine.gradients, rsnn_brian.engine.linearised, "
            "rsnn_brian.engine.neuron, rsnn_brian.engine.solve, rsnn_brian.engine.settings, "
            "rsnn_brian.engine.tables_authors, rsnn_brian.reference.simulate, rsnn_brian.reference.gradcheck, "
            "rsnn_brian.connectivity; "
            "bad = [m for m in ('brian2', 'matplotlib') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
