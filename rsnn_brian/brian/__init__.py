"""The Brian2 wing: model equations, runners for runtime / cpp_standalone / cuda_standalone.

Importing this subpackage imports Brian2; :mod:`rsnn_brian` itself does not.
"""

from .model import EQUATIONS, NeuronConfig
from .runner import DEVICES, Runner

__all__ = ["EQUATIONS", "NeuronConfig", "Runner", "DEVICES"]
