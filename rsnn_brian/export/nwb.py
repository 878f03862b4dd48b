"""NWB files (pynwb) of a :class:`NetworkRecording`, and back.

One file per export. Units table (``resolution`` = dt), one row per neuron of every layer, inputs
included (``layout = "neuron"``, the default): ``spike_times`` in seconds holds the spikes of all
samples on one shared timeline, sample b's step s at ``(b * T + s) * dt``, so sample b occupies
``[b*T*dt, (b+1)*T*dt)``; the trials table gives those boundaries with each sample's index, label
and prediction. Per-neuron columns: ``layer`` (``input``, ``hidden1``, ``recurrent2``, ...,
``output``), ``layer_number``, ``layer_kind``, ``index_in_layer``, and the neuron parameters
``tau_m``, ``tau_s``, ``refractory`` (seconds) and ``threshold`` (NaN for inputs); ``v_at_spike``
(ragged like ``spike_times``) holds the membrane value at each spike when it was recorded.

``layout = "trial"`` (what :func:`rsnn_brian.export.write_neo` writes) has one row per neuron and
sample instead, with the columns neo's ``NWBIO`` reads as one Segment per sample.

The network goes to the metadata: ``experiment_description`` (architecture and the Brian2
equations, in words), ``notes`` (the config TOML) and the processing module ``network``: table
``model`` (key/value: architecture, dt, T, equations, threshold, reset, config, ...) and,
optionally, table ``synapses`` (one row per synapse: pre/post layer and index, weight). A subject
is required by the NWB inspector's (DANDI's) checks: the file names a subject ``network`` described
as a simulation, sex ``O`` (other) and age ``P0D``, placeholders that state no animal. No devices,
no electrodes.
"""

from __future__ import annotations

import datetime
import json
import uuid
import warnings
from pathlib import Path

import numpy as np

from .. import __version__
from ..network import LayerParams, NetworkWeights, parse_architecture
from ..spikes import Recording
from ._common import NetworkRecording, atomic_output, layer_events, model_strings, require, trains_from_events

__all__ = ["write_nwb", "read_nwb", "LAYOUTS"]

LAYOUTS = ("neuron", "trial")
_MODULE = "network"


def _vd(name: str, description: str, data):
    from hdmf.common import VectorData
    return VectorData(name=name, description=description, data=data)


def _ragged(name: str, description: str, flat, counts):
    """A ragged column (VectorData and its VectorIndex) from flat values and the count per row."""
    from hdmf.common import VectorIndex
    data = _vd(name, description, flat)
    return [data, VectorIndex(name=f"{name}_index", data=np.cumsum(counts).astype(np.int64), target=data)]


def _per_layer(data: NetworkRecording, k: int, layout: str):
    """Layer k's spikes in row order: (steps on the shared timeline, v or None, counts per row)."""
    B, T, size = data.n_samples, data.n_steps, data.arch.layers[k].size
    sample, neuron, step, v = layer_events(data.recording.layers[k])
    if layout == "neuron":
        order = np.lexsort((step, sample, neuron))
        counts = np.bincount(neuron, minlength=size)
    else:
        order = np.lexsort((step, neuron, sample))
        counts = np.bincount(sample * size + neuron, minlength=B * size).reshape(B, size)
    return (sample * T + step)[order], None if v is None else v[order], counts


