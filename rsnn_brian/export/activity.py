"""A trained network's activity, from a run directory or from weights: ``rb.record_activity``.

::

    act = rb.record_activity("runs/demo", samples="0:4", neurons={1: range(5), 3: range(10)})
    act = rb.record_activity(weights, inputs=trains, config=rb.load_preset("demo"))
    act.save("activity.npz")

Brian2 runtime mode with StateMonitors of the chosen neurons
(:func:`rsnn_brian.brian.record.record_network_activity`); nothing in the run
directory is written.
"""

from __future__ import annotations

from pathlib import Path

from ..brian.record import VARIABLES, ActivityRecording, record_network_activity
from ..config import TrainConfig
from ..network import NetworkWeights
from ..training.api import open_run
from .record import parse_samples

__all__ = ["record_activity", "ActivityRecording", "initial_weights"]


def initial_weights(cfg: TrainConfig) -> NetworkWeights:
    """The weights a run of ``cfg`` starts from (the trainer draws them from ``default_rng(seed)``)."""
    from ..connectivity import initial_weights
    return initial_weights(cfg.architecture, cfg.seed, recurrent=cfg.recurrent, autapses=cfg.autapses,
                           reservoir_weights=cfg.reservoir_weights)


def _brian_params(cfg: TrainConfig):
    from ..brian.model import from_config
    return from_config(cfg)


def record_activity(source, inputs=None, *, config: TrainConfig | None = None, split: str = "test",
                    samples="0:4", checkpoint=None, neurons=None, variables=VARIABLES,
                    target: str | None = None) -> ActivityRecording:
    """Record spikes of every layer and traces (``v``, ``I``) of chosen neurons in Brian2.

    Parameters
    ----------
    source : a run directory (its weights: ``checkpoint``, default ``latest.npz``, or
        ``"initial"`` for the weights the run started from), or NetworkWeights
    inputs : with weights: the input SpikeTrains (or a 0/1 array (B, T, n_inputs))
    config : with weights: the TrainConfig giving the neurons, T and dt (default: the defaults)
    split, samples : with a run directory: which samples (``"0:4"``, ``"3,7"``) of which split
    neurons : {layer k >= 1: indices} to trace; default 5 per hidden layer and every output
    variables : of ``("v", "I")``
    target : Brian2 codegen target ('cython' default when importable, 'numpy' builds nothing)
    """
    if isinstance(source, NetworkWeights):
        if inputs is None:
            raise ValueError("record_activity(weights, ...) needs inputs= (SpikeTrains, one per sample)")
        cfg = config if config is not None else TrainConfig(architecture=str(source.arch))
        configs, dt = _brian_params(cfg)
        return record_network_activity(source, configs, inputs, cfg.n_steps, dt, neurons, variables, target,
                                       meta={"source": "weights", "architecture": str(source.arch)})
    if inputs is not None or config is not None:
        raise ValueError("record_activity(RUN_DIR): the run gives the inputs and the config; "
                         "pass weights to record other inputs")
    initial = checkpoint == "initial"
    opened = open_run(source, split, None if initial else checkpoint)
    cfg, ds = opened.config, opened.dataset
    weights = initial_weights(cfg) if initial else opened.weights
    idx = parse_samples(samples, len(ds))
    configs, dt = _brian_params(cfg)
    meta = {"source": str(Path(source)), "checkpoint": "initial" if initial else Path(opened.checkpoint).name,
            "epoch": 0 if initial else int(opened.state["epoch"]), "split": split,
            "sample_index": idx.tolist(), "labels": [int(x) for x in ds.labels[idx]],
            "class_names": list(ds.class_names) if ds.class_names else None,
            "architecture": cfg.architecture, "dataset": cfg.dataset,
            "thresholds": list(cfg.thresholds), "tau_m": cfg.tau_m, "n_steps": cfg.n_steps}
    return record_network_activity(weights, configs, ds.inputs(idx, 0), cfg.n_steps, dt, neurons, variables,
                                   target, meta=meta)
