"""The single neuron of ST-RSBP in Brian2: membrane and current traces, f-I and rate-in-rate-out curves.

Question: how does the paper's neuron (LIF with a first-order synaptic
current, spec section 1; Zhang & Li 2019, section 4 and the settings table of
the supplement) respond at the paper's settings: tau_m = 64 ms with the image
thresholds 20 and 15, tau_m = 128 ms with the speech threshold 5 (tau_s 8 ms,
refractory 2 ms, dt 1 ms)? Three measurements, all in Brian2 with the
package's own equations (rsnn_brian.brian.model):

1. traces: v and I of one neuron driven by N_IN Poisson inputs, with its spikes;
2. f-I: output rate against a clamped synaptic current I (the model's membrane
   equation with dI/dt replaced by a constant), beside the closed form
   interval = tau_m ln(V / (V - v_th)) rounded down to whole steps, plus t_ref,
   V = I tau_m / tau_s (see theory_rate);
3. rate in, rate out: output rate against the rate of each of N_IN Poisson
   inputs of weight W_IN (the model unchanged).

Writes traces.csv, spikes.csv, fi_curve.csv, rate_curve.csv (tidy) in the results folder.
Runtime: full about 20 s (numpy target: 20 s of simulated time per point),
--quick about 5 s (numpy target, 1 s per point).

    python protocols/single_neuron.py --out results/single_neuron
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _protocol import Results, parser

# -- parameters ------------------------------------------------------------------------------
SETTINGS = [  # (name, tau_m in ms, v_th): the paper's images (hidden/reservoir 20, output 15) and speech (5)
    ("tau_m 64 ms, v_th 20", 64.0, 20.0),
    ("tau_m 64 ms, v_th 15", 64.0, 15.0),
    ("tau_m 128 ms, v_th 5", 128.0, 5.0),
]
TAU_S_MS = 8.0                # synaptic time constant, ms
REFRACTORY_MS = 2.0           # refractory period, ms
DT_MS = 1.0                   # time step, ms
N_IN = 20                     # Poisson inputs per neuron
W_IN = 1.0                    # weight of each input (I += W_IN per input spike; dimensionless)
TRACE_RATE_HZ = 30.0          # input rate of the traced neuron, Hz
TRACE_MS = 400.0              # traced duration, ms (one sample of T = 400 steps)
FULL = dict(duration_s=20.0, currents=np.round(np.linspace(0.0, 12.0, 49), 3),
            rates_hz=np.arange(0.0, 101.0, 5.0), target="numpy")
QUICK = dict(duration_s=1.0, currents=np.array([0.0, 1.0, 3.0, 6.0, 12.0]),
             rates_hz=np.array([0.0, 20.0, 60.0]), target="numpy")


def theory_rate(current, tau_m_ms, v_th, tau_s_ms=TAU_S_MS, ref_ms=REFRACTORY_MS, dt_ms=DT_MS):
    """Output rate (Hz) under a clamped current: the first step at which v exceeds v_th, plus t_ref."""
    current = np.asarray(current, float)
    v_inf = current * tau_m_ms / tau_s_ms
    with np.errstate(divide="ignore", invalid="ignore"):
        t_cross = tau_m_ms * np.log(v_inf / (v_inf - v_th))
    # from a reset, v > v_th first floor(t_cross / dt) + 1 steps after integration resumes; Brian2
    # holds v for ref / dt - 1 steps after the spike step (it integrates again at t_spike + ref)
    steps = np.floor(t_cross / dt_ms) + ref_ms / dt_ms
    return np.where(v_inf > v_th, 1000.0 / (steps * dt_ms), 0.0)


def _neuron(n, tau_m_ms, v_th, clamp=False):
    from brian2 import NeuronGroup, ms

    from rsnn_brian.brian.model import EQUATIONS, NeuronConfig, neuron_kwargs
    kw = neuron_kwargs(NeuronConfig(tau_m=tau_m_ms * ms, tau_s=TAU_S_MS * ms, v_th=v_th,
                                    refractory=REFRACTORY_MS * ms))
    if clamp:         # the same membrane equation, the synaptic current held at a constant
        kw["model"] = EQUATIONS.replace("dI/dt = -I/tau_s : 1", "I : 1 (constant)")
        if kw["model"] == EQUATIONS:
            raise SystemExit("single_neuron: rsnn_brian.brian.model.EQUATIONS changed; update the current clamp")
    return NeuronGroup(n, **kw)


def _poisson_drive(group, rates_hz):
    """N_IN Poisson inputs per neuron of ``group``, neuron j at rates_hz[j]."""
    from brian2 import Hz, PoissonGroup, Synapses
    src = PoissonGroup(len(rates_hz) * N_IN, np.repeat(rates_hz, N_IN) * Hz)
    syn = Synapses(src, group, "w : 1", on_pre="I_post += w")
    syn.connect(i=np.arange(len(rates_hz) * N_IN), j=np.repeat(np.arange(len(rates_hz)), N_IN))
    syn.w = W_IN
    return src, syn


def run(mode: dict, seed: int) -> dict:
    import brian2 as b2
    from brian2 import Network, SpikeMonitor, StateMonitor, ms, second
    b2.prefs.codegen.target = mode["target"] or ("cython" if _has_cython() else "numpy")
    b2.defaultclock.dt = DT_MS * ms
    b2.seed(seed)
    traces, spikes, fi, rio = [], [], [], []
    for name, tau_m, v_th in SETTINGS:
        # 1. traces of one driven neuron
        g = _neuron(1, tau_m, v_th)
        src, syn = _poisson_drive(g, np.array([TRACE_RATE_HZ]))
        # recorded after the update, before the threshold test: a spike shows as v > v_th, then v = 0
        st = StateMonitor(g, ["v", "I"], record=0, when="thresholds", order=-1)
        sp = SpikeMonitor(g)
        Network(g, src, syn, st, sp).run(TRACE_MS * ms, namespace={})
        for var in ("v", "I"):
            traces.append(pd.DataFrame({"setting": name, "time_ms": st.t / ms, "variable": var,
                                        "value": getattr(st, var)[0]}))
        spikes.append(pd.DataFrame({"setting": name, "time_ms": sp.t / ms}))
        # 2. f-I with the current clamped, every current in one group
        cur = mode["currents"]
        g = _neuron(len(cur), tau_m, v_th, clamp=True)
        g.I = cur
        sp = SpikeMonitor(g)
        Network(g, sp).run(mode["duration_s"] * second, namespace={})
        counts = np.bincount(sp.i[:], minlength=len(cur))
        fi.append(pd.DataFrame({"setting": name, "current": cur, "rate_hz": counts / mode["duration_s"],
                                "source": "Brian2"}))
        fi.append(pd.DataFrame({"setting": name, "current": cur, "rate_hz": theory_rate(cur, tau_m, v_th),
                                "source": "closed form"}))
        # 3. rate in, rate out
        rates = mode["rates_hz"]
        g = _neuron(len(rates), tau_m, v_th)
        src, syn = _poisson_drive(g, rates)
        sp = SpikeMonitor(g)
        Network(g, src, syn, sp).run(mode["duration_s"] * second, namespace={})
        counts = np.bincount(sp.i[:], minlength=len(rates))
        rio.append(pd.DataFrame({"setting": name, "input_rate_hz": rates, "output_rate_hz": counts / mode["duration_s"],
                                 "mean_current": rates * N_IN * W_IN * TAU_S_MS / 1000.0}))
    return {"traces": pd.concat(traces, ignore_index=True), "spikes": pd.concat(spikes, ignore_index=True),
            "fi_curve": pd.concat(fi, ignore_index=True), "rate_curve": pd.concat(rio, ignore_index=True)}


def _has_cython() -> bool:
    import importlib.util
    return importlib.util.find_spec("Cython") is not None


def main(argv=None):
    args = parser(__doc__, "results/single_neuron").parse_args(argv)
    mode = QUICK if args.quick else FULL
    params = {"settings": [s[0] for s in SETTINGS], "tau_s_ms": TAU_S_MS, "refractory_ms": REFRACTORY_MS,
              "dt_ms": DT_MS, "n_in": N_IN, "w_in": W_IN, "trace_rate_hz": TRACE_RATE_HZ, "trace_ms": TRACE_MS,
              "duration_s": mode["duration_s"], "currents": mode["currents"].tolist(),
              "rates_hz": mode["rates_hz"].tolist()}
    res = Results(args.out, "single_neuron", params, args.seeds[:1], args.quick, args.overwrite)
    tables = run(mode, args.seeds[0])
    for name, frame in tables.items():
        res.csv(name, frame)
    rr = tables["rate_curve"]
    for name, *_ in SETTINGS:
        r = rr[rr.setting == name]
        print(f"{name}: output {r.output_rate_hz.iloc[-1]:.1f} Hz at {r.input_rate_hz.iloc[-1]:.0f} Hz in")
    return res.finish()


if __name__ == "__main__":
    main()
