"""The discretisation as a value: Brian2's and the authors', against independent literal loops."""

import numpy as np
import pytest
from scipy.linalg import expm
from test_engine_helpers import literal_spsp, small_network
from tolerances import IDENTITY_RTOL, SPSP_LOOP_RTOL

import rsnn_brian.network as network
from rsnn_brian.engine.effect_ratio import sample_trains
from rsnn_brian.engine.neuron import (
    AUTHORS,
    BRIAN2,
    DISCRETISATIONS,
    Discretisation,
    as_discretisation,
    propagators,
    psp_kernel,
)
from rsnn_brian.engine.spsp import check_identity, spsp
from rsnn_brian.engine.tables_authors import authors_spsp_trials
from rsnn_brian.network import LayerParams
from rsnn_brian.reference.simulate import simulate
from rsnn_brian.spikes import SpikeTrains

EULER = Discretisation("euler", integration="euler")      # the authors' update, Brian2's refractoriness


@pytest.mark.parametrize("tau_m,tau_s", [(64.0, 8.0), (128.0, 8.0), (20.0, 5.0)])
def test_brian2_propagators_are_the_exact_solution(tau_m, tau_s):
    p = LayerParams(tau_m=tau_m, tau_s=tau_s)
    # d/dt (v, I) = M (v, I): one step of dt = 1 is expm(M)
    M = np.array([[-1 / tau_m, 1 / tau_s], [0.0, -1 / tau_s]])
    E = expm(M)
    a_v, a_vI, a_I = BRIAN2.propagators(p)
    np.testing.assert_allclose([a_v, a_vI, a_I], [E[0, 0], E[0, 1], E[1, 1]], rtol=1e-13)
    assert E[1, 0] == 0


def test_authors_kernel_is_their_loop():
    """Their update (p decays, then takes the spike; q += p / tau_s) for one input at 0."""
    tau_m, tau_s = 64.0, 8.0
    h = AUTHORS.psp_kernel(LayerParams(tau_m=tau_m, tau_s=tau_s), 50)
    p = q = 0.0
    lit = [0.0]
    for t in range(1, 50):
        p = p - p / tau_s + (1.0 if t == 1 else 0.0)
        q = q - q / tau_m + p / tau_s
        lit.append(q)
    np.testing.assert_allclose(h, lit, rtol=1e-13, atol=0)
    assert h[0] == 0 and h[1] == pytest.approx(1 / tau_s)


def test_held_steps_and_restart_offsets():
    for r in (0, 1, 2, 3, 5):
        p = LayerParams(refractory=r)
        assert BRIAN2.refractory_steps(p) == r
        assert BRIAN2.restart_offset(p) == max(r - 1, 0)           # spec 2.2: r_f = t_{f-1} + R - 1
        assert BRIAN2.min_gap(p) == max(r, 1)
        assert AUTHORS.restart_offset(p) == 2 and AUTHORS.refractory_steps(p) == 3   # their T_REF = 2
    assert EULER.restart_offset(LayerParams(refractory=3)) == AUTHORS.restart_offset(LayerParams())


def test_values_compare_by_what_they_do_and_are_checked():
    assert Discretisation("another name") == BRIAN2
    assert Discretisation("x", integration="euler", held_steps=2, placement="authors") == AUTHORS
    assert EULER != AUTHORS and EULER != BRIAN2
    assert DISCRETISATIONS == ("brian2", "authors", "euler")
    assert as_discretisation("euler") == EULER
    assert as_discretisation(None) is BRIAN2 and as_discretisation("authors") is AUTHORS
    assert as_discretisation(EULER) is EULER
    assert {BRIAN2.cache_tag(), AUTHORS.cache_tag(), EULER.cache_tag()} == {"", "_disc-authors",
                                                                            "_disc-euler-heldNone-brian2"}
    with pytest.raises(ValueError, match="discretisation"):
        as_discretisation("matlab")
    with pytest.raises(ValueError, match="integration"):
        Discretisation("x", integration="rk4")
    with pytest.raises(ValueError, match="placement"):
        Discretisation("x", placement="uniform")
    with pytest.raises(ValueError, match="held_steps"):
        Discretisation("x", held_steps=-1)


