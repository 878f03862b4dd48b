"""The data set registry: what each data set states, how load_dataset uses it, and that training follows it."""

import numpy as np
import pytest

from rsnn_brian import config
from rsnn_brian.config import TrainConfig
from rsnn_brian.data import registry
from rsnn_brian.data.registry import DatasetInfo, dataset_info, dataset_names, load_dataset
from rsnn_brian.spikes import SpikeTrains
from rsnn_brian.training import evaluate_run, train


def test_every_config_dataset_is_registered():
    assert dataset_names() == config.DATASETS == ("builtin", "fashion-mnist", "mnist", "fsdd", "ntidigits")


def test_each_data_set_states_inputs_and_classes():
    fashion = dataset_info("fashion-mnist")
    assert (fashion.n_inputs, fashion.n_classes) == (784, 10)
    assert fashion.class_names == ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    assert dataset_info("builtin").class_names == fashion.class_names
    assert dataset_info("mnist").class_names == tuple("0123456789")
    fsdd = dataset_info("fsdd")
    assert (fsdd.n_inputs, fsdd.class_names) == (78, tuple("0123456789"))
    nt = dataset_info("ntidigits")
    assert (nt.n_inputs, nt.class_names) == (64, ("zero", *"123456789", "oh"))
    for name in dataset_names():
        info = dataset_info(name)
        assert info.name == name and info.description and len(set(info.class_names)) == info.n_classes


def test_an_unknown_data_set_is_one_clear_line():
    with pytest.raises(ValueError) as err:
        dataset_info("cifar10")
    msg = str(err.value)
    assert "\n" not in msg and "'cifar10'" in msg
    assert msg.endswith("known: builtin, fashion-mnist, mnist, fsdd, ntidigits")


def test_load_dataset_takes_a_balanced_subset_and_encodes_on_demand():
    cfg = TrainConfig(dataset="builtin", test_limit=30, n_steps=50, seed=1)
    ds = load_dataset(cfg, "test")
    assert (len(ds), ds.n_inputs, ds.n_classes, ds.name) == (30, 784, 10, "builtin")
    assert ds.class_names[0] == "T-shirt/top"
    assert np.bincount(ds.labels).tolist() == [3] * 10
    trains = ds.inputs([0, 4])
    assert [(t.n_neurons, t.n_steps) for t in trains] == [(784, 50)] * 2
    assert len(load_dataset(cfg, "train")) == 1000                 # no train_limit: the whole split
    with pytest.raises(ValueError, match="split must be one of"):
        load_dataset(cfg, "validation")


def _toy(n_inputs=5, classes=("left", "middle", "right"), stated_inputs=None):
    """A 3-class data set of 5 channels: class c fires channel c (and c + 1) at a high rate."""
    def read(cfg, split):
        n = 24 if split == "train" else 12
        labels = np.arange(n) % len(classes)
        return labels.copy(), labels

    def encoder(cfg, split, samples):
        def encode(idx, epoch):
            out = []
            for i in idx:
                rng = np.random.default_rng([cfg.seed, int(i), epoch])
                dense = rng.random((cfg.n_steps, n_inputs)) < 0.02
                dense[:, [samples[i], samples[i] + 1]] |= rng.random((cfg.n_steps, 2)) < 0.3
                dense[0] = False
                out.append(SpikeTrains.from_dense(dense))
            return out
        return encode
    return DatasetInfo("builtin", stated_inputs or n_inputs, classes, "a toy", read, encoder)


def test_training_takes_classes_and_inputs_from_the_registry(tmp_path, monkeypatch):
    """No class count or input size is written in training: a 3-class, 5-channel set trains end to end."""
    monkeypatch.setitem(registry._REGISTRY, "builtin", _toy())
    cfg = TrainConfig(dataset="builtin", architecture="5-8-3", thresholds=(2.0, 2.0), n_steps=60,
                      batch_size=4, lr=0.01, device="numpy", epochs=1, regulariser=False)
    result = train(cfg, tmp_path / "run", progress=False)
    assert result.epochs_done == 1
    assert list(evaluate_run(tmp_path / "run", progress=False).per_class) == ["left", "middle", "right"]
    with pytest.raises(ValueError, match="the data set has 3 classes.*ending in -3"):
        train(cfg.replace(architecture="5-8-10"), tmp_path / "ten", progress=False)
    assert not (tmp_path / "ten").exists()


def test_the_encoded_inputs_must_match_what_the_registry_states(monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, "builtin", _toy(stated_inputs=6))
    with pytest.raises(ValueError, match="5 input channels, the registry says 6"):
        load_dataset(TrainConfig(dataset="builtin", n_steps=20), "test")


def test_labels_outside_the_classes_are_refused(monkeypatch):
    toy = _toy()
    bad = DatasetInfo("builtin", 5, ("a", "b"), "two classes, labels 0..2", toy.read, toy.encoder)
    monkeypatch.setitem(registry._REGISTRY, "builtin", bad)
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        load_dataset(TrainConfig(dataset="builtin", n_steps=20), "test")
