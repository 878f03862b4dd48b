"""The Brian2 model: equations, NeuronConfig units and validation, info."""

import re

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2")
from brian2 import Equations, ms, mV  # noqa: E402

from rsnn_brian.brian import model  # noqa: E402
from rsnn_brian.brian.model import NeuronConfig, configs_for  # noqa: E402
from rsnn_brian.engine.neuron import propagators  # noqa: E402
from rsnn_brian.network import LayerParams  # noqa: E402


def test_defaults_to_params():
    p = NeuronConfig().to_params(1 * ms)
    assert p == LayerParams(v_th=20.0, tau_m=64.0, tau_s=8.0, refractory=2)


def test_to_params_other_dt_and_round_trip():
    cfg = NeuronConfig(tau_m=128 * ms, tau_s=8 * ms, v_th=8, refractory=2 * ms)
    p = cfg.to_params(0.5 * ms)
    assert (p.tau_m, p.tau_s, p.refractory, p.v_th) == (256.0, 16.0, 4, 8.0)
    back = NeuronConfig.from_params(p, 0.5 * ms)
    assert float(back.tau_m) == pytest.approx(float(cfg.tau_m)) and back.refractory_steps(0.5 * ms) == 4


@pytest.mark.parametrize("name", ["tau_m", "tau_s", "refractory"])
def test_time_constant_in_volts_is_refused(name):
    with pytest.raises(ValueError, match=rf"{name} must be a time Quantity"):
        NeuronConfig(**{name: 64 * mV})


def test_plain_number_is_refused():
    with pytest.raises(ValueError, match="tau_m must be a time Quantity such as 64\\*ms"):
        NeuronConfig(tau_m=64)


@pytest.mark.parametrize("kw, msg", [
    (dict(tau_m=0 * ms), "tau_m must be positive"),
    (dict(tau_s=-1 * ms), "tau_s must be positive"),
    (dict(refractory=-1 * ms), "refractory must be >= 0"),
    (dict(tau_m=8 * ms, tau_s=8 * ms), "tau_m and tau_s must differ"),
    (dict(v_th=0.0), "v_th must be a positive"),
    (dict(v_th=20 * mV), "v_th is dimensionless"),
])
def test_bad_values_are_refused(kw, msg):
    with pytest.raises(ValueError, match=msg):
        NeuronConfig(**kw)


def test_refractory_must_be_whole_steps():
    with pytest.raises(ValueError, match="whole number of time steps"):
        NeuronConfig(refractory=1.5 * ms).to_params(1 * ms)
    with pytest.raises(ValueError, match="dt must be a time Quantity"):
        NeuronConfig().to_params(1.0)


def test_per_layer_overrides():
    a, b = NeuronConfig(v_th=20), NeuronConfig(v_th=15)
    assert configs_for(None, 2) == [model.DEFAULTS] * 2
    assert configs_for(a, 3) == [a, a, a]
    assert configs_for([a, a, b], 3)[2].v_th == 15
    with pytest.raises(ValueError, match="one NeuronConfig per layer"):
        configs_for([a, b], 3)
    with pytest.raises(TypeError, match="expected NeuronConfig"):
        configs_for([a, "x"], 2)


def test_equations_have_no_pasted_numbers_and_resolve():
    eqs = Equations(model.EQUATIONS)
    assert set(eqs.diff_eq_names) == {"v", "I"}
    for text in (model.EQUATIONS, model.THRESHOLD):
        body = re.sub(r":\s*1\b", "", text)           # the unit '1' of a dimensionless variable
        assert not re.search(r"\d", body), text
    ns = model.layer_namespace(NeuronConfig())
    assert set(ns) == {"tau_m", "tau_s", "v_th"}


def test_exact_integration_matches_numpy_propagators():
    """One neuron in Brian2 (numpy target, runtime): v and I after k steps."""
    from brian2 import Network, NeuronGroup, StateMonitor, prefs
    old = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        cfg = NeuronConfig(v_th=1e9)
        g = NeuronGroup(1, **model.neuron_kwargs(cfg), dt=1 * ms, name="one_neuron")
        g.I = 1.0
        mon = StateMonitor(g, "v", record=0, dt=1 * ms, name="one_neuron_v")
        Network(g, mon).run(20 * ms)
    finally:
        prefs.codegen.target = old
    a_v, a_vI, a_I = propagators(cfg.to_params(1 * ms))
    v, i, ref = 0.0, 1.0, []
    for _ in range(20):
        ref.append(v)
        v, i = a_v * v + a_vI * i, a_I * i
    np.testing.assert_allclose(mon.v[0], ref, rtol=1e-12, atol=1e-15)


def test_info_collects_and_formats():
    from rsnn_brian.brian.info import collect_info, format_info
    info = collect_info()
    assert info["versions"]["brian2"] == brian2.__version__
    assert set(info["devices"]) == {"runtime", "cpp_standalone", "cuda_standalone"}
    assert "codegen.target" in info["brian2_prefs"]
    text = format_info(info)
    assert "cpp_standalone" in text and "brian2 " + brian2.__version__ in text
