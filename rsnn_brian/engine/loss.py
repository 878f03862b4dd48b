"""Loss and output error (spec 3).

Desired counts: ``target_true`` (35) for the label neuron, ``target_false``
(5) for the others; error ``o_c - y_c`` where ``|o_c - y_c| > margin`` (5),
else 0; loss ``0.5 * w_b * sum_c (masked error)**2`` with ``w_b`` the
per-sample (boosting) weight. Prediction: argmax count, ties to the lowest
index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..spikes import SpikeTrains

__all__ = ["LossSettings", "targets", "output_error", "predict", "augment_label"]


@dataclass(frozen=True)
class LossSettings:
    """Spec 3 defaults (authors' code): 35 / 5 desired spikes, margin 5."""

    target_true: float = 35.0
    target_false: float = 5.0
    margin: float = 5.0
    #: artificial spikes into a silent label neuron, every n_steps // n_artificial steps
    n_artificial: int = 35


def targets(labels: np.ndarray, n_classes: int, settings: LossSettings = LossSettings()) -> np.ndarray:
    """Desired counts, shape (B, n_classes)."""
    y = np.full((len(labels), n_classes), settings.target_false)
    y[np.arange(len(labels)), labels] = settings.target_true
    return y


def output_error(counts: np.ndarray, labels: np.ndarray, settings: LossSettings = LossSettings(),
                 sample_weight: np.ndarray | None = None):
    """Masked output error and loss.

    counts (B, n_classes) real output counts; labels (B,) ints.
    Returns ``(g, loss, mask)``: g = dL/do (B, n_classes) already multiplied
    by the sample weight, loss (B,), mask (B, n_classes) bool.
    """
    counts = np.asarray(counts, dtype=np.float64)
    diff = counts - targets(labels, counts.shape[1], settings)
    mask = np.abs(diff) > settings.margin
    w = np.ones(len(counts)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    g = np.where(mask, diff, 0.0) * w[:, None]
    loss = 0.5 * w * np.sum(np.where(mask, diff, 0.0) ** 2, axis=1)
    return g, loss, mask


def predict(counts: np.ndarray) -> np.ndarray:
    """Predicted class per sample: most spikes, ties to the lowest index. (B,)"""
    return np.argmax(np.asarray(counts), axis=1)


def augment_label(trains: list[SpikeTrains], labels: np.ndarray,
                  settings: LossSettings = LossSettings()) -> list[SpikeTrains]:
    """Output trains with evenly spaced artificial spikes in a silent label neuron.

    Spikes at steps ``k * (T // n_artificial) - 1`` for k = 1..n_artificial
    (35 spikes at steps 10, 21, ..., 384 for T = 400; always n_artificial
    spikes when T >= n_artificial). Samples
    whose label neuron fired are returned unchanged. Recorded v is dropped on
    augmented samples (the artificial spikes have none).
    """
    out = []
    for tr, c in zip(trains, labels):
        if np.any(tr.neuron == c):
            out.append(tr)
            continue
        spacing = max(tr.n_steps // settings.n_artificial, 1)
        steps = spacing * np.arange(1, settings.n_artificial + 1) - 1
        steps = steps[steps < tr.n_steps]
        out.append(SpikeTrains(np.concatenate([tr.neuron, np.full(steps.size, c)]),
                               np.concatenate([tr.step, steps]), tr.n_neurons, tr.n_steps))
    return out
