"""Spike trains out: a network's recording to NWB (pynwb) and neo (Elephant), and back.

    from rsnn_brian.export import NetworkRecording, write_nwb, read_nwb, to_neo
    data = NetworkRecording.from_config(recording, cfg, labels=labels)   # or NetworkRecording(rec, "20-15-R12-5")
    write_nwb(data, "rec.nwb")                   # Units per neuron, samples as trials, network in the metadata
    assert read_nwb("rec.nwb").recording == recording
    block = to_neo(data)                         # neo.Block: a Segment per sample, a Group per layer
    data = record_run("runs/demo", samples="0:20")   # a run's test samples with its weights

Modules: :mod:`._common` (:class:`NetworkRecording`, checks), :mod:`.nwb`, :mod:`.neo`,
:mod:`.npz` (a saved recording), :mod:`.record` (a run directory's samples), :mod:`.command`
(``rsnn-brian export``). pynwb, neo and quantities (``pip install rsnn_brian[nwb]``) are imported
only by the functions that need them; a missing one is a one-line ImportError naming the extra.
The layout of the files: docs/export.md.
"""

from ._common import NetworkRecording, layer_names, model_strings
from .neo import read_neo, recording_from_neo, to_neo, write_neo
from .npz import load_recording, save_recording
from .nwb import read_nwb, write_nwb

__all__ = ["NetworkRecording", "write_nwb", "read_nwb", "to_neo", "write_neo", "read_neo", "recording_from_neo",
           "save_recording", "load_recording", "record_run", "layer_names", "model_strings"]


def __getattr__(name: str):
    if name == "record_run":            # imports the training code (pandas, the data sets) on first use
        from .record import record_run
        return record_run
    raise AttributeError(f"module 'rsnn_brian.export' has no attribute {name!r}")
