"""rsnn_brian: deep recurrent spiking networks in Brian2, trained with ST-RSBP.

Importing the package does not import Brian2; the Brian2 wing lives in
:mod:`rsnn_brian.brian` and is imported on demand.
"""

__version__ = "0.1.0"
