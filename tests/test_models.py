"""Neuron models from Brian2 equations (spec 7): propagators, S-PSPs, identity, gradients, refusals.

Shipped models (exponential, alpha, dual-exponential) and one written here (a current with two decay
components, part of it reset at a spike): the derived propagator equals today's closed form; the
reference simulator obeys the S-PSP identity; the ``exact`` gradients equal central differences of
the linearised model; the models outside the family are refused with the term named.
"""

import numpy as np
import pytest

from rsnn_brian.config import TrainConfig
from rsnn_brian.connectivity import init_weights
from rsnn_brian.engine import check_identity, layer_spsps
from rsnn_brian.engine.effect_ratio import effect_ratio_table, model_tag
from rsnn_brian.engine.neuron import AUTHORS, BRIAN2
from rsnn_brian.models import ALPHA, DUAL_EXPONENTIAL, EXPONENTIAL, SHIPPED, NeuronModel, get_model
from rsnn_brian.network import LayerParams, parse_architecture
from rsnn_brian.reference.gradcheck import run_gradcheck
from rsnn_brian.reference.simulate import simulate

#: A user's model: two decay components, the fast one reset with v.
TWO_DECAY = NeuronModel(
    "two-decay", "dv/dt = -v/tau_m + (I1 + I2)/tau_s : 1 (unless refractory)\n"
    "dI1/dt = -I1/tau_1 : 1\ndI2/dt = -I2/tau_2 : 1\n",
    "I1_post += 0.7*w; I2_post += 0.3*w", ("v", "I1", "I2"),
    (("-1/tau_m", "1/tau_s", "1/tau_s"), ("0", "-1/tau_1", "0"), ("0", "0", "-1/tau_2")), (0.0, 0.7, 0.3),
    reset_states=("v", "I1"), reset="v = 0; I1 = 0", defaults={"tau_1": "4 ms", "tau_2": "16 ms"})

PARAMS = {
    "exponential": LayerParams(v_th=5.0, model=EXPONENTIAL),
    "alpha": LayerParams(v_th=3.0, tau_m=8.0, tau_s=8.0, model=ALPHA),          # equal time constants
    "dual-exponential": LayerParams(v_th=5.0, model=DUAL_EXPONENTIAL, constants={"tau_r": 2.0}),
    "two-decay": LayerParams(v_th=3.0, tau_m=20.0, model=TWO_DECAY, constants={"tau_1": 4.0, "tau_2": 16.0}),
}


def _net(seed=0, arch="20-15-R12-5", B=3, T=100, rate=0.1, scale=3.0):
    rng = np.random.default_rng(seed)
    a = parse_architecture(arch)
    w = init_weights(a, rng, recurrent="all")
    for lw in w.layers:
        lw.ff *= scale
    x = (rng.random((B, T, a.n_inputs)) < rate).astype(np.float64)
    return w, x


@pytest.mark.parametrize("tau_m,tau_s", [(64.0, 8.0), (128.0, 8.0), (20.0, 5.0)])
def test_the_derived_propagator_is_the_closed_form(tau_m, tau_s):
    closed, general = LayerParams(tau_m=tau_m, tau_s=tau_s), LayerParams(tau_m=tau_m, tau_s=tau_s, model="exponential")
    P0, c0, r0 = BRIAN2.state_propagator(closed)
    P1, c1, r1 = BRIAN2.state_propagator(general)
    assert np.abs(P1 - P0).max() <= 1e-12
    assert np.array_equal(c0, c1) and np.array_equal(r0, r1)
    assert np.abs(BRIAN2.psp_kernel(general, 400) - BRIAN2.psp_kernel(closed, 400)).max() <= 1e-12


def test_the_general_path_gives_todays_spikes_and_spsps():
    w, x = _net()
    closed, general = LayerParams(v_th=5.0), LayerParams(v_th=5.0, model="exponential")
    r0, r1 = simulate(w, closed, x), simulate(w, general, x)
    for la, lb in zip(r0.layers, r1.layers):
        for a, b in zip(la, lb):
            assert np.array_equal(a.step, b.step) and np.array_equal(a.neuron, b.neuron)
    e0, e1 = layer_spsps(r0, w, closed), layer_spsps(r0, w, general)
    for k in range(1, 4):
        assert np.abs(e1[0][k] - e0[0][k]).max() <= 1e-12 * max(1.0, np.abs(e0[0][k]).max())


