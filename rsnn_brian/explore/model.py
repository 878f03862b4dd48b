"""The explorer's views as data: parameters in, tidy frames out; no Panel, no plotting.

Every view runs the trainer's own model and engine, none has a second copy of the dynamics:

- :func:`neuron_trace` and :func:`rate_curve`: one neuron (or one per input rate) built as
  the trainer builds a layer (``NeuronGroup(**neuron_kwargs(cfg))``, ``Synapses(SYNAPSE_MODEL,
  on_pre=ON_PRE)`` from :mod:`rsnn_brian.brian.model`), simulated by Brian2 with the numpy
  target (nothing is compiled when a setting changes), inside ``brian_globals()`` so that the
  trainer's Brian2 preferences are left as they were;
- :func:`psp_kernel`: the engine's kernel (:meth:`rsnn_brian.engine.neuron.Discretisation.psp_kernel`);
- :func:`network_activity`: a small recurrent network run by the trainer's
  :class:`~rsnn_brian.brian.runner.Runner` (device ``runtime``), its spike counts against the
  total PSP ``a_i = sum_j w_ij e_ij`` from the engine's S-PSPs (spec 2.3: ``o_i ~ a_i / v_th``);
- :func:`effect_ratio_curves`: the engine's effect-ratio table
  (:func:`~rsnn_brian.engine.effect_ratio.make_table`), small and cached in memory.

Inputs are Bernoulli trains, one draw per 1 ms step with probability ``rate * dt`` (the
trainer's rate code); the rate curve uses the same uniform draws at every rate (common random
numbers), so its points differ only by the rate.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..connectivity import reservoir_probabilities
from ..network import LATERAL_WEIGHT, LayerParams, LayerWeights, NetworkWeights, parse_architecture
from .params import DT_MS, ExploreParams

__all__ = ["NeuronTrace", "NetworkActivity", "neuron_trace", "rate_curve", "psp_kernel", "psp_peak_ms",
           "network_activity", "recurrent_mask", "network_weights", "identity_line", "effect_ratio_curves",
           "BRIAN_LOCK", "N_OUTPUTS"]

#: Brian2's globals are process-wide: one simulation at a time (the server may serve several pages).
BRIAN_LOCK = threading.RLock()
#: Output neurons of the explorer's network (the trainer's ten classes).
N_OUTPUTS = 10


@dataclass(frozen=True)
class NeuronTrace:
    """One neuron under Poisson input.

    trace : columns t_ms, v, I (the state at the start of every step, Brian2's StateMonitor)
    spikes_ms : the neuron's spike times
    n_input_spikes : spikes of all its inputs together
    """

    trace: pd.DataFrame
    spikes_ms: np.ndarray
    n_input_spikes: int
    duration_ms: float

    @property
    def n_spikes(self) -> int:
        return int(self.spikes_ms.size)

    @property
    def rate_hz(self) -> float:
        return 1e3 * self.n_spikes / self.duration_ms


@dataclass(frozen=True)
class NetworkActivity:
    """The explorer's small network on one Poisson sample.

    raster : columns layer, neuron, t_ms, row (input, recurrent and output stacked)
    identity : columns layer, neuron, count, total_psp, psp_per_threshold (spec 2.3)
    counts : {layer name: spikes}; rates_hz : {layer name: mean rate per neuron}
    density : connected fraction of the recurrent layer's pairs; n_inhibitory : its inhibitory neurons
    identity_error : largest relative difference of ``a_i`` and the summed membrane values at
        i's spikes (Brian2's own, recorded before the reset); ~1e-12 when all is well
    """

    raster: pd.DataFrame
    identity: pd.DataFrame
    counts: dict
    rates_hz: dict
    layer_sizes: dict
    density: float
    n_inhibitory: int
    identity_error: float


# ---------------------------------------------------------------------------
# one neuron, Brian2 numpy target

def _uniforms(seed: int, n_steps: int, n_inputs: int) -> np.ndarray:
    """The uniform draws behind every input train of a seed, shape (n_steps, n_inputs)."""
    return np.random.default_rng([seed, 1]).random((n_steps, n_inputs))


def _simulate_neurons(p: ExploreParams, rasters: list[np.ndarray], record: int | None):
    """Neuron k gets inputs ``rasters[k]`` ((T, N) bool), every synapse of weight ``p.weight``.

    The neurons are independent (one Brian2 run for all of them). Returns (spike counts (M,),
    spike times of neuron ``record`` in ms (neuron 0 if None), its v and I trace or None).
    """
    shown = 0 if record is None else int(record)
    from brian2 import Clock, Network, NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses, ms, prefs

    from ..brian._brian_private import brian_globals, use_runtime_device
    from ..brian.model import ON_PRE, SYNAPSE_MODEL, neuron_kwargs
    n_groups, n_in = len(rasters), p.n_inputs
    hits = [np.nonzero(r) for r in rasters]
    in_steps = np.concatenate([h[0] for h in hits])
    in_index = np.concatenate([k * n_in + h[1] for k, h in enumerate(hits)])
    cfg = p.neuron_config()
    with BRIAN_LOCK, brian_globals():
        use_runtime_device()
        prefs.codegen.target = "numpy"
        prefs.core.default_float_dtype = np.float64
        step = DT_MS * ms
        clock = Clock(dt=step)
        group = NeuronGroup(n_groups, clock=clock, **neuron_kwargs(cfg))
        source = SpikeGeneratorGroup(n_groups * n_in, in_index, in_steps * step, clock=clock)
        syn = Synapses(source, group, SYNAPSE_MODEL, on_pre=ON_PRE, clock=clock, namespace={})
        syn.connect(i=np.arange(n_groups * n_in), j=np.arange(n_groups * n_in) // n_in)
        syn.w_[:] = np.full(n_groups * n_in, float(p.weight))
        mon = SpikeMonitor(group)
        objs = [group, source, syn, mon]
        state = StateMonitor(group, ["v", "I"], record=[shown], clock=clock) if record is not None else None
        if state is not None:
            objs.append(state)
        Network(*objs).run(p.n_steps * step, namespace={})
        counts = np.asarray(mon.count[:], dtype=np.int64).copy()
        first = np.sort(np.asarray(mon.t_[:])[np.asarray(mon.i[:]) == shown] * 1e3)
        trace = None
        if state is not None:
            trace = pd.DataFrame({"t_ms": np.asarray(state.t_[:]) * 1e3, "v": np.asarray(state.v[0]).copy(),
                                  "I": np.asarray(state.I[0]).copy()})
    return counts, first, trace


def neuron_trace(p: ExploreParams) -> NeuronTrace:
    """Membrane potential and synaptic current of one neuron under ``n_inputs`` Poisson trains."""
    p = p.check()
    raster = _uniforms(p.seed, p.n_steps, p.n_inputs) < p.rate_hz * DT_MS * 1e-3
    _, spikes, trace = _simulate_neurons(p, [raster], record=0)
    return NeuronTrace(trace, spikes, int(raster.sum()), p.n_steps * DT_MS)


def rate_curve(p: ExploreParams, n_points: int = 11) -> pd.DataFrame:
    """Output rate against input rate (per input), the chosen rate included.

    Rates from 0 to ``max(2 rate, 10 Hz)`` (at most 1000 Hz), one neuron each, all in one
    Brian2 run, on the same uniform draws. Columns: input_rate_hz, output_rate_hz, n_spikes,
    chosen (the row of ``p.rate_hz``).
    """
    return _neurons(p, n_points, record=False)[1]


def neuron_and_rate(p: ExploreParams, n_points: int = 11) -> tuple[NeuronTrace, pd.DataFrame]:
    """:func:`neuron_trace` and :func:`rate_curve` from one Brian2 run (what the page shows on a change).

    The neuron of the chosen rate in the rate curve's run gets the same input trains as
    :func:`neuron_trace`'s neuron, and the neurons are independent: the trace is the same.
    """
    return _neurons(p, n_points, record=True)


def _neurons(p: ExploreParams, n_points: int, record: bool):
    p = p.check()
    top = min(max(2.0 * p.rate_hz, 10.0), 1e3 / DT_MS)
    rates = np.unique(np.append(np.linspace(0.0, top, n_points), p.rate_hz))
    u = _uniforms(p.seed, p.n_steps, p.n_inputs)
    rasters = [u < r * DT_MS * 1e-3 for r in rates]
    chosen = int(np.flatnonzero(rates == p.rate_hz)[0])
    counts, spikes, trace = _simulate_neurons(p, rasters, record=chosen if record else None)
    curve = pd.DataFrame({"input_rate_hz": rates, "output_rate_hz": 1e3 * counts / (p.n_steps * DT_MS),
                          "n_spikes": counts, "chosen": rates == p.rate_hz})
    neuron = NeuronTrace(trace, spikes, int(rasters[chosen].sum()), p.n_steps * DT_MS) if record else None
    return neuron, curve


# ---------------------------------------------------------------------------
# the PSP kernel, the engine's

def psp_peak_ms(tau_m_ms: float, tau_s_ms: float) -> float:
    """Time of the continuous kernel's peak: ``tau_m tau_s ln(tau_m / tau_s) / (tau_m - tau_s)``."""
    return tau_m_ms * tau_s_ms * math.log(tau_m_ms / tau_s_ms) / (tau_m_ms - tau_s_ms)