def _units(data: NetworkRecording, layout: str, block_name: str):
    from pynwb.misc import Units
    arch, names, B, T, dt = data.arch, data.layer_names, data.n_samples, data.n_steps, data.dt
    per = [_per_layer(data, k, layout) for k in range(len(arch.layers))]
    has_v = any(p[1] is not None for p in per)
    sizes = [spec.size for spec in arch.layers]
    params = [None] + list(data.params) if data.params is not None else None
    rows = [(b, k, i) for b in (range(B) if layout == "trial" else [None])
            for k in range(len(sizes)) for i in range(sizes[k])]
    times, vs, counts = [], [], []
    for b in (range(B) if layout == "trial" else [None]):
        for gsteps, v, cnt in per:
            if b is None:
                lo, hi, c = 0, gsteps.size, cnt
            else:
                before = cnt[:b].sum()
                lo, hi, c = before, before + cnt[b].sum(), cnt[b]
            times.append(gsteps[lo:hi] * dt)
            vs.append(v[lo:hi] if v is not None else np.full(hi - lo, np.nan))
            counts.append(c)
    counts = np.concatenate(counts)
    n = len(rows)
    layer_of = np.array([r[1] for r in rows], np.int64)
    index = np.array([r[2] for r in rows], np.int64)
    cols = _ragged("spike_times", "spike times (s): sample b's step s at (b*T + s)*dt", np.concatenate(times),
                   counts)
    if layout == "trial":
        trial = np.array([r[0] for r in rows], np.int64)
        start = trial * T * dt
        obs = np.stack([start, start + T * dt], axis=1)
    else:
        obs = np.tile([0.0, B * T * dt], (n, 1))
    cols += _ragged("obs_intervals", "the simulated time", obs, np.ones(n, np.int64))
    cols += [_vd("layer", "layer name: input, hidden<k>, recurrent<k> or output", np.array(names)[layer_of]),
             _vd("layer_number", "layer position, 0 = inputs", layer_of),
             _vd("layer_kind", "input, hidden, recurrent or output",
                 np.array([s.kind for s in arch.layers])[layer_of]),
             _vd("index_in_layer", "neuron index within its layer", index)]
    if params is not None:
        def column(get):
            return np.array([np.nan if p is None else get(p) for p in params])[layer_of]
        cols += [_vd("tau_m", "membrane time constant (s); NaN: input", column(lambda p: p.tau_m * dt)),
                 _vd("tau_s", "synaptic time constant (s); NaN: input", column(lambda p: p.tau_s * dt)),
                 _vd("refractory", "refractory period (s); NaN: input", column(lambda p: p.refractory * dt)),
                 _vd("threshold", "firing threshold of v (dimensionless); NaN: input", column(lambda p: p.v_th))]
    if has_v:
        cols += _ragged("v_at_spike", "membrane value v at each spike, before the reset (dimensionless); "
                        "NaN where not recorded", np.concatenate(vs), counts)
    if layout == "trial":
        cols += [_vd("trial", "row of the trials table (the sample) this unit's spikes belong to", trial),
                 _vd("_name", "the neo SpikeTrain's name", np.array([f"{names[k]}[{i}]" for _, k, i in rows])),
                 _vd("segment", "the neo Segment (one per sample)", np.array([f"trial {b}" for b, _, _ in rows])),
                 _vd("block", "the neo Block", np.array([block_name] * n))]
    what = ("one row per simulated neuron of every layer (inputs included); spike_times hold all samples on one "
            "timeline, sample b in [b*T*dt, (b+1)*T*dt) (see trials)") if layout == "neuron" else \
        "one row per simulated neuron and sample (trial column); spike times on the trials' shared timeline"
    return Units(name="units", id=np.arange(n), columns=cols, resolution=dt, description=what)


def _trials(data: NetworkRecording):
    from pynwb.epoch import TimeIntervals
    B, span = data.n_samples, data.n_steps * data.dt
    start = np.arange(B) * span
    cols = [_vd("start_time", "sample start (s)", start), _vd("stop_time", "sample end (s)", start + span),
            _vd("sample_index", "index of the sample in its data split", data.sample_index)]
    if data.labels is not None:
        cols.append(_vd("label", "class label", data.labels))
        if data.class_names:
            cols.append(_vd("label_name", "class name", np.array(data.class_names)[data.labels]))
    cols.append(_vd("prediction", "predicted class: the output neuron with most spikes", data.predictions))
    return TimeIntervals(name="trials", description="one trial per simulated sample", id=np.arange(B),
                         columns=cols)


def _model_rows(data: NetworkRecording, layout: str) -> dict[str, str]:
    rows = {"architecture": data.architecture, "layers": json.dumps(data.layer_names), "dt": repr(data.dt),
            "n_steps": str(data.n_steps), "n_samples": str(data.n_samples), "units_layout": layout,
            "params": json.dumps(None if data.params is None else
                                 [[p.v_th, p.tau_m, p.tau_s, p.refractory] for p in data.params]),
            "class_names": json.dumps(list(data.class_names)), "device": data.device,
            "description": data.description, "rsnn_brian_version": __version__,
            "allow_autapses": json.dumps(bool(data.weights is not None and data.weights.allow_autapses)),
            "config_toml": data.config_toml}
    rows.update(model_strings())
    return rows


