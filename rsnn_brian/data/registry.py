"""The data sets the trainer knows: inputs, classes, and how a split is read and encoded.

One entry per data set (:class:`DatasetInfo`) states its number of input
channels, its class labels (count and names) and two functions: ``read``
(config, split) -> (samples, labels), and ``encoder`` (config, split,
samples) -> a function (indices, epoch) -> list of :class:`SpikeTrains`.
:func:`load_dataset` joins them, takes a class-balanced subset when the
config limits the split, and checks the data against the entry, so that
nothing above this module writes a class count or an input size.

    >>> dataset_info("fashion-mnist").class_names[0]
    'T-shirt/top'
    >>> load_dataset(TrainConfig(dataset="builtin", test_limit=50), "test").n_classes
    10

The image loaders need nothing beyond NumPy; the speech wing (``fsdd``) and the
N-TIDIGITS reader (``ntidigits``, needs h5py) are imported only when their data set
is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..spikes import SpikeTrains

__all__ = ["DatasetInfo", "Dataset", "dataset_names", "dataset_info", "register_dataset",
           "load_dataset", "stratified_subset", "SPLITS"]

SPLITS = ("train", "test")

#: Zalando's names of the ten Fashion-MNIST classes (github.com/zalandoresearch/fashion-mnist).
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DIGITS = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class DatasetInfo:
    """One data set: what it holds and how a split becomes spike trains.

    Attributes
    ----------
    name : the config's ``dataset`` value
    n_inputs : input channels (neurons of the input layer)
    class_names : label of class k at position k; their number is the class count
    description : one line, for listings
    read : (cfg, split) -> (samples, labels); samples indexable by sample (array or list),
        labels int array of shape (n_samples,) with values 0..n_classes-1
    encoder : (cfg, split, samples) -> encode, where ``encode(indices, epoch)`` returns
        one :class:`SpikeTrains` (n_inputs neurons, cfg.n_steps steps) per index
    """

    name: str
    n_inputs: int
    class_names: tuple[str, ...]
    description: str
    read: Callable
    encoder: Callable

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass
class Dataset:
    """One encoded split: labels now, spike trains on demand with ``inputs(indices, epoch)``."""

    name: str
    labels: np.ndarray           # int64, shape (n_samples,)
    n_inputs: int
    n_classes: int
    _encode: Callable            # (indices, epoch) -> list[SpikeTrains]
    class_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.labels.size)

    def inputs(self, indices, epoch: int = 0) -> list[SpikeTrains]:
        """Input spike trains of these samples; ``epoch`` (0-based) matters only with redrawn inputs."""
        return self._encode(np.asarray(indices), epoch)


# -- the entries ------------------------------------------------------------------------

def _read_images(cfg, split: str):
    from .images import load_builtin, load_images
    if cfg.dataset == "builtin":
        images, labels = load_builtin(split)
    else:
        images, labels = load_images(cfg.dataset, split, data_dir=cfg.data_dir)
    return images.reshape(images.shape[0], -1), labels


def _rate_encoder(cfg, split: str, images):
    from .encoders import EncoderSettings, RateEncoder
    # train and test trains come from different seeds (2 seed, 2 seed + 1)
    seed = 2 * cfg.seed + (0 if split == "train" else 1)
    encoder = RateEncoder(images, EncoderSettings(n_steps=cfg.n_steps, redraw=cfg.redraw_inputs, seed=seed))
    return lambda idx, epoch: encoder.encode(idx, epoch)


def _read_fsdd(cfg, split: str):
    from .cochlea import SpeechEncoding
    from .speech import load_fsdd_spikes
    return load_fsdd_spikes(split=split, split_kind=cfg.split_kind, held_out_speaker=cfg.held_out_speaker,
                            data_dir=cfg.data_dir, enc=SpeechEncoding(n_steps=cfg.n_steps))


def _read_ntidigits(cfg, split: str):
    from .ntidigits import find_ntidigits, load_ntidigits
    trains, labels, _ = load_ntidigits(find_ntidigits(cfg.data_dir), split, n_steps=cfg.n_steps,
                                       dt=cfg.seconds("dt"))
    return trains, labels


def _fixed_trains(cfg, split: str, trains):
    return lambda idx, epoch: [trains[i] for i in idx]


_REGISTRY: dict[str, DatasetInfo] = {}


def register_dataset(info: DatasetInfo) -> None:
    """Add (or replace) a data set; its name becomes a valid ``dataset`` for :func:`load_dataset`."""
    if not info.class_names or info.n_inputs < 1:
        raise ValueError(f"data set {info.name!r} needs at least one class and one input")
    _REGISTRY[info.name] = info


for _info in (
    DatasetInfo("builtin", 784, FASHION_MNIST_CLASSES,
                "the shipped Fashion-MNIST subset (1,000 train / 500 test), works offline",
                _read_images, _rate_encoder),
    DatasetInfo("fashion-mnist", 784, FASHION_MNIST_CLASSES,
                "Fashion-MNIST, 60,000 train / 10,000 test 28 x 28 images, Bernoulli rate code",
                _read_images, _rate_encoder),
    DatasetInfo("mnist", 784, DIGITS,
                "MNIST handwritten digits, 60,000 train / 10,000 test, Bernoulli rate code",
                _read_images, _rate_encoder),
    # 78 channels: the Lyon ear's 80 filters less the first two (data/cochlea.py)
    DatasetInfo("fsdd", 78, DIGITS,
                "Free Spoken Digit Dataset, cochleagram + BSA spikes (78 channels)",
                _read_fsdd, _fixed_trains),
    # the single-digit task of N-TIDIGITS18 (silicon cochlea, 64 channels): 11 classes, 'zero' and 'oh' apart
    DatasetInfo("ntidigits", 64, ("zero", *DIGITS[1:], "oh"),
                "N-TIDIGITS18 single digits, CochleaAMS1b address events in 1 ms bins (64 channels)",
                _read_ntidigits, _fixed_trains),
):
    register_dataset(_info)


def dataset_names() -> tuple[str, ...]:
    """Names of the known data sets, in registration order."""
    return tuple(_REGISTRY)


def dataset_info(name: str) -> DatasetInfo:
    """The entry of a data set; a one-line ValueError naming the known ones if there is none."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(dataset_names())}") from None


