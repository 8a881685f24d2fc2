"""Fashion-MNIST loading: IDX files the test writes, the package's folder, a one-line error when absent."""
import numpy as np
import pytest

from pacbits.data import DataError, write_mnist_dir
from pacbits.data import fashion_mnist
from pacbits.data.fashion_mnist import load_fashion_mnist


def test_loads_idx_files_from_a_folder(tmp_path):
    rng = np.random.default_rng(0)
    tx, ty = rng.integers(0, 256, (30, 28, 28)), rng.integers(0, 10, 30)
    sx, sy = rng.integers(0, 256, (10, 28, 28)), rng.integers(0, 10, 10)
    write_mnist_dir(tmp_path, tx, ty, sx, sy)
    d = load_fashion_mnist(tmp_path)
    assert d.name == "fashion-mnist" and d.train_x.shape == (30, 1, 28, 28) and d.test_y.tolist() == sy.tolist()
    assert np.array_equal((d.train_x[:, 0] * 255).round().numpy().astype(np.uint8), tx.astype(np.uint8))


def test_missing_package_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEFAULT_DIR", tmp_path / "absent")
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist") as e:
        load_fashion_mnist()
    assert "\n" not in str(e.value)


def test_checksums_are_verified(tmp_path, monkeypatch):
    for name in fashion_mnist.SHA256:
        (tmp_path / name).write_bytes(b"not the data")
    monkeypatch.setattr(fashion_mnist, "DEFAULT_DIR", tmp_path)
    with pytest.raises(DataError, match="SHA-256"):
        load_fashion_mnist()


@pytest.mark.skipif(not fashion_mnist.DEFAULT_DIR.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_the_installed_package_matches_its_pinned_checksums():
    d = load_fashion_mnist()
    assert d.train_x.shape == (60000, 1, 28, 28) and d.test_x.shape == (10000, 1, 28, 28)
    assert np.bincount(d.train_y.numpy()).tolist() == [6000] * 10
