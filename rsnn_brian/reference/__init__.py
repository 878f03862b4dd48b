"""The independent NumPy reference: a step-for-step simulator and the gradient checker.

Used by the tests, by ``rsnn-brian gradcheck`` and by ``--device numpy``.
The Brian2 wing (:mod:`rsnn_brian.brian`) never imports this subpackage.
"""

from .simulate import simulate

__all__ = ["simulate"]
