"""rsnn_brian: deep recurrent spiking networks in Brian2, trained with ST-RSBP.

The public face, one import::

    import rsnn_brian as rb
    arch = rb.parse_architecture("784-400-R400-10")
    weights = rb.init_weights(arch, np.random.default_rng(0))
    with rb.Runner(arch, rb.NeuronConfig(), device="runtime", n_steps=400) as runner:
        rec = runner.run(weights, inputs)            # Brian2 -> rb.Recording
    grads = rb.backward(rec, weights, runner.params, labels).grads

Names are loaded on first use (PEP 562), so ``import rsnn_brian`` imports
neither Brian2 nor matplotlib; ``rb.Runner`` and ``rb.NeuronConfig`` import
Brian2 when first touched.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS = {
    # ground: spike trains, networks, settings
    "SpikeTrains": "rsnn_brian.spikes", "Recording": "rsnn_brian.spikes",
    "Architecture": "rsnn_brian.network", "parse_architecture": "rsnn_brian.network",
    "NetworkWeights": "rsnn_brian.network", "LayerParams": "rsnn_brian.network",
    "init_weights": "rsnn_brian.connectivity",
    "TrainConfig": "rsnn_brian.config", "load_preset": "rsnn_brian.config", "load_config": "rsnn_brian.config",
    "preset_names": "rsnn_brian.config",
    # the engine and the reference simulator
    "backward": "rsnn_brian.engine", "EngineSettings": "rsnn_brian.engine",
    "check_identity": "rsnn_brian.engine", "simulate": "rsnn_brian.reference",
    # the Brian2 wing
    "Runner": "rsnn_brian.brian.runner", "NeuronConfig": "rsnn_brian.brian.model",
    # data
    "load_builtin": "rsnn_brian.data.images", "load_images": "rsnn_brian.data.images",
    "RateEncoder": "rsnn_brian.data.encoders", "EncoderSettings": "rsnn_brian.data.encoders",
    # training
    "train": "rsnn_brian.training", "evaluate_run": "rsnn_brian.training",
    "TrainResult": "rsnn_brian.training", "EvaluationResult": "rsnn_brian.training",
    # a trained network's activity (Brian2 runtime mode, spike and state monitors)
    "record_activity": "rsnn_brian.export.activity", "ActivityRecording": "rsnn_brian.brian.record",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'rsnn_brian' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
