"""The neuron model's default parameters, written once.

The paper's image settings (docs/algorithm.md section 1 and the table in
section 6): tau_m = 64 ms (128 ms for speech), tau_s = 8 ms, threshold 20
(5 to 20 per layer), refractory period 2 ms, dt = 1 ms, T = 400 steps. The
config (:class:`rsnn_brian.config.TrainConfig`), the engine's
:class:`rsnn_brian.network.LayerParams` (in steps) and the Brian2 wing's
:class:`rsnn_brian.brian.model.NeuronConfig` (quantities) all take their
defaults from here.
"""

NEURON_DEFAULTS = {"tau_m": "64 ms", "tau_s": "8 ms", "refractory": "2 ms", "dt": "1 ms", "v_th": 20.0}
#: Steps per sample.
N_STEPS = 400
