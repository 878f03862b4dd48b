"""neo objects of a :class:`NetworkRecording`, for Elephant, and a file neo reads back.

:func:`to_neo` builds a ``neo.Block``: one ``Segment`` per sample (``segments[b]``), in it one
``SpikeTrain`` per neuron of every layer (times in seconds, ``t_start``/``t_stop`` the sample's
bounds), and one ``neo.Group`` per layer holding that layer's trains of every sample
(``block.groups``, in layer order). Annotations: the block has the architecture, dt, T, the
Brian2 equations and the config; each segment its ``sample_index``, ``label``, ``prediction``;
each train its ``layer``, ``layer_kind``, ``layer_number``, ``index_in_layer`` (and the membrane
value at each spike as the array annotation ``v``, when recorded); each group the layer's neuron
parameters. Times are on the NWB file's shared timeline (sample b from ``b*T*dt``); with
``align=True`` every sample starts at 0 s instead (for trial-averaged statistics).

:func:`write_neo` writes an NWB file in neo's own NWB layout (one Units row per neuron and
sample, with the ``segment`` and ``block`` columns that ``neo.io.NWBIO`` reads): plain
``neo.io.NWBIO(path, mode="r").read_block()`` gives one Segment per sample with the trains named
``hidden1[3]``; :func:`read_neo` gives the annotated block of :func:`to_neo`. HDF5, no pickle;
neo's NixIO would keep the annotations too, but it writes about 70 trains a second (minutes and
hundreds of MB for a 784-200-R100-10 network and 20 samples).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..spikes import Recording
from ._common import NetworkRecording, model_strings, require, trains_from_events

__all__ = ["to_neo", "write_neo", "read_neo", "recording_from_neo"]


def _quantities():
    require("neo", "neo export")
    return require("quantities", "neo export")


def to_neo(data: NetworkRecording, align: bool = False):
    """A ``neo.Block`` of ``data`` (see the module's docstring); ``align``: every sample from 0 s."""
    if not isinstance(data, NetworkRecording):
        raise TypeError(f"to_neo takes a NetworkRecording, got {type(data).__name__}")
    pq = _quantities()
    import neo
    from neo.core.spiketrainlist import SpikeTrainList
    arch, names, dt, T = data.arch, data.layer_names, data.dt, data.n_steps
    eq = model_strings()
    block = neo.Block(name="rsnn_brian recording", description=data.description or data.summary(),
                      architecture=data.architecture, dt_s=dt, n_steps=T, n_samples=data.n_samples,
                      layers=names, device=data.device, config_toml=data.config_toml,
                      class_names=list(data.class_names), aligned=bool(align), **eq)
    groups = []
    for k, (name, spec) in enumerate(zip(names, arch.layers)):
        ann = dict(layer_kind=spec.kind, layer_number=k, size=spec.size)
        if data.params is not None and k > 0:
            p = data.params[k - 1]
            ann.update(tau_m_s=p.tau_m * dt, tau_s_s=p.tau_s * dt, refractory_s=p.refractory * dt,
                       threshold=float(p.v_th))
        groups.append(neo.Group(name=name, allowed_types=[neo.SpikeTrain], **ann))
    block.groups.extend(groups)
    members = [[] for _ in groups]
    for b in range(data.n_samples):
        offset = 0 if align else b * T
        ann = dict(sample_index=int(data.sample_index[b]), prediction=int(data.predictions[b]),
                   trial_start_s=b * T * dt)
        if data.labels is not None:
            ann["label"] = int(data.labels[b])
            if data.class_names:
                ann["label_name"] = data.class_names[int(data.labels[b])]
        seg = neo.Segment(name=f"trial {b}", index=b, **ann)
        t_start, t_stop = offset * dt * pq.s, (offset + T) * dt * pq.s
        trains = []
        for k, (name, spec) in enumerate(zip(names, arch.layers)):
            tr = data.recording.layers[k][b]
            order = np.lexsort((tr.step, tr.neuron))
            ends = np.cumsum(np.bincount(tr.neuron, minlength=spec.size))
            steps = np.split(tr.step[order], ends[:-1])
            vs = None if tr.v is None else np.split(tr.v[order], ends[:-1])
            for i in range(spec.size):
                st = neo.SpikeTrain((offset + steps[i]) * dt * pq.s, t_stop=t_stop, t_start=t_start,
                                    name=f"{name}[{i}]", layer=name, layer_kind=spec.kind, layer_number=k,
                                    index_in_layer=i, array_annotations=None if vs is None else {"v": vs[i]})
                st.segment = seg
                trains.append(st)
                members[k].append(st)
        # whole lists at once: neo's append checks membership in O(n), quadratic for thousands of trains
        seg.spiketrains = SpikeTrainList(items=trains, parent=seg)
        block.segments.append(seg)
    for group, sts in zip(groups, members):
        group.spiketrains = SpikeTrainList(items=sts)
    block.check_relationships()
    return block


def recording_from_neo(block) -> Recording:
    """The :class:`~rsnn_brian.spikes.Recording` of a block made by :func:`to_neo` (or :func:`read_neo`)."""
    from ..network import parse_architecture
    ann = block.annotations
    try:
        arch, dt, T = parse_architecture(ann["architecture"]), float(ann["dt_s"]), int(ann["n_steps"])
    except KeyError as exc:
        raise ValueError(f"the block was not made by rsnn_brian.export.to_neo (no annotation {exc})") from None
    B = len(block.segments)
    events = [([], [], [], []) for _ in arch.layers]
    for b, seg in enumerate(block.segments):
        for st in seg.spiketrains:
            k, i = int(st.annotations["layer_number"]), int(st.annotations["index_in_layer"])
            steps = np.rint(((st.times - st.t_start).rescale("s").magnitude) / dt).astype(np.int64)
            ev = events[k]
            ev[0].append(np.full(steps.size, b))
            ev[1].append(np.full(steps.size, i))
            ev[2].append(steps)
            ev[3].append(st.array_annotations.get("v"))
    layers = []
    for spec, (s, n, t, v) in zip(arch.layers, events):
        cat = [np.concatenate(x) if x else np.zeros(0, np.int64) for x in (s, n, t)]
        vv = None if not v or any(x is None for x in v) else np.concatenate(v)
        layers.append(trains_from_events(*cat[:3], vv, B, spec.size, T))
    return Recording(layers)


def write_neo(data: NetworkRecording, path, force: bool = False, weights: bool = True) -> Path:
    """An NWB file in neo's layout (one Segment per sample for ``neo.io.NWBIO``); see the module docstring."""
    from .nwb import write_nwb
    require("pynwb", "neo export")
    _quantities()
    return write_nwb(data, path, force=force, weights=weights, layout="trial")


def read_neo(path, align: bool = False):
    """The annotated ``neo.Block`` of a file written by :func:`write_neo` or :func:`rsnn_brian.export.write_nwb`."""
    from .nwb import read_nwb
    require("pynwb", "neo export")
    _quantities()
    return to_neo(read_nwb(path), align=align)
