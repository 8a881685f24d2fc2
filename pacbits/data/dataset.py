"""The in-memory data set every experiment and ``certify`` takes, and its IDX-folder loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pacbits.data.errors import DataError
from pacbits.data.idx import read_idx

if TYPE_CHECKING:  # listing the data sets (pacbits plugins) loads no torch
    import torch

#: the four files of an IDX data set folder (MNIST's names; Fashion-MNIST and others reuse them)
IDX_NAMES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True, eq=False)  # tensors have no boolean ==
class Dataset:
    """Inputs as float32 tensors ``(N, ...)`` (images ``(N, C, H, W)``), labels as int64 ``(N,)`` in ``[0, classes)``.

    ``name`` is the data set's id, ``source`` where it was read from.
    """

    train_x: torch.Tensor = field(repr=False)
    train_y: torch.Tensor = field(repr=False)
    test_x: torch.Tensor = field(repr=False)
    test_y: torch.Tensor = field(repr=False)
    name: str
    source: str

    @property
    def num_classes(self) -> int:
        """``1 + max label`` over both splits."""
        return 1 + int(max(self.train_y.max(), self.test_y.max()))


def check_dataset(data: Dataset, where: str) -> Dataset:
    """Float inputs and 1-D int64 labels, one per input, N > 0, labels >= 0; DataError otherwise."""
    import torch

    for split in ("train", "test"):
        x, y = getattr(data, f"{split}_x"), getattr(data, f"{split}_y")
        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            raise DataError(f"{where}: {split} inputs and labels must be tensors")
        if not x.is_floating_point() or x.dim() < 2 or not len(x):
            raise DataError(f"{where}: {split} inputs: expected a floating tensor (N, ...) with N > 0, "
                            f"got {x.dtype} {tuple(x.shape)}")
        if y.dtype != torch.int64 or y.dim() != 1 or len(y) != len(x):
            raise DataError(f"{where}: {split} labels: expected int64 (N,) with N = {len(x)}, "
                            f"got {y.dtype} {tuple(y.shape)}")
        if int(y.min()) < 0:
            raise DataError(f"{where}: {split} labels must be >= 0")
    return data


def load_idx_folder(folder: str | Path, name: str = "idx") -> Dataset:
    """The four IDX files of :data:`IDX_NAMES` (raw or ``.gz``) in ``folder``, any input shape.

    Integer inputs are scaled by 1/255 (uint8 pixels to [0, 1]); ``(N, H, W)`` images
    gain a channel axis, ``(N, 1, H, W)``; labels become int64.
    """
    import torch

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of IDX files")
    arrays = {}
    for key, base in IDX_NAMES.items():
        path = next((p for p in (folder / base, folder / f"{base}.gz") if p.is_file()), None)
        if path is None:
            raise DataError(f"{folder}: missing {base}[.gz]; an IDX data set folder holds "
                            f"{', '.join(n + '[.gz]' for n in IDX_NAMES.values())}")
        arrays[key] = read_idx(path)
    out = {}
    for key in ("train_x", "test_x"):
        a = arrays[key]
        x = torch.from_numpy(a.astype(np.float32) / 255 if a.dtype.kind in "iu" else a.astype(np.float32))
        out[key] = x.unsqueeze(1) if x.dim() == 3 else x
    for key in ("train_y", "test_y"):
        if arrays[key].dtype.kind not in "iu":
            raise DataError(f"{folder}: {IDX_NAMES[key]}: labels must be integers, got {arrays[key].dtype}")
        out[key] = torch.from_numpy(arrays[key].astype(np.int64))
    return check_dataset(Dataset(**out, name=name, source=str(folder)), str(folder))
