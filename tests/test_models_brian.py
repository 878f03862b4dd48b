"""Neuron models in Brian2 (spec 7): Brian2's extraction, refusals, and Brian2 against the reference.

One network per device with a different model in every layer (feed-forward, recurrent and output
layers; the shipped models and a user's two-decay model): identical spikes to the NumPy reference in
float64, and the S-PSP identity on Brian2's own output to 1e-9 for every neuron.
"""

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2")
from brian2 import ms  # noqa: E402
from test_models import TWO_DECAY  # noqa: E402

from rsnn_brian.brian import NeuronConfig, Runner  # noqa: E402
from rsnn_brian.brian.linear import linear_model  # noqa: E402
from rsnn_brian.brian.model import sample_reset  # noqa: E402
from rsnn_brian.connectivity import init_weights  # noqa: E402
from rsnn_brian.engine import check_identity  # noqa: E402
from rsnn_brian.models import SHIPPED  # noqa: E402
from rsnn_brian.network import parse_architecture  # noqa: E402
from rsnn_brian.reference.simulate import simulate  # noqa: E402

ARCH = "16-R12-10-R8-5"
T, B = 80, 2
VALUES = {"tau_m": 20.0, "tau_s": 8.0, "tau_r": 2.0, "tau_1": 4.0, "tau_2": 16.0}


@pytest.mark.parametrize("model", list(SHIPPED.values()) + [TWO_DECAY], ids=lambda m: m.name)
def test_brian2_extracts_the_models_linear_system(model):
    got = linear_model(model.equations, model.on_pre, reset=model.reset, name=model.name, defaults=model.defaults)
    assert got.states == model.states and got.jump == model.jump and got.reset_states == model.reset_states
    np.testing.assert_array_equal(got.generator(VALUES), model.generator(VALUES))


_V = "dv/dt = -v/tau_m + I/tau_s : 1 (unless refractory)\n"
_I = "dI/dt = -I/tau_s : 1\n"


@pytest.mark.parametrize("equations, kw, message", [
    ("dv/dt = -v**2/tau_m + I/tau_s : 1 (unless refractory)\n" + _I, {},
     "term '-v\\*\\*2/tau_m' of dv/dt is not linear"),
    ("dv/dt = (g*(E - v) - v)/tau_m : 1 (unless refractory)\ndg/dt = -g/tau_s : 1\n", dict(on_pre="g_post += w"),
     "product of state variables .*conductance-based"),
    ("dv/dt = (1.5 - v)/tau_m + I/tau_s : 1 (unless refractory)\n" + _I, {}, "constant drive"),
    ("dv/dt = -v/tau_m + I*t/tau_s**2 : 1 (unless refractory)\n" + _I, {}, "depends on time"),
    ("dv/dt = -v/tau_m + (I - a)/tau_s : 1 (unless refractory)\n" + _I + "da/dt = (v - a)/tau_s : 1\n", {},
     "v feeds da/dt"),
    (_V + _I, dict(reset="v = v - v_th"), "reset statement 'v = v - v_th' depends on the state"),
    (_V + _I, dict(reset="v = -1"), "sets v to -1"),
    (_V + _I, dict(reset="I = 0"), "the reset must set v"),
    (_V + _I, dict(on_pre="v_post += w"), "jumps v"),
    (_V + _I, dict(on_pre="I_post += w*w"), "not a constant times w"),
    (_V + _I, dict(threshold="v > v_th + I"), "threshold must be 'v > v_th'"),
    ("dv/dt = -v/tau_m + I/tau_s : 1\n" + _I, {}, "must be flagged \\(unless refractory\\)"),
    (_V + "dI/dt = -I/tau_s : 1 (unless refractory)\n", {}, "only v may be held"),
    (_V + _I + "b : 1\n", {}, "'b' is a per-neuron parameter"),
])
def test_equations_outside_the_family_are_refused_naming_the_term(equations, kw, message):
    kw = {"on_pre": "I_post += w", **kw}
    with pytest.raises(ValueError, match=message):
        linear_model(equations, **kw)


def test_every_state_variable_is_reset_between_samples():
    assert sample_reset(NeuronConfig()) == "v = 0\nI = 0\nlastspike = never\nnot_refractory = True"
    assert sample_reset(NeuronConfig(model=TWO_DECAY, tau_m=20 * ms)).startswith("v = 0\nI1 = 0\nI2 = 0\n")


def _weights(seed):
    rng = np.random.default_rng(seed)
    w = init_weights(parse_architecture(ARCH), rng, recurrent="all")
    for lw in w.layers:
        lw.ff[:] = rng.uniform(-0.5, 1.0, lw.ff.shape) * 5.0
        if lw.rec_trainable:
            lw.rec[:] = np.where(lw.rec_mask, rng.uniform(-1, 1, lw.rec.shape), 0.0)
    x = (rng.random((B, T, 16)) < 0.15).astype(np.float64)
    return w, x