# -- loading ------------------------------------------------------------------------------

def stratified_subset(labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a class-balanced subset of ``limit`` samples (all if None or too few).

    Classes take turns in a seeded random order of the samples; a class that
    runs out drops out of the rotation.
    """
    n = labels.size
    if limit is None or limit >= n:
        return np.arange(n)
    rng = np.random.default_rng([seed, 7919])
    order = rng.permutation(n)
    classes = np.unique(labels)
    per = {c: order[labels[order] == c] for c in classes}
    take, k = [], 0
    while len(take) < limit:
        c = classes[k % classes.size]
        pos = k // classes.size
        if pos < per[c].size:
            take.append(per[c][pos])
        k += 1
        if k > limit * classes.size + n:
            break
    return np.sort(np.array(take[:limit], dtype=np.int64))


def load_dataset(cfg, split: str) -> Dataset:
    """Read and encode one split ('train' or 'test') of ``cfg.dataset``.

    ``cfg`` is a :class:`~rsnn_brian.config.TrainConfig`; its ``train_limit`` /
    ``test_limit`` keep a class-balanced subset (seeded by ``cfg.seed``).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    info = dataset_info(cfg.dataset)
    samples, labels = info.read(cfg, split)
    labels = np.asarray(labels).astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= info.n_classes):
        raise ValueError(f"{info.name} {split}: labels must lie in 0..{info.n_classes - 1}, "
                         f"found {labels.min()}..{labels.max()}")
    keep = stratified_subset(labels, cfg.train_limit if split == "train" else cfg.test_limit, cfg.seed)
    if isinstance(samples, np.ndarray):
        samples = samples[keep]
    else:
        samples = [samples[i] for i in keep]
    encode = info.encoder(cfg, split, samples)
    if len(keep):
        first = encode(np.arange(1), 0)[0]
        if first.n_neurons != info.n_inputs:
            raise ValueError(f"{info.name} {split}: the encoded samples have {first.n_neurons} input "
                             f"channels, the registry says {info.n_inputs}")
    return Dataset(info.name, labels[keep], info.n_inputs, info.n_classes, encode, info.class_names)