def _synapses(weights: NetworkWeights):
    from hdmf.common import DynamicTable
    parts = []
    for k, lw in enumerate(weights.layers, start=1):
        post, pre = np.indices(lw.ff.shape).reshape(2, -1)
        parts.append((np.full(post.size, k - 1), pre, np.full(post.size, k), post, lw.ff.ravel(), True))
        if lw.rec is not None:
            post, pre = np.nonzero(lw.rec_mask)
            parts.append((np.full(post.size, k), pre, np.full(post.size, k), post, lw.rec[post, pre],
                          lw.rec_trainable))
    cat = [np.concatenate([p[j] for p in parts]) for j in range(5)]
    trainable = np.concatenate([np.full(p[0].size, p[5]) for p in parts])
    names = ("pre_layer", "pre_index", "post_layer", "post_index")
    cols = [_vd(nm, nm.replace("_", " ") + " (layer 0 = inputs)", c.astype(np.int64)) for nm, c in zip(names, cat)]
    cols += [_vd("weight", "synaptic weight (dimensionless; I_post += w)", cat[4].astype(np.float64)),
             _vd("trainable", "trained by ST-RSBP (False: the fixed lateral inhibition)", trainable)]
    return DynamicTable(name="synapses", description="every synapse: feed-forward (all pairs) and recurrent/"
                        "lateral (existing ones), weight matrices (n_post, n_pre)", id=np.arange(cat[0].size),
                        columns=cols)


def _experiment_description(data: NetworkRecording, eq: dict) -> str:
    sizes = ", ".join(f"{n} {s.size}" for n, s in zip(data.layer_names, data.arch.layers))
    th = "" if data.params is None else "; thresholds per layer " + ", ".join(f"{p.v_th:g}" for p in data.params)
    return (f"Spike trains of the simulated recurrent spiking network {data.architecture} (layers: {sizes}), "
            f"trained with ST-RSBP and simulated by rsnn_brian {__version__}"
            f"{' on device ' + data.device if data.device else ''}, dt = {data.dt * 1e3:g} ms, "
            f"T = {data.n_steps} steps per sample. Neuron model (Brian2, method {eq['method']}): "
            f"{' ; '.join(eq['equations'].splitlines())}; threshold: {eq['threshold']}; reset: {eq['reset']}"
            f"{th}. Synapses: {eq['synapse_model']}, on_pre: {eq['on_pre']}.")