ROTATIONS = {
    "runtime": [NeuronConfig(v_th=2.0, tau_m=20 * ms, model=TWO_DECAY),
                NeuronConfig(v_th=2.0, tau_m=8 * ms, tau_s=8 * ms, model="alpha"),
                NeuronConfig(v_th=2.0, tau_m=20 * ms, model="dual-exponential", constants={"tau_r": 3 * ms}),
                NeuronConfig(v_th=2.0, tau_m=20 * ms, model="exponential")],
    "cpp_standalone": [NeuronConfig(v_th=2.0, tau_m=16 * ms, tau_s=16 * ms, model="alpha"),
                       NeuronConfig(v_th=2.0, tau_m=16 * ms, tau_s=16 * ms, model="exponential"),
                       NeuronConfig(v_th=2.0, tau_m=20 * ms, model=TWO_DECAY),
                       NeuronConfig(v_th=2.0, tau_m=20 * ms, model="dual-exponential")],
}


@pytest.mark.parametrize("device", ["runtime", pytest.param("cpp_standalone", marks=pytest.mark.standalone)])
def test_brian2_equals_the_reference_and_obeys_the_identity(device, tmp_path):
    w, x = _weights(0)
    with Runner(ARCH, ROTATIONS[device], device=device, n_steps=T, samples_per_run=B, dt=1 * ms,
                build_dir=str(tmp_path / "build")) as runner:
        rec = runner.run(w, x)
        params = runner.params
    ref = simulate(w, params, x)
    for k in range(1, 5):
        assert rec.counts(k).sum() > 0, f"layer {k} is silent"
        for a, b in zip(rec.layers[k], ref.layers[k]):
            oa, ob = np.lexsort((a.neuron, a.step)), np.lexsort((b.neuron, b.step))
            np.testing.assert_array_equal(a.step[oa], b.step[ob])
            np.testing.assert_array_equal(a.neuron[oa], b.neuron[ob])
            np.testing.assert_allclose(a.v[oa], b.v[ob], rtol=1e-9, atol=1e-12)
    assert max(check_identity(rec, w, params)) <= 1e-9


def test_the_config_gives_brian2_and_the_engine_the_same_numbers():
    from rsnn_brian.brian.model import from_config
    from rsnn_brian.config import TrainConfig
    cfg = TrainConfig(architecture="20-15-R12-5", model="dual-exponential, alpha, exponential",
                      tau_m="64 ms, 8 ms, 32 ms", tau_r="3 ms", dt="0.5 ms", thresholds=(5.0,))
    configs, dt = from_config(cfg)
    assert [c.to_params(dt) for c in configs] == cfg.layer_params()
    assert configs[0].constants == (("tau_r", 3 * ms),) and configs[2].model is None


@pytest.mark.parametrize("model, consts", [("dual-exponential", {"tau_r": 3 * ms}),
                                           (TWO_DECAY, {}), ("alpha", {})], ids=["dual", "two-decay", "alpha"])
def test_the_propagator_updater_is_brian2s_exact_integration(model, consts):
    """Brian2's symbolic ``method='exact'`` and the expm updater give the same trajectory (with a
    spike, reset and refractoriness) where Brian2 can integrate the model; at equal time constants
    (alpha, tau_m = tau_s) Brian2's exact solution divides by zero, the updater does not."""
    from brian2 import (
        Network,
        NeuronGroup,
        SpikeGeneratorGroup,
        SpikeMonitor,
        StateMonitor,
        Synapses,
        defaultclock,
        prefs,
    )

    from rsnn_brian.brian.model import neuron_kwargs, synapse_on_pre
    tau = dict(tau_m=8 * ms, tau_s=8 * ms) if model == "alpha" else dict(tau_m=20 * ms)
    cfg = NeuronConfig(v_th=0.8, model=model, constants=consts, refractory=3 * ms, **tau)
    traces, spikes = {}, {}
    target, dt = prefs.codegen.target, defaultclock.dt
    prefs.codegen.target, defaultclock.dt = "numpy", 1 * ms
    try:
        for method in ("expm", "exact"):
            kw = neuron_kwargs(cfg)
            if method == "exact":
                kw["method"] = "exact"
            g = NeuronGroup(1, **kw)
            src = SpikeGeneratorGroup(1, [0] * 6, [0, 1, 2, 3, 20, 21] * ms)
            syn = Synapses(src, g, "w : 1", on_pre=synapse_on_pre(cfg))
            syn.connect()
            syn.w = 2.0
            mon, spk = StateMonitor(g, "v", record=0, when="end"), SpikeMonitor(g)
            Network(g, src, syn, mon, spk).run(60 * ms)
            traces[method], spikes[method] = np.asarray(mon.v[0]), np.asarray(spk.t / ms)
    finally:
        prefs.codegen.target, defaultclock.dt = target, dt
    assert len(spikes["expm"]) >= 2                                     # fired, was reset, fired again
    if model == "alpha":
        assert not np.all(np.isfinite(traces["exact"]))
    else:
        np.testing.assert_array_equal(spikes["expm"], spikes["exact"])
        np.testing.assert_allclose(traces["expm"], traces["exact"], rtol=1e-12, atol=1e-14)