def psp_kernel(p: ExploreParams) -> pd.DataFrame:
    """Response of v (and I) to one input spike of weight 1 at t = 0, over 5 tau_m (at least 50 ms).

    ``v`` is the engine's kernel ``h`` in Brian2's discretisation (``h[0] = 0``: a spike moves
    v from the next step on); ``I`` decays as ``exp(-t / tau_s)``. Columns: t_ms, v, I.
    """
    from ..engine.neuron import BRIAN2
    p = p.check()
    lp = p.layer_params()
    n = int(min(max(5 * lp.tau_m, 50), 5000))
    h = BRIAN2.psp_kernel(lp, n)
    a_I = BRIAN2.propagators(lp)[2]
    return pd.DataFrame({"t_ms": np.arange(n) * DT_MS, "v": h, "I": a_I ** np.arange(n)})


# ---------------------------------------------------------------------------
# a small recurrent network, the trainer's Runner

def recurrent_mask(n: int, density: float, inhibitory: float, rng: np.random.Generator):
    """The authors' reservoir wiring at another density and inhibitory fraction.

    Neurons on the 3-D grid of :func:`rsnn_brian.connectivity.grid_shape`, a fraction
    ``inhibitory`` of them inhibitory, a synapse a -> b with probability proportional to
    ``c(type) exp(-D(a, b)^2 / lambda^2)`` (:data:`~rsnn_brian.connectivity.RESERVOIR_C`,
    :data:`~rsnn_brian.connectivity.RESERVOIR_LAMBDA`), scaled so that ``density`` of all
    pairs are connected on average (probabilities capped at 1); no self-connections.

    Returns ``mask`` (n_post, n_pre) bool and ``inhibitory`` (n,) bool.
    """
    prob, inh = reservoir_probabilities(n, inhibitory, rng)
    np.fill_diagonal(prob, 0.0)
    prob = np.minimum(prob * (density * n * (n - 1) / prob.sum()), 1.0)
    return rng.random((n, n)) < prob, inh


