"""Training: the loop that joins data, the Brian2 runner, the ST-RSBP engine and the optimiser.

- :mod:`.api` -- :func:`train` and :func:`evaluate_run`, which return :class:`TrainResult` and
  :class:`EvaluationResult` and never print (messages: the ``rsnn_brian`` logger);
- :mod:`.trainer` -- :class:`Trainer`, one run's state and loop;
- :mod:`.simulators` -- :func:`make_simulator` (Brian2 runner or NumPy reference), its build, evaluation;
- :mod:`.checkpoint` -- checkpoint files (``.npz``, no pickle, atomic);
- :mod:`.rundir` -- the run directory (config.toml, manifest.json, metrics.csv, learning_curve.png).

The data sets (inputs, classes, loaders) are :mod:`rsnn_brian.data.registry`'s; ``load_dataset``
and ``Dataset`` are re-exported here. Importing this package imports neither Brian2 nor matplotlib.
"""

from ..data.registry import Dataset, dataset_names, load_dataset
from .api import EvaluationResult, TrainResult, evaluate_run, train
from .checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from .rundir import RunDir, manifest
from .simulators import _close, build_simulator, evaluate, make_simulator  # noqa: F401  (_close: benchmarks/)
from .trainer import Trainer

__all__ = ["train", "evaluate_run", "TrainResult", "EvaluationResult", "Trainer", "load_dataset",
           "make_simulator", "build_simulator", "evaluate", "Dataset", "dataset_names", "load_checkpoint",
           "save_checkpoint", "CHECKPOINT_FORMAT", "RunDir", "manifest"]
