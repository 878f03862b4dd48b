"""Pixels to Bernoulli spike trains (spec section 6).

Every input neuron (pixel) spikes at each 1 ms step ``t`` in ``first_step ..
n_steps - 1`` independently with probability ``pixel / (scale * pixel_max)``,
``scale = 5.5`` and ``pixel_max = 255`` (at most about 182 Hz), and never at
step 0. One sample at a time is drawn as a whole (n_steps, n_inputs) raster;
there is no loop over pixels or steps.

:class:`RateEncoder` gives every sample its own generator so that the train of
sample ``k`` depends only on ``(seed, k)`` (fixed trains, the authors' choice)
or on ``(seed, epoch, k)`` (``redraw=True``), never on batching or order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..defaults import N_STEPS
from ..spikes import SpikeTrains

__all__ = ["EncoderSettings", "spike_probabilities", "encode_bernoulli", "RateEncoder"]


@dataclass(frozen=True)
class EncoderSettings:
    """Bernoulli rate code; defaults from spec section 6 (images)."""

    n_steps: int = N_STEPS      # T = 400 steps of 1 ms (spec section 6; rsnn_brian.defaults)
    scale: float = 5.5          # p = pixel / (5.5 * 255) (spec section 6)
    pixel_max: float = 255.0    # 8-bit pixels
    first_step: int = 1         # spikes at steps 1..T-1, none at step 0 (spec section 6)
    redraw: bool = False        # authors draw once and reuse every epoch (spec section 6)
    seed: int = 0               # root seed; record it with the results

    def __post_init__(self):
        if int(self.n_steps) != self.n_steps or self.n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {self.n_steps}")
        if not 0 <= self.first_step <= self.n_steps:
            raise ValueError(f"first_step must lie in [0, n_steps={self.n_steps}], got {self.first_step}")
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"scale must be a positive number, got {self.scale}")
        if not (np.isfinite(self.pixel_max) and self.pixel_max > 0):
            raise ValueError(f"pixel_max must be a positive number, got {self.pixel_max}")
        if int(self.seed) != self.seed or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")


def spike_probabilities(images, scale: float = 5.5, pixel_max: float = 255.0) -> np.ndarray:
    """Per-step spike probability of every input, float64 of shape (n_samples, n_inputs).

    ``images``: (n_samples, n_inputs) or (n_samples, h, w) pixels in
    [0, pixel_max], any real dtype. Raises ValueError for an empty batch, a
    wrong shape, NaN/inf, negative values, values above ``pixel_max`` and
    probabilities above 1.
    """
    return _probabilities(images, scale, pixel_max)


def _scaled(pixels, scale: float, pixel_max: float) -> np.ndarray:
    """``pixels / (scale * pixel_max)`` in float64: the one formula of a spike probability."""
    return pixels.astype(np.float64, copy=False) / (scale * pixel_max)


def _probabilities(images, scale: float, pixel_max: float, offset: int = 0) -> np.ndarray:
    """:func:`spike_probabilities`; ``offset``: the index of the first image, for the error messages."""
    x = np.asarray(images)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) \
            or np.iscomplexobj(x):
        raise ValueError(f"pixels must be real numbers, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"images must have shape (n_samples, n_inputs) or (n_samples, h, w), got "
                         f"shape {x.shape}; for a single image pass images[None]")
    if x.shape[0] == 0:
        raise ValueError("empty batch: no images to encode")
    x = x.reshape(x.shape[0], -1).astype(np.float64)
    if x.shape[1] == 0:
        raise ValueError(f"images have no pixels (shape {np.shape(images)})")
    if not np.all(np.isfinite(x)):
        bad = np.argwhere(~np.isfinite(x))[0]
        raise ValueError(f"pixels contain NaN or inf (first at sample {bad[0] + offset}, input {bad[1]})")
    if x.min() < 0:
        raise ValueError(f"pixels must be >= 0, got minimum {x.min()}")
    if x.max() > pixel_max:
        raise ValueError(f"pixels must be <= pixel_max = {pixel_max}, got maximum {x.max()}; "
                         f"pass uint8 values 0..255 (not rescaled) or set pixel_max")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale}")
    p = _scaled(x, scale, pixel_max)
    if p.max() > 1:
        raise ValueError(f"spike probability {p.max()} > 1 per step (scale = {scale} < 1); "
                         f"use scale >= 1")
    return p


def _draw(p: np.ndarray, n_steps: int, first_step: int, rng: np.random.Generator) -> SpikeTrains:
    """One sample: p (n_inputs,) -> SpikeTrains, vectorised over steps and inputs."""
    raster = rng.random((n_steps - first_step, p.size)) < p
    flat = np.flatnonzero(raster)              # row-major: sorted by (step, neuron); half the time of np.nonzero
    step = flat // p.size
    return SpikeTrains(flat - step * p.size, step + first_step, p.size, n_steps)


def encode_bernoulli(images, n_steps: int, rng: np.random.Generator, *, scale: float = 5.5,
                     pixel_max: float = 255.0, first_step: int = 1) -> list[SpikeTrains]:
    """Bernoulli spike trains for a batch, one :class:`SpikeTrains` per sample.

    ``images``: (n_samples, n_inputs) or (n_samples, h, w) pixels; inputs are
    numbered in C order. Input ``i`` spikes at step ``t`` (``first_step <= t <
    n_steps``) with probability ``images[i] / (scale * pixel_max)``. Samples
    are drawn from ``rng`` one after the other, so the trains depend on batch
    order; use :class:`RateEncoder` for per-sample reproducibility.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    EncoderSettings(n_steps=n_steps, scale=scale, pixel_max=pixel_max, first_step=first_step)
    p = spike_probabilities(images, scale, pixel_max)
    return [_draw(row, int(n_steps), int(first_step), rng) for row in p]


