"""``uniform``: a codebook of ``2**bits`` evenly spaced levels over ``[min, max]`` of the kept weights."""
from __future__ import annotations

import numpy as np
import torch

from pacbits.core import ConfigError, Quantizer


class UniformQuantizer(Quantizer):
    id = "uniform"

    def __init__(self, bits: int = 4, dtype: str = "float32"):
        if not 1 <= int(bits) <= 16:
            raise ConfigError(f"bits must lie in [1, 16], got {bits}")
        if dtype not in ("float32", "float16"):
            raise ConfigError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
        self.bits, self.dtype = int(bits), dtype

    def quantize(self, name: str, values: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        x = values.detach().double().numpy().reshape(-1)
        if not x.size:
            return np.zeros(0, self.dtype), np.zeros(0, np.int64)
        levels = 2**self.bits if x.max() > x.min() else 1
        codebook = np.linspace(x.min(), x.max(), levels).astype(self.dtype)
        # nearest level *as stored*, so the coded weights are the evaluated ones
        cb = codebook.astype(np.float64)
        return codebook, np.searchsorted((cb[1:] + cb[:-1]) / 2, x).astype(np.int64)