def network_weights(p: ExploreParams, rng: np.random.Generator):
    """Weights of ``n_inputs-R{n_recurrent}-10``: U(0, 2 weight), signed by the presynaptic neuron's type.

    The output layer has the trainer's fixed lateral inhibition. Returns (weights, inhibitory).
    """
    n, w = p.n_recurrent, p.weight
    arch = parse_architecture(f"{p.n_inputs}-R{n}-{N_OUTPUTS}")
    mask, inh = recurrent_mask(n, p.density, p.inhibitory, rng)
    sign = np.where(inh, -1.0, 1.0)
    ff1 = rng.uniform(0.0, 2 * w, (n, p.n_inputs))
    rec = np.where(mask, rng.uniform(0.0, 2 * w, (n, n)) * sign[None, :], 0.0)
    ff2 = rng.uniform(0.0, 2 * w, (N_OUTPUTS, n)) * sign[None, :]
    lateral = ~np.eye(N_OUTPUTS, dtype=bool)
    layers = [LayerWeights(ff1, rec, mask, True), LayerWeights(ff2, np.where(lateral, LATERAL_WEIGHT, 0.0), lateral)]
    return NetworkWeights(arch, layers), inh


def network_activity(p: ExploreParams) -> NetworkActivity:
    """Simulate the explorer's network in Brian2 (the trainer's Runner, device 'runtime') on one sample."""
    from ..brian.runner import Runner
    from ..engine.spsp import layer_spsps
    p = p.check()
    rng = np.random.default_rng([p.seed, 2])
    weights, inh = network_weights(p, rng)
    x = (_uniforms(p.seed, p.n_steps, p.n_inputs) < p.rate_hz * DT_MS * 1e-3).astype(np.float64)
    with BRIAN_LOCK, Runner(weights.arch, p.neuron_config(), device="runtime", n_steps=p.n_steps,
                            samples_per_run=1) as runner:
        rec = runner.run(weights, x[None])
        params = runner.params
    e_ff, e_rec = layer_spsps(rec, weights, params)
    names = ["input", f"R{p.n_recurrent}", "output"]
    frames, ident, row0, worst = [], [], 0, 0.0
    for k, name in enumerate(names):
        tr = rec.layers[k][0]
        frames.append(pd.DataFrame({"layer": name, "neuron": tr.neuron, "t_ms": tr.step * DT_MS,
                                    "row": tr.neuron + row0}))
        row0 += tr.n_neurons
        if k == 0:
            continue
        lw = weights.layers[k - 1]
        a = np.einsum("ij,ij->i", e_ff[k][0], lw.ff) + np.einsum("ij,ij->i", e_rec[k][0], lw.rec)
        count = tr.counts()
        vsum = np.bincount(tr.neuron, weights=tr.v, minlength=tr.n_neurons)
        fired = count > 0
        if fired.any():
            worst = max(worst, float(np.max(np.abs(a[fired] - vsum[fired]) / np.abs(vsum[fired]))))
        ident.append(pd.DataFrame({"layer": name, "neuron": np.arange(tr.n_neurons), "count": count,
                                   "total_psp": a, "psp_per_threshold": a / p.v_th}))
    sizes = {name: rec.layers[k][0].n_neurons for k, name in enumerate(names)}
    counts = {name: int(rec.layers[k][0].n_spikes) for k, name in enumerate(names)}
    rates = {name: 1e3 * counts[name] / (sizes[name] * p.n_steps * DT_MS) for name in names}
    n = p.n_recurrent
    return NetworkActivity(pd.concat(frames, ignore_index=True), pd.concat(ident, ignore_index=True), counts, rates,
                           sizes, float(weights.layers[0].rec_mask.sum()) / (n * (n - 1)), int(inh.sum()), worst)


