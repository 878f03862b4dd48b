"""MNIST / Fashion-MNIST loaders, downloads and the built-in subset."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from rsnn_brian.data import images as I

#: The real data sets: $RSNN_BRIAN_DATA, else ../shared/data beside the repository (never a fixed path).
SHARED = Path(os.environ.get("RSNN_BRIAN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


# -- small fake IDX files --------------------------------------------------------

def idx_bytes(arr: np.ndarray, magic: int | None = None) -> bytes:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    magic = {3: 2051, 1: 2049}[arr.ndim] if magic is None else magic
    head = np.array([magic, *arr.shape], dtype=">u4").tobytes()
    return head + arr.tobytes()


def fake_split(n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8)
    return x, y


def write_fake(folder: Path, split="train", x=None, y=None, raw_img=None, raw_lab=None):
    folder.mkdir(parents=True, exist_ok=True)
    if x is None:
        x, y = fake_split()
    fimg, flab = I.FILES[split]
    raw_img = idx_bytes(x) if raw_img is None else raw_img
    raw_lab = idx_bytes(y) if raw_lab is None else raw_lab
    (folder / fimg).write_bytes(gzip.compress(raw_img))
    (folder / flab).write_bytes(gzip.compress(raw_lab))
    return raw_img, raw_lab


@pytest.fixture
def fake_sums(monkeypatch):
    """Let the fake files pass the checksum: patch SHA256 to their contents."""
    def patch(name, split, raw_img, raw_lab):
        fimg, flab = I.FILES[split]
        table = {k: dict(v) for k, v in I.SHA256.items()}
        table[name][fimg] = hashlib.sha256(raw_img).hexdigest()
        table[name][flab] = hashlib.sha256(raw_lab).hexdigest()
        monkeypatch.setattr(I, "SHA256", table)
    return patch


# -- parsing and loading -----------------------------------------------------------

def test_roundtrip_fake_files(tmp_path, fake_sums):
    x, y = fake_split()
    fake_sums("mnist", "train", *write_fake(tmp_path / "mnist", x=x, y=y))
    xi, yi = I.load_images("mnist", "train", data_dir=tmp_path, download=False)
    assert xi.dtype == np.uint8 and xi.shape == (12, 28, 28)
    assert yi.dtype == np.int64 and yi.shape == (12,)
    np.testing.assert_array_equal(xi, x)
    np.testing.assert_array_equal(yi, y)
    xf, _ = I.load_images("mnist", "train", data_dir=tmp_path, download=False, flatten=True, limit=5)
    assert xf.shape == (5, 784)
    np.testing.assert_array_equal(xf, x[:5].reshape(5, -1))


def test_data_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("RSNN_BRIAN_DATA", str(tmp_path / "env"))
    assert I.resolve_data_dir() == tmp_path / "env"
    assert I.resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert I.dataset_dir("mnist") == tmp_path / "env" / "mnist"
    monkeypatch.delenv("RSNN_BRIAN_DATA")
    assert I.resolve_data_dir() == Path.home() / ".cache" / "rsnn_brian" / "data"


def test_env_root_is_used(tmp_path, monkeypatch, fake_sums):
    fake_sums("fashion-mnist", "test", *write_fake(tmp_path / "fashion-mnist", split="test"))
    monkeypatch.setenv("RSNN_BRIAN_DATA", str(tmp_path))
    x, y = I.load_images("fashion-mnist", "test", download=False)
    assert x.shape == (12, 28, 28)


def test_folder_holding_files_directly(tmp_path, fake_sums):
    fake_sums("mnist", "train", *write_fake(tmp_path))
    x, _ = I.load_images("mnist", "train", data_dir=tmp_path, download=False)
    assert x.shape[0] == 12


def test_missing_file_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=False"):
        I.load_images("mnist", "train", data_dir=tmp_path, download=False)


def test_bad_name_and_split(tmp_path):
    with pytest.raises(ValueError, match="unknown image data set"):
        I.load_images("cifar", "train", data_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown split"):
        I.load_images("mnist", "validation", data_dir=tmp_path)


def test_wrong_magic(tmp_path):
    x, y = fake_split()
    write_fake(tmp_path / "mnist", raw_img=idx_bytes(x, magic=2049))
    with pytest.raises(ValueError, match="wrong IDX magic number 2049, expected 2051"):
        I.load_images("mnist", "train", data_dir=tmp_path, download=False)


def test_truncated_contents(tmp_path):
    x, y = fake_split()
    write_fake(tmp_path / "mnist", raw_img=idx_bytes(x)[:-100])
    with pytest.raises(ValueError, match="truncated"):
        I.load_images("mnist", "train", data_dir=tmp_path, download=False)


def test_truncated_header(tmp_path):
    write_fake(tmp_path / "mnist", raw_img=b"\x00\x00\x08")
    with pytest.raises(ValueError, match="truncated"):
        I.load_images("mnist", "train", data_dir=tmp_path, download=False)


def test_truncated_gzip(tmp_path):
    write_fake(tmp_path / "mnist")
    p = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(ValueError, match="truncated or corrupt.*Delete it"):
        I.load_images("mnist", "train", data_dir=tmp_path, download=False)


@pytest.mark.parametrize("which", ["images", "labels"])
@pytest.mark.parametrize("damage, match", [
    (lambda raw: raw[: len(raw) // 2], "cannot decompress .*truncated or corrupt"),     # cut-off .gz
    (lambda raw: b"<html>404 Not Found</html>", "cannot decompress .*truncated or corrupt"),  # not gzip
    (lambda raw: gzip.compress(gzip.decompress(raw)[:-3]), "the file is truncated"),   # short IDX body
    (lambda raw: gzip.compress(b"\x00\x00\x08"), "shorter than the .*header"),       # short IDX header
    (lambda raw: gzip.compress(gzip.decompress(raw) + b"xx"), "longer than its header says"),
    (lambda raw: gzip.compress(b"\x00\x00\x08\x02" + gzip.decompress(raw)[4:]), "wrong IDX magic number 2050"),
])
def test_corrupt_gz_names_the_file_and_the_fix(tmp_path, fake_sums, which, damage, match):
    fake_sums("mnist", "train", *write_fake(tmp_path / "mnist"))   # the intact file passes
    fname = I.FILES["train"][0 if which == "images" else 1]
    path = tmp_path / "mnist" / fname
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=match) as err:
        I.load_images("mnist", "train", data_dir=tmp_path, download=False)
    msg = str(err.value)
    assert msg.startswith(str(path) + ":")                     # the file, in full
    assert "Delete it and download it again" in msg and "\n" not in msg


def test_checksum_mismatch(tmp_path):
    write_fake(tmp_path / "mnist")
    with pytest.raises(ValueError) as err:
        I.load_images("mnist", "train", data_dir=tmp_path, download=False)
    msg = str(err.value)
    assert "train-images-idx3-ubyte.gz" in msg and I.SHA256["mnist"]["train-images-idx3-ubyte.gz"] in msg
    assert "expected" in msg and "delete it and download it again" in msg


def test_labels_out_of_range(tmp_path, fake_sums):
    x, y = fake_split()
    y[3] = 11
    fake_sums("mnist", "train", *write_fake(tmp_path / "mnist", x=x, y=y))
    with pytest.raises(ValueError, match=r"labels must lie in 0..9, found \[11\]"):
        I.load_images("mnist", "train", data_dir=tmp_path, download=False)


def test_count_mismatch(tmp_path, fake_sums):
    x, y = fake_split()
    fake_sums("mnist", "train", *write_fake(tmp_path / "mnist", x=x, y=y[:-1]))
    with pytest.raises(ValueError, match="12 images but 11 labels"):
        I.load_images("mnist", "train", data_dir=tmp_path, download=False)


def test_wrong_image_size(tmp_path, fake_sums):
    x = np.zeros((3, 32, 32), np.uint8)
    y = np.zeros(3, np.uint8)
    fake_sums("mnist", "train", *write_fake(tmp_path / "mnist", x=x, y=y))
    with pytest.raises(ValueError, match=r"expected \(28, 28\)"):
        I.load_images("mnist", "train", data_dir=tmp_path, download=False)


# -- downloads -------------------------------------------------------------------



class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_from_local_server(tmp_path, monkeypatch, fake_sums):
    src = tmp_path / "server"
    fake_sums("fashion-mnist", "train", *write_fake(src))
    handler = lambda *a, **k: _Quiet(*a, directory=str(src), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        # first mirror is dead (404): the loader must fall through to the next
        monkeypatch.setattr(I, "MIRRORS", {"fashion-mnist": (base + "nothing/", base)})
        dest = tmp_path / "root"
        x, y = I.load_images("fashion-mnist", "train", data_dir=dest)
    finally:
        server.shutdown()
        server.server_close()
    assert x.shape == (12, 28, 28)
    files = sorted(p.name for p in (dest / "fashion-mnist").iterdir())
    assert files == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_download_checksum_mismatch_leaves_nothing(tmp_path, monkeypatch):
    src = tmp_path / "server"
    write_fake(src)  # checksums are the real ones: the fake contents fail them
    monkeypatch.setattr(I, "MIRRORS", {"mnist": (src.as_uri() + "/",)})
    dest = tmp_path / "root"
    with pytest.raises(RuntimeError) as err:
        I.load_images("mnist", "train", data_dir=dest)
    msg = str(err.value)
    assert "SHA-256" in msg and "expected" in msg and "by hand" in msg
    assert list((dest / "mnist").iterdir()) == []   # no partial or temporary file


def test_download_interrupted_leaves_nothing(tmp_path, monkeypatch, fake_sums):
    raw_img, raw_lab = write_fake(tmp_path / "src")
    fake_sums("mnist", "train", raw_img, raw_lab)
    payload = (tmp_path / "src" / "train-images-idx3-ubyte.gz").read_bytes()

    class Broken:
        def __init__(self):
            self.sent = False

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def read(self, n):
            if not self.sent:
                self.sent = True
                return payload[: len(payload) // 2]
            raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(I, "urlopen", lambda url, timeout: Broken())
    monkeypatch.setattr(I, "MIRRORS", {"mnist": ("https://example.invalid/",)})
    with pytest.raises(RuntimeError, match="connection reset"):
        I.download("mnist", "train-images-idx3-ubyte.gz", tmp_path / "dst" / "train-images-idx3-ubyte.gz")
    assert list((tmp_path / "dst").iterdir()) == []


def test_download_via_patched_urlopen(tmp_path, monkeypatch, fake_sums):
    import io
    raw_img, raw_lab = write_fake(tmp_path / "src", split="test")
    fake_sums("mnist", "test", raw_img, raw_lab)
    seen = []

    def fake_urlopen(url, timeout):
        seen.append(url)
        return io.BytesIO((tmp_path / "src" / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(I, "urlopen", fake_urlopen)
    x, y = I.load_images("mnist", "test", data_dir=tmp_path / "dst")
    assert x.shape == (12, 28, 28)
    assert seen == [I.MIRRORS["mnist"][0] + f for f in I.FILES["test"]]


# -- built-in subset -------------------------------------------------------------

def test_builtin_subset():
    for split, n in (("train", 1000), ("test", 500)):
        x, y = I.load_builtin(split)
        assert x.dtype == np.uint8 and x.shape == (n, 28, 28)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(np.bincount(y, minlength=10), np.full(10, n // 10))
        assert 0 < x.mean() < 255
    xf, yf = I.load_builtin("test", limit=7, flatten=True)
    assert xf.shape == (7, 784) and yf.shape == (7,)


def test_save_builtin_is_atomic_and_roundtrips(tmp_path):
    arrays = {"train_images": np.zeros((2, 28, 28), np.uint8), "train_labels": np.array([1, 2], np.uint8)}
    out = I.save_builtin(arrays, tmp_path / "subset")
    assert out == tmp_path / "subset.npz"                     # as numpy names it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subset.npz"]   # no temporary file left
    with np.load(out, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["train_labels"], [1, 2])


def test_builtin_npz_has_no_pickles():
    with np.load(I._builtin_path(), allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


needs_shared = pytest.mark.skipif(not (SHARED / "fashion-mnist").is_dir(),
                                  reason="canonical files not found; set RSNN_BRIAN_DATA")


@needs_shared
@pytest.mark.dataset
def test_real_files_match_checksums():
    for name in I.DATASETS:
        for split in I.SPLITS:
            x, y = I.load_images(name, split, data_dir=SHARED, download=False)
            assert x.shape == ((60000 if split == "train" else 10000), 28, 28)
            assert set(np.unique(y)) == set(range(10))


@needs_shared
@pytest.mark.dataset
def test_builtin_regenerates_from_canonical_files():
    arrays = I.make_builtin_subset("fashion-mnist", data_dir=SHARED, download=False)
    for split in I.SPLITS:
        x, y = I.load_builtin(split)
        np.testing.assert_array_equal(arrays[f"{split}_images"], x)
        np.testing.assert_array_equal(arrays[f"{split}_labels"], y)
        full_x, full_y = I.load_images("fashion-mnist", split, data_dir=SHARED, download=False)
        np.testing.assert_array_equal(full_x[arrays[f"{split}_index"]], x)
