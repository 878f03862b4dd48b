"""Explore neuron and network parameters in the browser: a local Panel app on the trainer's own model.

- :mod:`.params` -- :class:`ExploreParams`, the explorer's settings: checked, turned into the
  Brian2 :class:`~rsnn_brian.brian.model.NeuronConfig`, the engine's
  :class:`~rsnn_brian.network.LayerParams` and a ``rsnn-brian train --config`` TOML snippet;
  the paper's presets;
- :mod:`.model` -- the views' data, pure functions (parameters in, tidy frames out): one neuron's
  membrane and current under Poisson input and its rate-in/rate-out curve (a Brian2 NeuronGroup
  from :func:`~rsnn_brian.brian.model.neuron_kwargs`), the PSP kernel (the engine's), a small
  recurrent network (the trainer's :class:`~rsnn_brian.brian.runner.Runner`) with its counts
  against total PSP, and the effect-ratio curves (:func:`~rsnn_brian.engine.effect_ratio.make_table`);
- :mod:`.run` -- the same for a run directory: learning curves beside the authors', weight
  histograms, receptive fields, one test sample through every layer;
- :mod:`.plots` and :mod:`.layout` -- the Bokeh figures and the Panel page (:func:`app`);
- :mod:`.command` -- ``rsnn-brian explore [RUN_DIR]``.

Importing this package imports neither Panel nor Brian2 (the command line stays instant);
:func:`app` imports Panel.
"""

from __future__ import annotations

__all__ = ["app"]


def app(run_dir=None):
    """The explorer as a Panel layout (show it in a notebook after ``pn.extension()``).

    Parameters
    ----------
    run_dir : a run directory written by ``rsnn-brian train`` to open at once, or None.
    """
    from .layout import app as _app
    return _app(run_dir)