def identity_line(identity: pd.DataFrame) -> pd.DataFrame:
    """The line count = total PSP / v_th over the data's range (columns x, y)."""
    hi = 1.0
    if len(identity):
        hi = max(hi, float(identity["psp_per_threshold"].max()), float(identity["count"].max()))
    return pd.DataFrame({"x": [0.0, 1.05 * hi], "y": [0.0, 1.05 * hi]})


# ---------------------------------------------------------------------------
# effect ratios, the engine's tables

@functools.lru_cache(maxsize=64)
def _table(tau_m: float, tau_s: float, refractory: int, n_steps: int, n_max: int, n_samples: int, seed: int):
    from ..engine.effect_ratio import make_table
    lp = LayerParams(v_th=1.0, tau_m=tau_m, tau_s=tau_s, refractory=refractory)
    return make_table(lp, n_steps, n_max, (1, n_max), n_samples, seed)


def effect_ratio_curves(p: ExploreParams, n_pre=(1, 5, 10, 20), n_post_max: int = 30,
                        n_samples: int = 200) -> pd.DataFrame:
    """Effect ratios for the chosen neuron and T, from a small table of the engine's.

    The table (:func:`~rsnn_brian.engine.effect_ratio.make_table`, fitted over n_post =
    1..``n_post_max`` with ``n_samples`` random trains per count; cached in memory) gives the
    mean S-PSP ``E(n_pre, n_post)``; the pre ratio is ``R = E / n_pre`` (spec 4: ``e_ij / o_j``)
    and the post derivative ``Q = dE / dn_post``. Columns: n_pre, n_post, mean_spsp, ratio, q.
    """
    p = p.check()
    lp = p.layer_params()
    n_max = max(int(n_post_max), max(n_pre))
    table = _table(lp.tau_m, lp.tau_s, lp.refractory, p.n_steps, n_max, int(n_samples), p.seed)
    x = np.arange(1, n_post_max + 1, dtype=np.float64)
    x = x[x <= (p.n_steps + lp.refractory - 1) // max(lp.refractory, 1)]
    rows = []
    for m in n_pre:
        if m > table.n_pre_max:
            continue
        e = table.value(m, x)
        rows.append(pd.DataFrame({"n_pre": m, "n_post": x.astype(int), "mean_spsp": e, "ratio": e / m,
                                  "q": table.derivative(m, x)}))
    return pd.concat(rows, ignore_index=True)
