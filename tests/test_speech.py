"""Tests of rsnn_brian.data.speech: the encoded-spike cache and load_fsdd_spikes."""

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


# ------------------------------------------------------------ damaged files
@pytest.mark.parametrize("damage", [
    lambda raw: raw[: len(raw) // 2],                  # truncated npz (a crash of an old writer)
    lambda raw: b"garbage, not a zip file",            # garbage
    lambda raw: b"",                                    # empty
])
def test_corrupt_cache_file_is_reported_and_recomputed(tmp_path, damage):
    from rsnn_brian._io import CorruptCacheWarning
    d = make_fsdd(tmp_path / "data", speakers=("alice",), digits=(1,), n_index=2)
    p = d / "recordings" / "1_alice_0.wav"
    cache = tmp_path / "c"
    good = S.encode_file(p, cache_dir=cache)
    (cfile,) = (cache / "speech").rglob("*.npz")
    cfile.write_bytes(damage(cfile.read_bytes()))
    with pytest.warns(CorruptCacheWarning, match=f"cache file {cfile} is unreadable.*recomputing"):
        again = S.encode_file(p, cache_dir=cache)
    assert again == good
    with np.load(cfile, allow_pickle=False) as z:       # rewritten whole
        np.testing.assert_array_equal(z["step"], good.step)
    # through encode_files (the path load_fsdd_spikes takes), serial and with a pool
    p1 = d / "recordings" / "1_alice_1.wav"
    good1 = S.encode_file(p1, cache_dir=cache)
    files = sorted((cache / "speech").rglob("*.npz"))
    assert len(files) == 2
    for n_jobs in (1, 2):
        for f in files:
            f.write_bytes(damage(f.read_bytes()))
        with pytest.warns(CorruptCacheWarning) as seen:
            out = S.encode_files([p, p1], cache_dir=cache, n_jobs=n_jobs)
        assert sorted(str(f) for f in files) == sorted(str(w.message).split()[2] for w in seen
                                                         if w.category is CorruptCacheWarning)
        assert out == [good, good1]
        assert S.encode_files([p, p1], cache_dir=cache, n_jobs=1) == [good, good1]   # healed: no warning


def test_cache_file_with_bad_contents_is_recomputed(tmp_path):
    from rsnn_brian._io import CorruptCacheWarning
    d = make_fsdd(tmp_path / "data", speakers=("alice",), digits=(1,), n_index=1)
    p = d / "recordings" / "1_alice_0.wav"
    good = S.encode_file(p, cache_dir=tmp_path / "c")
    (cfile,) = (tmp_path / "c" / "speech").rglob("*.npz")
    np.savez(cfile, neuron=np.array([500]), step=np.array([1]), shape=np.array([78, 700]))  # index >= 78
    with pytest.warns(CorruptCacheWarning, match="neuron indices must lie in"):
        assert S.encode_file(p, cache_dir=tmp_path / "c") == good
    np.savez(cfile, neuron=np.array([1]))                                              # arrays missing
    with pytest.warns(CorruptCacheWarning, match="KeyError"):
        assert S.encode_file(p, cache_dir=tmp_path / "c") == good


def test_fsdd_recording_at_another_rate_names_the_file(tmp_path):
    from scipy.io import wavfile

    from rsnn_brian.data.fsdd import WavError
    d = tmp_path / "data" / "fsdd"
    rec = d / "recordings"
    rec.mkdir(parents=True)
    for i in range(2):
        wavfile.write(rec / f"0_alice_{i}.wav", 8000 if i else 16000,
                      (0.3 * np.sin(np.arange(3000) / 5) * 32767).astype(np.int16))
    from rsnn_brian.data import fsdd as F
    (d / "manifest.csv").write_bytes(F.manifest_text(rec).encode())   # the manifest agrees with the file
    with pytest.raises(WavError, match="0_alice_0.wav has a sample rate of 16000 Hz, expected 8000 Hz") as err:
        S.load_fsdd_spikes("test", data_dir=tmp_path / "data", cache_dir=tmp_path / "c", n_jobs=1,
                           download=False)
    assert f"delete {d} and run again: a fresh copy of FSDD is downloaded" in str(err.value)
    # any rate is fine outside FSDD: encode_file resamples
    assert S.encode_file(rec / "0_alice_0.wav", cache_dir=tmp_path / "c").n_neurons == 78
