"""Figures from tidy pandas frames (seaborn). Functions take ``ax=None`` and return the axes.

- :mod:`.curves`: learning curves, the authors' per-epoch figures (``plot_learning_curve``,
  ``authors_curve``, ``epochs_trained``, ``plot_seed_curves``, ``plot_conditions``, ``save_figure``, ``source_label``)
- :mod:`.activity`: a network's activity (``plot_raster``, ``plot_output_counts``,
  ``plot_traces``, ``plot_confusion``)
- :mod:`.weights`: weights and rates (``plot_receptive_fields``, ``plot_weight_hist``,
  ``plot_rate_distribution``, ``plot_weight_bands``)

matplotlib and seaborn are imported when a function draws, not on import.
"""

from .activity import plot_confusion, plot_output_counts, plot_raster, plot_traces
from .curves import (
                     AUTHORS_RUNS,
                     authors_curve,
                     epochs_trained,
                     plot_conditions,
                     plot_learning_curve,
                     plot_seed_curves,
                     save_figure,
                     source_label,
)
from .weights import plot_rate_distribution, plot_receptive_fields, plot_weight_bands, plot_weight_hist

__all__ = ["plot_learning_curve", "authors_curve", "epochs_trained", "AUTHORS_RUNS", "plot_seed_curves",
           "plot_conditions", "plot_raster", "plot_output_counts", "plot_traces", "plot_confusion",
           "plot_receptive_fields", "plot_weight_hist", "plot_rate_distribution", "plot_weight_bands", "save_figure",
           "source_label"]
