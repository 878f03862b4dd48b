"""The NumPy gradient engine of ST-RSBP (spec sections 2-4).

Pure NumPy/SciPy: never imports Brian2 or matplotlib. Inputs are
:class:`rsnn_brian.spikes.Recording` batches and
:class:`rsnn_brian.network.NetworkWeights`; weight matrices are (n_post,
n_pre); S-PSPs are (B, n_post, n_pre); counts (B, n).

The neuron's discretisation is a value (:mod:`.neuron`): ``BRIAN2`` (the
default everywhere), ``AUTHORS``, or any :class:`Discretisation`, passed as
``EngineSettings(discretisation=...)`` or to the functions that step neurons.

Main entry points::

    backward(recording, weights, params, labels, settings=EngineSettings(),
             sample_weight=None, tables=None, cache_dir=None, option=None) -> BackwardResult
    check_identity(recording, weights, params, discretisation=BRIAN2) -> list[float]   # spec 2.3
    effect_ratio_table(params, n_steps, ..., cache_dir=None, discretisation=BRIAN2) -> EffectRatioTable
    LinearisedModel(recording, weights, params, labels, ...).loss(weights)   # spec 4.1
"""

from .effect_ratio import EffectRatioTable, effect_ratio_table, load_reference_table, make_table, pre_ratio, self_factor
from .gradients import (
    BackwardResult,
    EngineSettings,
    SilentLayerWarning,
    backward,
    operating_point,
    resolve_tables,
    validate_batch,
)
from .linearised import LinearisedModel
from .loss import LossSettings, augment_label, output_error, predict, targets
from .neuron import AUTHORS, BRIAN2, Discretisation
from .spsp import check_identity, layer_spsps

__all__ = ["Discretisation", "BRIAN2", "AUTHORS", "backward", "BackwardResult", "EngineSettings",
           "SilentLayerWarning", "operating_point", "resolve_tables", "validate_batch", "check_identity",
           "layer_spsps", "EffectRatioTable", "effect_ratio_table", "load_reference_table", "make_table",
           "pre_ratio", "self_factor", "LinearisedModel", "LossSettings", "augment_label", "output_error",
           "predict", "targets"]
