"""Tests of rsnn_brian.data.ntidigits on small files in the distributed HDF5 layout."""

import numpy as np
import pytest

from rsnn_brian.data import ntidigits as N

h5py = pytest.importorskip("h5py")


def write_file(path, utterances):
    """utterances: {split: {label: (addresses, timestamps)}} in n-tidigits.hdf5 layout."""
    with h5py.File(path, "w") as f:
        for split, utt in utterances.items():
            f.create_dataset(f"{split}_labels", data=np.array([k.encode() for k in utt]))
            ga, gt = f.create_group(f"{split}_addresses"), f.create_group(f"{split}_timestamps")
            for k, (a, t) in utt.items():
                ga.create_dataset(k, data=np.asarray(a, dtype=np.int8))
                gt.create_dataset(k, data=np.asarray(t, dtype=np.float64))


def test_bin_events_literal():
    a = np.array([3, 3, 63, 0, 5, 5])
    t = np.array([0.0004, 0.0009, 0.0015, 0.6995, 0.7, 1.2])    # the last two are cut (T=700)
    st = N.bin_events(a, t)
    assert (st.n_neurons, st.n_steps) == (64, 700)
    # two events of channel 3 in step 0 make one spike
    assert list(zip(st.step, st.neuron)) == [(0, 3), (1, 63), (699, 0)]


def test_bin_events_bad_input():
    with pytest.raises(ValueError, match="addresses must lie"):
        N.bin_events([64], [0.1])
    with pytest.raises(ValueError, match="timestamps"):
        N.bin_events([1], [-0.1])
    with pytest.raises(ValueError, match="addresses but"):
        N.bin_events([1, 2], [0.1])


def test_digit_class():
    assert N.digit_class("man-ae-z") == 0
    assert N.digit_class("woman-xy-7") == 7
    assert N.digit_class("boy-ab-o") == 10
    assert N.digit_class("man-ae-1z2") == -1
    with pytest.raises(ValueError, match="unknown digit"):
        N.digit_class("man-ae-x")


def test_load_small_file(tmp_path):
    rng = np.random.default_rng(0)
    utt = {"train": {"man-ae-o": (rng.integers(0, 64, 50), np.sort(rng.uniform(0, 0.9, 50))),
                     "man-ae-12": ([1], [0.01]),
                     "woman-bc-3": ([7, 8], [0.002, 0.003])},
           "test": {"girl-de-z": ([0], [0.0])}}
    p = tmp_path / "n-tidigits.hdf5"
    write_file(p, utt)
    trains, labels, keys = N.load_ntidigits(p, "train")
    assert keys == ["man-ae-o", "woman-bc-3"] and labels.tolist() == [10, 3]
    a, t = utt["train"]["man-ae-o"]
    assert trains[0] == N.bin_events(a, t)
    assert list(zip(trains[1].step, trains[1].neuron)) == [(2, 7), (3, 8)]
    _, labels_all, keys_all = N.load_ntidigits(p, "train", single_digits_only=False)
    assert labels_all.tolist() == [10, -1, 3]
    tr, lab, _ = N.load_ntidigits(p, "test")
    assert lab.tolist() == [0] and tr[0].n_spikes == 1


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        N.load_ntidigits(tmp_path / "absent.hdf5")
    with h5py.File(tmp_path / "other.hdf5", "w") as f:
        f.create_dataset("x", data=[1])
    with pytest.raises(ValueError, match="not an N-TIDIGITS file"):
        N.load_ntidigits(tmp_path / "other.hdf5")
    with pytest.raises(ValueError, match="split must be"):
        N.load_ntidigits(tmp_path / "other.hdf5", "val")


def test_dataset_entry_reads_the_file_under_the_data_root(tmp_path, monkeypatch):
    from rsnn_brian.config import TrainConfig
    from rsnn_brian.data.registry import load_dataset
    (tmp_path / "n-tidigits").mkdir()
    utt = {"train": {"man-a-1": ([0, 5, 63], [0.0001, 0.0101, 0.0299]), "man-a-o": ([2], [0.005]),
                     "woman-b-12": ([1], [0.001]), "woman-b-z": ([7, 7], [0.002, 0.0025])},
           "test": {"man-c-9": ([4], [0.02])}}
    write_file(tmp_path / "n-tidigits" / N.FILE, utt)
    cfg = TrainConfig(dataset="ntidigits", architecture="64-8-11", thresholds=[1.0, 1.0], n_steps=20,
                      data_dir=str(tmp_path))
    train = load_dataset(cfg, "train")
    assert (train.n_inputs, train.n_classes, len(train)) == (64, 11, 3)      # the two-digit one is skipped
    assert list(train.labels) == [1, 10, 0] and train.class_names[10] == "oh"
    first, _, zero = train.inputs([0, 1, 2])
    assert list(zip(first.step, first.neuron)) == [(0, 0), (10, 5)]            # 29.9 ms lies past T = 20
    assert list(zip(zero.step, zero.neuron)) == [(2, 7)]
    monkeypatch.setenv("RSNN_BRIAN_DATA", str(tmp_path / "n-tidigits"))     # the file at the root itself
    assert list(load_dataset(TrainConfig(**{**cfg.to_dict(), "data_dir": None}), "test").labels) == [9]
    with pytest.raises(FileNotFoundError, match="not downloaded automatically"):
        load_dataset(cfg.replace(data_dir=str(tmp_path / "elsewhere")), "train")