def _write(data: NetworkRecording, path, force: bool, weights: bool, layout: str) -> Path:
    if not isinstance(data, NetworkRecording):
        raise TypeError(f"expected a NetworkRecording (rsnn_brian.export.NetworkRecording(recording, "
                        f"architecture, dt=...)), got {type(data).__name__}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    pynwb = require("pynwb")
    from hdmf.common import DynamicTable
    from pynwb.file import Subject
    path = Path(path)
    eq = model_strings()
    model = _model_rows(data, layout)
    nwb = pynwb.NWBFile(
        session_description=data.description or f"rsnn_brian: spike trains of {data.n_samples} samples "
        f"recorded from a simulated spiking network", identifier=str(uuid.uuid4()),
        session_start_time=data.start_time, experiment_description=_experiment_description(data, eq),
        notes=data.config_toml or "no config: the recording was made outside a training run",
        source_script=f"rsnn_brian {__version__}", source_script_file_name="rsnn_brian/export/nwb.py",
        data_collection="simulated; no recording hardware, no electrodes",
        subject=Subject(subject_id="network", sex="O", age="P0D",
                        description=f"not an animal: the simulated spiking network {data.architecture}; sex "
                        f"and age are placeholders the NWB inspector requires"),
        units=_units(data, layout, "rsnn_brian recording"), trials=_trials(data))
    mod = nwb.create_processing_module(_MODULE, "the simulated network: model (key/value) and synapses")
    mod.add(DynamicTable(name="model", description="the network and model, as text (key/value)",
                         id=np.arange(len(model)), columns=[_vd("key", "name", np.array(list(model))),
                                                            _vd("value", "value", list(model.values()))]))
    if weights and data.weights is not None:
        mod.add(_synapses(data.weights))
    with atomic_output(path, force) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            with pynwb.NWBHDF5IO(tmp, "w") as io:
                io.write(nwb)
    return path


def write_nwb(data: NetworkRecording, path, force: bool = False, weights: bool = True,
              layout: str = "neuron") -> Path:
    """Write ``data`` to an NWB file; ``weights``: include the synapses table (when ``data`` has weights).

    ``layout``: ``"neuron"`` (one Units row per neuron, all samples on one timeline) or
    ``"trial"`` (one row per neuron and sample, neo's layout). Refuses to overwrite without
    ``force``; written to a temporary file first, so a failed write leaves the old file.
    """
    return _write(data, path, force, weights, layout)


# -- reading -----------------------------------------------------------------------------

def _text(x) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


def _column(table, name):
    """(flat values, row ends) of a ragged column, or (values, None)."""
    from hdmf.common import VectorIndex
    col = table[name]
    if isinstance(col, VectorIndex):
        return np.asarray(col.target.data[:]), np.asarray(col.data[:], np.int64)
    return np.asarray(col.data[:]), None


def read_nwb(path) -> NetworkRecording:
    """Read an NWB file written by :func:`write_nwb` (either layout) or :func:`write_neo`."""
    pynwb = require("pynwb")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NWB file {path} does not exist")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(str(path), "r") as io:
            f = io.read()
            if _MODULE not in f.processing or "model" not in f.processing[_MODULE].data_interfaces:
                raise ValueError(f"{path} is not an NWB file written by rsnn_brian (no processing/{_MODULE}/model)")
            tab = f.processing[_MODULE]["model"]
            model = {_text(k): _text(v) for k, v in zip(tab["key"].data[:], tab["value"].data[:])}
            units = f.units
            times, ends = _column(units, "spike_times")
            cols = {c: _column(units, c)[0] for c in ("layer_number", "index_in_layer", "trial")
                    if c in units.colnames}
            v = _column(units, "v_at_spike")[0] if "v_at_spike" in units.colnames else None
            trials = {c: np.asarray(f.trials[c].data[:]) for c in f.trials.colnames}
            syn = None
            if "synapses" in f.processing[_MODULE].data_interfaces:
                st = f.processing[_MODULE]["synapses"]
                syn = {c: np.asarray(st[c].data[:]) for c in st.colnames}
            start_time = f.session_start_time
    arch = parse_architecture(model["architecture"])
    dt, T, B = float(model["dt"]), int(model["n_steps"]), int(model["n_samples"])
    counts = np.diff(np.concatenate([[0], ends]))
    row = np.repeat(np.arange(counts.size), counts)
    gstep = np.rint(times / dt).astype(np.int64)
    sample = cols["trial"][row] if model["units_layout"] == "trial" else gstep // T
    step = gstep - sample * T
    if step.size and (step.min() < 0 or step.max() >= T):
        raise ValueError(f"{path}: spike times outside their sample's [0, T*dt)")
    layer, neuron = cols["layer_number"][row], cols["index_in_layer"][row]
    layers = []
    for k, spec in enumerate(arch.layers):
        sel = layer == k
        vk = None if v is None or np.all(np.isnan(v[sel])) else v[sel]
        layers.append(trains_from_events(sample[sel], neuron[sel], step[sel], vk, B, spec.size, T))
    params = json.loads(model["params"])
    params = None if params is None else tuple(LayerParams(v_th=p[0], tau_m=p[1], tau_s=p[2], refractory=p[3])
                                               for p in params)
    weights = None if syn is None else _weights_from(arch, syn, json.loads(model.get("allow_autapses", "false")))
    return NetworkRecording(Recording(layers), model["architecture"], dt=dt, params=params,
                            labels=trials.get("label"), predictions=trials["prediction"],
                            sample_index=trials["sample_index"], class_names=tuple(json.loads(model["class_names"])),
                            config_toml=model["config_toml"], weights=weights, description=model["description"],
                            device=model["device"],
                            start_time=start_time if isinstance(start_time, datetime.datetime) else None)


def _weights_from(arch, syn: dict, allow_autapses: bool) -> NetworkWeights:
    arrays = {}
    for k, spec in enumerate(arch.layers[1:], start=1):
        into = syn["post_layer"] == k
        ff = into & (syn["pre_layer"] == k - 1)
        w = np.zeros((spec.size, arch.layers[k - 1].size))
        w[syn["post_index"][ff], syn["pre_index"][ff]] = syn["weight"][ff]
        arrays[f"ff{k}"] = w
        if spec.kind in ("recurrent", "output"):
            rec = into & (syn["pre_layer"] == k)
            r, m = np.zeros((spec.size, spec.size)), np.zeros((spec.size, spec.size), bool)
            r[syn["post_index"][rec], syn["pre_index"][rec]] = syn["weight"][rec]
            m[syn["post_index"][rec], syn["pre_index"][rec]] = True
            arrays[f"rec{k}"], arrays[f"mask{k}"] = r, m
    return NetworkWeights.from_arrays(arch, arrays, allow_autapses)
