"""Fashion-MNIST (Xiao et al. 2017) as tensors, from Debian's ``dataset-fashion-mnist`` package.

The package installs the four standard IDX ``.gz`` files in :data:`DEFAULT_DIR`
(``dpkg -L dataset-fashion-mnist``); their SHA-256 digests are pinned. ``--data DIR``
reads the same four files (raw or ``.gz``) from DIR instead, unchecked (tests write
small ones). Same layout as MNIST: 60,000 + 10,000 images of 28 × 28, labels 0..9.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pacbits.data.errors import DataError
from pacbits.data.mnist import IDX_NAMES, Dataset, _check, _read_idx_dir, sha256

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
INSTALL = "apt-get install dataset-fashion-mnist"
#: SHA-256 of the package's files (the upstream zalandoresearch release).
SHA256 = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}


def load_fashion_mnist(data_dir: str | Path | None = None) -> Dataset:
    """Load Fashion-MNIST from ``data_dir`` (any four IDX files) or the package's folder (checksums verified)."""
    import torch

    if data_dir is None:
        folder = DEFAULT_DIR
        missing = [n for n in SHA256 if not (folder / n).is_file()]
        if missing:
            raise DataError(f"Fashion-MNIST not found in {folder}: install it with `{INSTALL}`, "
                            "or pass a folder of its IDX files as --data DIR")
        for name, want in SHA256.items():
            got = sha256(folder / name)
            if got != want:
                raise DataError(f"{folder / name}: SHA-256 {got}, expected {want}: reinstall with "
                                f"`apt-get install --reinstall dataset-fashion-mnist`")
    else:
        folder = Path(data_dir)
    arrays = _read_idx_dir(folder)
    _check(arrays, str(folder))
    x = {k: torch.from_numpy(arrays[k]).to(torch.float32).div_(255).unsqueeze(1) for k in ("train_x", "test_x")}
    y = {k: torch.from_numpy(arrays[k].astype(np.int64)) for k in ("train_y", "test_y")}
    return Dataset(**x, **y, name="fashion-mnist", source=str(folder))


__all__ = ["DEFAULT_DIR", "IDX_NAMES", "SHA256", "load_fashion_mnist"]