class RateEncoder:
    """Spike trains of a fixed image set, reproducible per sample.

    Sample ``k``'s generator is ``default_rng([seed, 0, k])`` with fixed trains
    (``redraw=False``: the same train every epoch) or ``default_rng([seed, 1,
    epoch, k])`` with ``redraw=True``. ``cache=True`` keeps fixed trains in
    memory (about 16 bytes per spike, ~0.25 MB per Fashion-MNIST sample at T=400).
    """

    #: Images checked at once when the encoder is made (the float64 copies of a block are temporary).
    CHECK_BLOCK = 4096

    def __init__(self, images, settings: EncoderSettings = EncoderSettings(), cache: bool = False):
        self.settings = settings
        x = np.asarray(images)
        _probabilities(x if x.ndim < 2 else x[:1], settings.scale, settings.pixel_max)   # shape, dtype errors
        # the pixels are kept as given (uint8: 1/8 of the float64 probabilities, 330 MB less for the
        # Fashion-MNIST training set); a sample's probabilities are computed when it is drawn, with the
        # same operations as spike_probabilities, so the trains are the same
        self._pixels = np.array(x.reshape(x.shape[0], -1))        # a copy: later edits of images change nothing
        for a in range(0, len(self._pixels), self.CHECK_BLOCK):
            _probabilities(self._pixels[a:a + self.CHECK_BLOCK], settings.scale, settings.pixel_max, offset=a)
        self.cache = cache and not settings.redraw
        self._cache: dict[int, SpikeTrains] = {}

    def __len__(self) -> int:
        return self._pixels.shape[0]

    @property
    def n_inputs(self) -> int:
        return self._pixels.shape[1]

    @property
    def probabilities(self) -> np.ndarray:
        """Every sample's per-step spike probabilities, float64 (n_samples, n_inputs), made on each call."""
        return spike_probabilities(self._pixels, self.settings.scale, self.settings.pixel_max)

    def sample_probabilities(self, k: int) -> np.ndarray:
        """Sample ``k``'s per-step spike probabilities, float64 (n_inputs,): row ``k`` of :attr:`probabilities`."""
        return _scaled(self._pixels[k], self.settings.scale, self.settings.pixel_max)

    def generator(self, k: int, epoch: int = 0) -> np.random.Generator:
        s = self.settings
        if s.redraw:
            if epoch < 0:
                raise ValueError(f"epoch must be >= 0, got {epoch}")
            return np.random.default_rng([s.seed, 1, int(epoch), int(k)])
        return np.random.default_rng([s.seed, 0, int(k)])

    def train(self, k: int, epoch: int = 0) -> SpikeTrains:
        """Spike trains of sample ``k`` (in epoch ``epoch`` when redrawing)."""
        k = int(k)
        if not 0 <= k < len(self):
            raise IndexError(f"sample {k} out of range for {len(self)} samples")
        if self.cache and k in self._cache:
            return self._cache[k]
        s = self.settings
        tr = _draw(self.sample_probabilities(k), s.n_steps, s.first_step, self.generator(k, epoch))
        if self.cache:
            self._cache[k] = tr
        return tr

    def encode(self, indices, epoch: int = 0) -> list[SpikeTrains]:
        """Trains of the samples ``indices`` (any order, any batch split)."""
        indices = np.atleast_1d(np.asarray(indices))
        if indices.size == 0:
            raise ValueError("empty batch: no sample indices")
        if not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"indices must be integers, got dtype {indices.dtype}")
        return [self.train(k, epoch) for k in indices.ravel()]

    def __getitem__(self, k: int) -> SpikeTrains:
        return self.train(k)