def test_the_module_functions_are_brian2s_discretisation():
    """propagators / psp_kernel of engine.neuron are the default (Brian2) discretisation's;
    the ground floor (network.py) no longer carries them."""
    p = LayerParams()
    assert propagators(p) == BRIAN2.propagators(p)
    np.testing.assert_array_equal(psp_kernel(p, 30), BRIAN2.psp_kernel(p, 30))
    for moved in ("propagators", "psp_kernel", "init_weights"):
        assert not hasattr(network, moved)


@pytest.mark.parametrize("disc,refractory", [(AUTHORS, 2), (EULER, 2), (EULER, 3)])
def test_spsp_matches_literal_replay_in_other_discretisations(disc, refractory):
    rng = np.random.default_rng(refractory)
    p = LayerParams(refractory=refractory)
    T, gap = 80, disc.min_gap(p)
    post = [SpikeTrains(np.repeat(np.arange(4), 6), np.concatenate([sample_trains(6, T, gap, 1, rng)[0]
                                                                    for _ in range(4)]), 4, T)]
    pre = [SpikeTrains.from_dense(rng.random((T, 5)) < 0.1)]
    e = spsp(post, pre, p, discretisation=disc)
    lit = np.array([[literal_spsp(post[0], pre[0], i, j, p, disc) for j in range(5)] for i in range(4)])
    np.testing.assert_allclose(e[0], lit, rtol=SPSP_LOOP_RTOL, atol=SPSP_LOOP_RTOL * np.abs(lit).max())
    # the Brian2 update gives other S-PSPs: the comparison can fail
    assert np.abs(spsp(post, pre, p) - e).max() > 1e-3 * np.abs(e).max()


def test_authors_spsp_is_their_loop():
    """Our S-PSP in the authors' discretisation equals their loop, trial by trial (their
    times 1..T-1: an output at 0 is never reached by their loop)."""
    rng = np.random.default_rng(0)
    p, T, K = LayerParams(), 60, 200
    pre = sample_trains(3, T - 1, 3, K, rng) + 1
    post = sample_trains(4, T - 1, 3, K, rng) + 1
    theirs = authors_spsp_trials(pre, post, T - 1, p.tau_m, p.tau_s)
    ours = spsp([SpikeTrains(np.zeros(4), s, 1, T) for s in post], [SpikeTrains(np.zeros(3), s, 1, T) for s in pre],
                p, discretisation=AUTHORS)[:, 0, 0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13 * np.abs(theirs).max())
    assert np.abs(theirs).max() > 0


@pytest.mark.parametrize("disc", [AUTHORS, EULER])
def test_identity_holds_in_the_simulators_discretisation(disc):
    rec, w, p, _ = small_network("20-15-R12-5", recurrent="reservoir", discretisation=disc)
    assert max(check_identity(rec, w, p, discretisation=disc)) < IDENTITY_RTOL
    assert max(check_identity(rec, w, p)) > 1e3 * IDENTITY_RTOL         # Brian2's S-PSPs do not fit


def test_simulator_holds_v_as_the_discretisation_says():
    """One neuron driven hard: spikes as close as the held steps allow."""
    from rsnn_brian.connectivity import init_weights
    w = init_weights("1-1-2", np.random.default_rng(0))
    w.layers[0].ff[:] = 50.0
    x = np.ones((1, 40, 1))
    for disc, r, gap in [(BRIAN2, 2, 2), (BRIAN2, 4, 4), (AUTHORS, 2, 3), (AUTHORS, 4, 3), (EULER, 3, 3)]:
        steps = simulate(w, LayerParams(v_th=1.0, refractory=r), x, discretisation=disc).layers[1][0].step
        assert steps.size > 5 and set(np.diff(steps)) == {gap}, (disc, r)
    eu = simulate(w, LayerParams(v_th=1.0, refractory=3), x, discretisation=EULER)
    au = simulate(w, LayerParams(v_th=1.0, refractory=2), x, discretisation="authors")
    for k in (1, 2):
        np.testing.assert_array_equal(eu.layers[k][0].step, au.layers[k][0].step)
        np.testing.assert_array_equal(eu.layers[k][0].v, au.layers[k][0].v)
