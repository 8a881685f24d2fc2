import numpy as np
import pytest
import torch

from pacbits.data import DataError, load_mnist, read_idx, write_idx


@pytest.mark.parametrize("dtype", ["u1", "i1", "<i2", "<i4", "<f4", "<f8"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_then_read(tmp_path, dtype, suffix):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    back = read_idx(write_idx(tmp_path / f"a{suffix}", a))
    assert back.dtype == a.dtype.newbyteorder("=") and np.array_equal(back, a)


def test_unsupported_dtype(tmp_path):
    with pytest.raises(DataError, match="cannot hold"):
        write_idx(tmp_path / "a", np.zeros(3, np.uint16))


def test_tiny_mnist_loads(tiny_mnist_dir):
    d = load_mnist(tiny_mnist_dir)
    assert d.train_x.shape == (400, 1, 28, 28) and d.test_y.shape == (100,) and d.train_x.max() <= 1
    assert d.train_y.dtype == torch.int64