def test_equal_time_constants_have_the_limit_kernels():
    tau = 8.0
    k = np.arange(60.0)
    alpha = BRIAN2.psp_kernel(LayerParams(tau_m=tau, tau_s=tau, model="alpha"), 60)
    np.testing.assert_allclose(alpha, k ** 2 / (2 * tau ** 2) * np.exp(-k / tau), rtol=1e-12, atol=1e-15)
    expo = BRIAN2.psp_kernel(LayerParams(tau_m=tau, tau_s=tau, model="exponential"), 60)
    np.testing.assert_allclose(expo, k / tau * np.exp(-k / tau), rtol=1e-12, atol=1e-15)
    dual = BRIAN2.psp_kernel(LayerParams(tau_s=tau, model="dual-exponential", constants={"tau_r": tau}), 60)
    np.testing.assert_allclose(dual, BRIAN2.psp_kernel(LayerParams(tau_s=tau, model="alpha"), 60), rtol=1e-12)


@pytest.mark.parametrize("name", list(PARAMS))
def test_reference_identity_and_exact_gradients(name):
    p = PARAMS[name]
    w, x = _net()
    rec = simulate(w, p, x)
    assert all(rec.counts(k).sum() > 0 for k in range(1, 4)), "every layer must spike"
    assert max(check_identity(rec, w, p)) <= 1e-9
    df = run_gradcheck("20-15-R12-5", seed=0, n_samples=3, n_steps=100, params=p)
    assert df["checked"].all() and df["passed"].all(), df.to_string()
    assert df["rel_error"].max() <= 1e-5


def test_a_reset_variable_enters_the_spsp():
    """With I1 reset too, the identity needs the reset channel: dropping it breaks the identity."""
    p = PARAMS["two-decay"]
    w, x = _net(seed=1)
    rec = simulate(w, p, x)
    assert max(check_identity(rec, w, p)) <= 1e-9
    only_v = LayerParams(v_th=3.0, tau_m=20.0, model=NeuronModel(
        "two-decay-v", TWO_DECAY.equations, TWO_DECAY.on_pre, TWO_DECAY.states, TWO_DECAY.matrix,
        TWO_DECAY.jump), constants=dict(p.constants))
    assert max(check_identity(rec, w, only_v)) > 1e-6


def test_tables_are_cached_per_model(tmp_path):
    keys = {model_tag(p) for p in PARAMS.values()}
    assert model_tag(LayerParams()) == "" and len(keys) == len(PARAMS)
    a = effect_ratio_table(PARAMS["alpha"], 100, n_pre_max=20, n_samples=200, cache_dir=tmp_path)
    e = effect_ratio_table(LayerParams(tau_m=8.0, tau_s=8.0, model="exponential"), 100, n_pre_max=20,
                           n_samples=200, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("effect_ratio_*.npz"))) == 2
    assert not np.allclose(a.coeffs, e.coeffs)


def test_a_general_model_needs_brian2s_discretisation():
    with pytest.raises(ValueError, match="exponential model in closed form only"):
        AUTHORS.state_propagator(PARAMS["alpha"])
    with pytest.raises(ValueError, match="needs constants for tau_r"):
        LayerParams(model="dual-exponential")
    with pytest.raises(ValueError, match="unknown neuron model 'beta'"):
        get_model("beta")


# -- structure a model must have ------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (dict(matrix=(("-1/tau_m", "1/tau_s"), ("a/tau_s", "-1/tau_s"))), "v feeds dI/dt"),
    (dict(jump=(1.0, 0.0)), "on_pre jumps v"),
    (dict(reset_states=("I",)), "the reset must set v"),
    (dict(states=("I", "v")), "first state variable must be v"),
])
def test_models_outside_the_family_are_refused(change, message):
    kw = dict(name="m", equations=EXPONENTIAL.equations, on_pre=EXPONENTIAL.on_pre, states=EXPONENTIAL.states,
              matrix=EXPONENTIAL.matrix, jump=EXPONENTIAL.jump)
    kw.update(change)
    with pytest.raises(ValueError, match=message):
        NeuronModel(**kw)


