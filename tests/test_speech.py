"""Tests of rsnn_brian.data.speech: the encoded-spike cache and load_fsdd_spikes."""

import os
from pathlib import Path

import numpy as np
import pytest

from rsnn_brian.data import speech as S
from rsnn_brian.data.cochlea import SpeechEncoding

try:
    from test_speech_fsdd import SHARED, make_fsdd, needs_fsdd
except ImportError:  # tests/ imported as a package
    from .test_speech_fsdd import SHARED, make_fsdd, needs_fsdd

pytest.importorskip("lyon")


def test_cache_root_order(tmp_path, monkeypatch):
    monkeypatch.setenv("RSNN_BRIAN_CACHE", str(tmp_path / "env"))
    assert S.cache_root(tmp_path / "arg") == tmp_path / "arg"
    assert S.cache_root() == tmp_path / "env"
    monkeypatch.delenv("RSNN_BRIAN_CACHE")
    assert S.cache_root() == Path.home() / ".cache" / "rsnn_brian"


def test_key_depends_on_every_parameter():
    base = S.encoding_key()
    assert base == S.encoding_key(SpeechEncoding())
    for field, value in SpeechEncoding().to_dict().items():
        changed = SpeechEncoding(**{field: value * 2})
        assert S.encoding_key(changed) != base, field


def test_load_fsdd_spikes_and_cache(tmp_path, monkeypatch):
    make_fsdd(tmp_path / "data")
    cache = tmp_path / "cache"
    trains, labels = S.load_fsdd_spikes("test", data_dir=tmp_path / "data", cache_dir=cache,
                                        n_jobs=2, download=False)
    assert len(trains) == 20 and sorted(labels.tolist()) == [0] * 10 + [1] * 10
    assert all((t.n_neurons, t.n_steps) == (78, 700) for t in trains)
    assert sum(t.n_spikes for t in trains) > 0
    files = list((cache / "speech").rglob("*.npz"))
    assert len(files) == 20
    with np.load(files[0], allow_pickle=False) as z:          # plain arrays, no pickle
        assert set(z.files) == {"neuron", "step", "shape"}

    # a second run reads the cache and never encodes
    def boom(*a, **k):
        raise AssertionError("encoded again")
    monkeypatch.setattr(S, "encode_waveform", boom)
    again, labels2 = S.load_fsdd_spikes("test", data_dir=tmp_path / "data", cache_dir=cache,
                                        n_jobs=1, download=False)
    assert all(a == b for a, b in zip(trains, again))
    np.testing.assert_array_equal(labels, labels2)


def test_cache_hit_equals_fresh_encoding(tmp_path):
    d = make_fsdd(tmp_path / "data", speakers=("alice",), digits=(1,), n_index=2)
    p = d / "recordings" / "1_alice_0.wav"
    first = S.encode_file(p, cache_dir=tmp_path / "c")
    second = S.encode_file(p, cache_dir=tmp_path / "c")
    from rsnn_brian.data.fsdd import read_wav
    assert first == second == S.encode_waveform(*read_wav(p))


def test_speaker_split(tmp_path):
    make_fsdd(tmp_path / "data")
    tr, ltr = S.load_fsdd_spikes("train", "speaker", "bob", data_dir=tmp_path / "data",
                                 cache_dir=tmp_path / "c", n_jobs=1, download=False)
    te, lte = S.load_fsdd_spikes("test", "speaker", "bob", data_dir=tmp_path / "data",
                                 cache_dir=tmp_path / "c", n_jobs=1, download=False)
    assert len(tr) == len(te) == 14


def test_changed_file_is_detected(tmp_path):
    d = make_fsdd(tmp_path / "data")
    with open(d / "recordings" / "0_alice_0.wav", "r+b") as f:
        f.seek(100)
        f.write(b"\x01\x02")
    with pytest.raises(OSError, match="differ from manifest"):
        S.load_fsdd_spikes("test", data_dir=tmp_path / "data", cache_dir=tmp_path / "c",
                           download=False)


def test_missing_data_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="FSDD not found"):
        S.load_fsdd_spikes(data_dir=tmp_path / "none", cache_dir=tmp_path / "c", download=False)


@pytest.mark.dataset
@needs_fsdd
def test_real_fsdd_few_files(tmp_path):
    from rsnn_brian.data.fsdd import read_manifest
    recs = read_manifest(SHARED / "fsdd")[::500]
    trains = S.encode_files([r.path for r in recs], cache_dir=tmp_path, n_jobs=1)
    counts = np.array([t.n_spikes for t in trains])
    assert all((t.n_neurons, t.n_steps) == (78, 700) for t in trains)
    assert np.all(counts > 100) and np.all(counts < 0.5 * 78 * 700)
    # spikes stay within the sound: 1.6 ms of audio per step, plus the kernel's reach
    from rsnn_brian.data.fsdd import read_wav
    for r, t in zip(recs, trains):
        x, rate = read_wav(r.path)
        assert t.step.max() <= len(x) / rate * 1e3 / 1.6 + 24
