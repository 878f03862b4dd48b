"""Tests of rsnn_brian.data.fsdd: locating, downloading, reading and splitting FSDD."""

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from rsnn_brian.data import fsdd as F

SHARED = Path(os.environ.get("RSNN_BRIAN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
needs_fsdd = pytest.mark.skipif(not (SHARED / "fsdd" / "manifest.csv").is_file(),
                                reason=f"FSDD not found under {SHARED}")


def _tone(n=4000, rate=8000, f0=440.0):
    t = np.arange(n) / rate
    return (0.3 * np.sin(2 * np.pi * f0 * t) * 32767).astype(np.int16)


def make_recordings(folder: Path, speakers=("alice", "bob"), digits=(0, 1), n_index=7):
    """A small FSDD-like recordings/ folder of synthetic tones."""
    folder.mkdir(parents=True, exist_ok=True)
    for d in digits:
        for s in speakers:
            for i in range(n_index):
                f0 = 300 + 200 * d + 37 * i + (50 if s == speakers[0] else 0)
                wavfile.write(folder / f"{d}_{s}_{i}.wav", 8000, _tone(2000 + 100 * i, f0=f0))
    return folder


def make_fsdd(root: Path, **kw) -> Path:
    d = root / "fsdd"
    rec = make_recordings(d / "recordings", **kw)
    (d / "manifest.csv").write_bytes(F.manifest_text(rec).encode())
    (d / "SHA256SUMS").write_text(F.sums_text(rec))
    return d


# ------------------------------------------------------------ locating
def test_data_root_order(tmp_path, monkeypatch):
    monkeypatch.setenv("RSNN_BRIAN_DATA", str(tmp_path / "env"))
    assert F.data_root(tmp_path / "arg") == tmp_path / "arg"
    assert F.data_root() == tmp_path / "env"
    monkeypatch.delenv("RSNN_BRIAN_DATA")
    assert F.data_root() == Path.home() / ".cache" / "rsnn_brian" / "data"


def test_missing_data_directory_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="FSDD not found"):
        F.fsdd_dir(tmp_path / "nowhere", download=False)


def test_existing_directory_is_used(tmp_path):
    d = make_fsdd(tmp_path)
    assert F.fsdd_dir(tmp_path, download=False) == d


# ------------------------------------------------------------ download
def _archive(tmp_path: Path) -> Path:
    rec = make_recordings(tmp_path / "src" / "recordings")
    z = tmp_path / "fsdd.zip"
    top = f"free-spoken-digit-dataset-{F.FSDD_COMMIT}"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(f"{top}/README.md", "readme")
        zf.writestr(f"{top}/utils/x.py", "pass")
        for p in sorted(rec.iterdir()):
            zf.write(p, f"{top}/recordings/{p.name}")
    return z


def test_download_verify_and_install(tmp_path):
    z = _archive(tmp_path)
    digest = hashlib.sha256(F.sums_text(tmp_path / "src" / "recordings").encode()).hexdigest()
    root = tmp_path / "data"
    d = F.fsdd_dir(root, url=z.as_uri(), expected_sums_sha256=digest)
    assert d == root / "fsdd"
    assert len(list((d / "recordings").glob("*.wav"))) == 28
    assert hashlib.sha256((d / "SHA256SUMS").read_bytes()).hexdigest() == digest
    recs = F.read_manifest(d)
    assert len(recs) == 28 and all(r.path.is_file() for r in recs)
    assert sorted(p.name for p in root.iterdir()) == ["fsdd"]      # no temp folders left
    assert (d / "speakers.csv").read_text().startswith("speaker,gender,accent,language\n")


def test_download_with_wrong_digest_installs_nothing(tmp_path):
    z = _archive(tmp_path)
    root = tmp_path / "data"
    with pytest.raises(OSError, match="does not match the pinned SHA256SUMS"):
        F.download_fsdd(root, url=z.as_uri())      # pinned digest of the real data set
    assert list(root.iterdir()) == []


def test_download_failure_is_clear(tmp_path):
    with pytest.raises(OSError, match="FSDD download"):
        F.download_fsdd(tmp_path, url=(tmp_path / "absent.zip").as_uri())


# ------------------------------------------------------------ reading WAVs
def test_read_int16_scaled(tmp_path):
    x = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    wavfile.write(tmp_path / "a.wav", 8000, x)
    y, rate = F.read_wav(tmp_path / "a.wav")
    assert rate == 8000 and y.dtype == np.float64
    np.testing.assert_array_equal(y, x / 32768.0)


@pytest.mark.parametrize("dtype,scale,offset", [(np.int32, 2.0 ** 31, 0), (np.uint8, 128.0, 128),
                                                (np.float32, 1.0, 0)])
def test_read_other_sample_types(tmp_path, dtype, scale, offset):
    x = (np.array([0.0, 0.5, -0.5]) * (scale if dtype != np.float32 else 1) + offset).astype(dtype)
    wavfile.write(tmp_path / "a.wav", 8000, x)
    y, _ = F.read_wav(tmp_path / "a.wav")
    np.testing.assert_allclose(y, [0.0, 0.5, -0.5], atol=1e-9)


def test_stereo_is_averaged_to_mono(tmp_path):
    x = np.stack([np.full(100, 1000, np.int16), np.full(100, 3000, np.int16)], axis=1)
    wavfile.write(tmp_path / "s.wav", 8000, x)
    y, _ = F.read_wav(tmp_path / "s.wav")
    assert y.shape == (100,)
    np.testing.assert_allclose(y, 2000 / 32768.0)


def test_other_sample_rate_is_returned_unchanged(tmp_path):
    wavfile.write(tmp_path / "r.wav", 16000, _tone(1600, rate=16000))
    y, rate = F.read_wav(tmp_path / "r.wav")
    assert rate == 16000 and y.size == 1600


def test_empty_wav_is_an_error(tmp_path):
    wavfile.write(tmp_path / "e.wav", 8000, np.zeros(0, np.int16))
    with pytest.raises(F.WavError, match="empty"):
        F.read_wav(tmp_path / "e.wav")


def test_not_a_wav_is_an_error(tmp_path):
    (tmp_path / "n.wav").write_bytes(b"this is not a RIFF file at all")
    with pytest.raises(F.WavError, match="not a readable WAV"):
        F.read_wav(tmp_path / "n.wav")


def _fsdd_file(tmp_path) -> Path:
    """One recording inside an FSDD-like folder (the fix then names that folder)."""
    d = make_fsdd(tmp_path / "data", speakers=("alice",), digits=(0,), n_index=1)
    return d / "recordings" / "0_alice_0.wav"


@pytest.mark.parametrize("cut", [30, 44, 46, 1000])
def test_truncated_wav_names_the_file_and_the_fix(tmp_path, cut):
    p = _fsdd_file(tmp_path)
    p.write_bytes(p.read_bytes()[:cut])            # scipy alone reads what is left and only warns
    with pytest.raises(F.WavError, match="truncated") as err:
        F.read_wav(p)
    msg = str(err.value)
    assert msg.startswith(str(p)) and "\n" not in msg
    assert f"delete {tmp_path / 'data' / 'fsdd'} and run again: a fresh copy of FSDD is downloaded" in msg


@pytest.mark.parametrize("payload", [b"this is not a RIFF file at all", b"",
                                     b"RIFF\x00\x00\x00\x00WAVEgarbage"])
def test_not_a_wav_names_the_file_and_the_fix(tmp_path, payload):
    p = _fsdd_file(tmp_path)
    p.write_bytes(payload)
    with pytest.raises(F.WavError, match="(not a readable WAV|truncated|empty)") as err:
        F.read_wav(p)
    msg = str(err.value)
    assert msg.startswith(str(p)) and "download=True" in msg and "\n" not in msg


def test_wrong_sample_rate_is_an_error_when_one_is_expected(tmp_path):
    p = tmp_path / "data" / "fsdd" / "recordings" / "0_alice_0.wav"
    p.parent.mkdir(parents=True)
    wavfile.write(p, 16000, _tone(1600, rate=16000))
    with pytest.raises(F.WavError, match="sample rate of 16000 Hz, expected 8000 Hz") as err:
        F.read_wav(p, expected_rate=F.FSDD_SAMPLE_RATE)
    assert str(err.value).startswith(str(p)) and "download=True" in str(err.value)
    y, rate = F.read_wav(p)                        # no expectation: returned unchanged
    assert rate == 16000 and y.size == 1600
    y, rate = F.read_wav(p, expected_rate=16000)
    assert rate == 16000


def test_nan_samples_are_an_error(tmp_path):
    wavfile.write(tmp_path / "f.wav", 8000, np.array([0.0, np.nan, 0.1], np.float32))
    with pytest.raises(F.WavError, match=r"f\.wav holds NaN or inf samples"):
        F.read_wav(tmp_path / "f.wav")


def test_unknown_chunks_are_not_errors(tmp_path):
    p = tmp_path / "c.wav"
    wavfile.write(p, 8000, _tone(100))
    raw = p.read_bytes()                              # RIFF header (12), fmt chunk (24), data chunk
    extra = b"abcd" + (4).to_bytes(4, "little") + b"xyzw"   # scipy skips it, with a warning
    raw = raw[:36] + extra + raw[36:]
    p.write_bytes(raw[:4] + (len(raw) - 8).to_bytes(4, "little") + raw[8:])
    y, rate = F.read_wav(p)
    np.testing.assert_array_equal(y, _tone(100) / 32768.0)


def test_missing_wav_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        F.read_wav(tmp_path / "absent.wav")


# ------------------------------------------------------------ splits
def test_official_and_speaker_splits(tmp_path):
    recs = F.read_manifest(make_fsdd(tmp_path))
    test = F.split_manifest(recs, "test")
    train = F.split_manifest(recs, "train")
    assert {r.index for r in test} == set(range(5)) and {r.index for r in train} == {5, 6}
    assert len(test) + len(train) == len(recs)
    assert all(r.split == "test" for r in test)
    te = F.split_manifest(recs, "test", "speaker", "bob")
    tr = F.split_manifest(recs, "train", "speaker", "bob")
    assert {r.speaker for r in te} == {"bob"} and {r.speaker for r in tr} == {"alice"}
    assert len(te) + len(tr) == len(recs)


@pytest.mark.parametrize("args,match", [(("val",), "split must be"),
                                        (("test", "random"), "split_kind"),
                                        (("test", "speaker", "carol"), "unknown speaker"),
                                        (("test", "official", "bob"), "only applies")])
def test_bad_split_arguments(tmp_path, args, match):
    recs = F.read_manifest(make_fsdd(tmp_path))
    with pytest.raises(ValueError, match=match):
        F.split_manifest(recs, *args)


# ------------------------------------------------------------ real data
@pytest.mark.dataset
@needs_fsdd
def test_real_fsdd_matches_pinned_digests_and_splits():
    d = SHARED / "fsdd"
    rec = d / "recordings"
    assert hashlib.sha256(F.sums_text(rec).encode()).hexdigest() == F.SHA256SUMS_SHA256
    assert hashlib.sha256(F.manifest_text(rec).encode()).hexdigest() == F.MANIFEST_SHA256
    recs = F.read_manifest(d)
    assert len(recs) == 3000
    assert len(F.split_manifest(recs, "train")) == 2700
    assert len(F.split_manifest(recs, "test")) == 300
    assert len(F.split_manifest(recs, "test", "speaker")) == 500
    assert len(F.split_manifest(recs, "train", "speaker", "george")) == 2500
    x, rate = F.read_wav(recs[0].path)
    assert rate == 8000 and x.ndim == 1 and np.abs(x).max() < 1