# -- config and command line ----------------------------------------------------------------

def test_per_layer_models_and_times_in_the_config():
    cfg = TrainConfig(architecture="20-15-R12-5", thresholds=(5.0,), model="alpha, dual-exponential, exponential",
                      tau_m=["8 ms", "64 ms", "32 ms"], tau_s="8 ms", tau_r="3 ms", refractory="2 ms, 1 ms, 2 ms")
    p = cfg.layer_params()
    assert p[0] == LayerParams(v_th=5.0, tau_m=8.0, tau_s=8.0, refractory=2, model=ALPHA)
    assert p[1] == LayerParams(v_th=5.0, tau_m=64.0, tau_s=8.0, refractory=1, model=DUAL_EXPONENTIAL,
                               constants={"tau_r": 3.0})
    assert p[2] == LayerParams(v_th=5.0, tau_m=32.0, tau_s=8.0, refractory=2)          # closed form
    assert cfg.tau_m == "8 ms, 64 ms, 32 ms"
    assert TrainConfig.from_dict({"neuron": {"model": ["alpha", "alpha", "exponential"]}}).model == \
        "alpha, alpha, exponential"
    with pytest.raises(ValueError, match="tau_m: the architecture has 3 layers with incoming weights, got 2"):
        TrainConfig(tau_m="64 ms, 32 ms")
    with pytest.raises(ValueError, match="unknown neuron model 'beta'"):
        TrainConfig(model="beta")
    with pytest.raises(ValueError, match="tau_m and tau_s must differ"):
        TrainConfig(tau_m="8 ms")
    assert TrainConfig(tau_m="8 ms", model="alpha").layer_params()[0].tau_m == 8.0
    with pytest.raises(ValueError, match="differs between layers"):
        cfg.seconds("tau_m")


def test_per_layer_flags_on_the_command_line():
    from rsnn_brian.cli import _config_from_args, build_parser
    args = build_parser().parse_args(["train", "--arch", "20-15-R12-5", "--model", "alpha,exponential,alpha",
                                      "--tau-m", "8 ms,64 ms,8 ms", "--tau-r", "1 ms"])
    cfg = _config_from_args(args)
    assert [p.model for p in cfg.layer_params()] == [ALPHA, None, ALPHA]
    assert [p.tau_m for p in cfg.layer_params()] == [8.0, 64.0, 8.0]


def test_shipped_names():
    assert set(SHIPPED) == {"exponential", "alpha", "dual-exponential"}


def test_a_users_model_trains_end_to_end(tmp_path):
    """Registered by name, the two-decay model trains through rsnn_brian.train (NumPy simulator)."""
    from rsnn_brian.models import register_model
    from rsnn_brian.training import train
    register_model(TWO_DECAY)
    cfg = TrainConfig(dataset="builtin", architecture="784-20-R10-10", thresholds=(3.0,), model="two-decay",
                      tau_m="20 ms", batch_size=16, lr=0.004, device="numpy", seed=3, train_limit=32,
                      test_limit=16, epochs=1, n_steps=60, engine_dtype="float64")
    p = cfg.layer_params()
    assert all(q.model is TWO_DECAY and dict(q.constants) == {"tau_1": 4.0, "tau_2": 16.0} for q in p)
    result = train(cfg, tmp_path / "run", progress=False)
    with np.load(tmp_path / "run" / "checkpoints" / "weights.npz") as z:
        ff1 = z["ff1"]
    start = init_weights(parse_architecture(cfg.architecture), np.random.default_rng(cfg.seed), recurrent=cfg.recurrent)
    assert result.epochs_done == 1 and np.all(np.isfinite(ff1)) and not np.array_equal(ff1, start.layers[0].ff)
