"""``uniform``: a codebook of ``2**bits`` evenly spaced levels over ``[min, max]`` of the kept weights.

It works one-shot (in the codec) and during training (:class:`pacbits.core.TrainingTime`):
``attach`` snaps each weight tensor's kept weights to its levels, which then stay
fixed (nothing to fine-tune), so re-quantizing the trained network in the codec
reproduces exactly the weights it computed with.
"""
from __future__ import annotations

import numpy as np
import torch

from pacbits.core import ConfigError, Quantizer, TrainingTime, reparam


class UniformQuantizer(Quantizer, TrainingTime):
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

    def attach(self, model: torch.nn.Module, steps: int | None = None) -> list:
        """Replace each weight tensor by its levels (a frozen :class:`~pacbits.core.reparam.Codebook`)."""
        reparam.detach(model)

        def make(name: str, w: torch.Tensor) -> reparam.Codebook:
            kept = w != 0
            codebook, idx = self.quantize(name, w[kept].float())
            index = torch.zeros(w.shape, dtype=torch.int64)
            index[kept] = torch.from_numpy(idx + 1)  # slot 0 of the table is exact zero
            table = reparam.Codebook(torch.from_numpy(codebook.astype(np.float32)), index, getattr(torch, self.dtype))
            table.centers.requires_grad_(False)
            return table

        reparam.install(model, reparam.target_tensors(model), make)
        return []  # the levels are fixed by [min, max]: nothing to fine-tune
