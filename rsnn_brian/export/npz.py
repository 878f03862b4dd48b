"""A saved recording: one ``.npz`` (no pickle) that :func:`load_recording` reads back whole.

Record once (``rsnn-brian export RUN_DIR --format npz``), export to NWB or neo later without
simulating again. Format 1: per layer k the flat arrays ``layer{k}/sample``, ``layer{k}/neuron``,
``layer{k}/step`` (and ``layer{k}/v`` when recorded), the per-sample arrays ``labels``,
``predictions``, ``sample_index``, the weights as ``w/<name>`` (``NetworkWeights.to_arrays()``),
and ``meta``, a JSON string with everything else.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np

from .._io import load_npz_with_meta
from ..network import LayerParams, NetworkWeights, parse_architecture
from ..spikes import Recording
from ._common import NetworkRecording, atomic_output, layer_events, trains_from_events

__all__ = ["save_recording", "load_recording", "RECORDING_FORMAT"]

RECORDING_FORMAT = 1
_KIND = "rsnn_brian.recording"


def save_recording(data: NetworkRecording, path, force: bool = False) -> Path:
    """Write ``data`` to ``path`` (an ``.npz``); refuses to overwrite without ``force``."""
    if not isinstance(data, NetworkRecording):
        raise TypeError(f"save_recording takes a NetworkRecording, got {type(data).__name__}")
    arrays = {}
    for k, lay in enumerate(data.recording.layers):
        sample, neuron, step, v = layer_events(lay)
        arrays.update({f"layer{k}/sample": sample, f"layer{k}/neuron": neuron, f"layer{k}/step": step})
        if v is not None:
            arrays[f"layer{k}/v"] = v
    for name in ("predictions", "sample_index"):
        arrays[name] = getattr(data, name)
    if data.labels is not None:
        arrays["labels"] = data.labels
    if data.weights is not None:
        arrays.update({f"w/{k}": v for k, v in data.weights.to_arrays().items()})
    meta = dict(format=RECORDING_FORMAT, kind=_KIND, architecture=data.architecture, dt=data.dt,
                n_steps=data.n_steps, n_samples=data.n_samples,
                params=None if data.params is None else
                [[p.v_th, p.tau_m, p.tau_s, p.refractory] for p in data.params],
                class_names=list(data.class_names), config_toml=data.config_toml,
                description=data.description, device=data.device, start_time=data.start_time.isoformat(),
                allow_autapses=bool(data.weights is not None and data.weights.allow_autapses))
    arrays["meta"] = np.array(json.dumps(meta))
    path = Path(path)
    with atomic_output(path, force) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return path


def load_recording(path) -> NetworkRecording:
    """Read a file written by :func:`save_recording`. Never unpickles."""
    path = Path(path)
    data, meta = load_npz_with_meta(path, "recording")
    if meta.get("kind") != _KIND or meta.get("format") != RECORDING_FORMAT:
        raise ValueError(f"{path} is not a saved rsnn_brian recording of format {RECORDING_FORMAT} "
                         f"(kind {meta.get('kind')!r}, format {meta.get('format')!r})")
    arch = parse_architecture(meta["architecture"])
    B, T = int(meta["n_samples"]), int(meta["n_steps"])
    layers = [trains_from_events(data[f"layer{k}/sample"], data[f"layer{k}/neuron"], data[f"layer{k}/step"],
                                 data.get(f"layer{k}/v"), B, spec.size, T) for k, spec in enumerate(arch.layers)]
    weights_arrays = {k[2:]: v for k, v in data.items() if k.startswith("w/")}
    weights = NetworkWeights.from_arrays(arch, weights_arrays, bool(meta.get("allow_autapses"))) \
        if weights_arrays else None
    params = None if meta["params"] is None else tuple(
        LayerParams(v_th=p[0], tau_m=p[1], tau_s=p[2], refractory=p[3]) for p in meta["params"])
    return NetworkRecording(Recording(layers), meta["architecture"], dt=meta["dt"], params=params,
                            labels=data.get("labels"), predictions=data["predictions"],
                            sample_index=data["sample_index"], class_names=tuple(meta["class_names"]),
                            config_toml=meta["config_toml"], weights=weights, description=meta["description"],
                            device=meta["device"], start_time=datetime.datetime.fromisoformat(meta["start_time"]))
