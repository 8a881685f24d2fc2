"""``kmeans``: a per-tensor k-means codebook of ``2**bits`` centers (Deep Compression).

One code is reserved for exact zero (``zero_code``), as in the paper; the other
``2**bits - 1`` centers come from Lloyd's algorithm on the kept weights with
linear initialisation over ``[min, max]``. Fewer distinct values than centers
gives one center per distinct value.
"""
from __future__ import annotations

import numpy as np
import torch

from pacbits.core import ConfigError, Quantizer, hookimpl


def lloyd_1d(x: np.ndarray, centers: np.ndarray, iters: int) -> np.ndarray:
    """Lloyd's algorithm in one dimension: assign by sorted midpoints, move to cluster means."""
    for _ in range(iters):
        centers = np.sort(centers)
        assign = np.searchsorted((centers[1:] + centers[:-1]) / 2, x)
        sums = np.bincount(assign, weights=x, minlength=centers.size)
        counts = np.bincount(assign, minlength=centers.size)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), centers)
        if np.allclose(new, centers, rtol=0, atol=0):
            break
        centers = new
    return np.sort(centers)


class KMeansQuantizer(Quantizer):
    id = "kmeans"

    def __init__(self, bits: int = 4, zero_code: bool = True, iters: int = 50, dtype: str = "float32"):
        if not 1 <= int(bits) <= 16:
            raise ConfigError(f"bits must lie in [1, 16], got {bits}")
        if dtype not in ("float32", "float16"):
            raise ConfigError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
        self.bits, self.zero_code, self.iters, self.dtype = int(bits), bool(zero_code), int(iters), dtype

    def quantize(self, name: str, values: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        x = values.detach().double().numpy().reshape(-1)
        n_centers = 2**self.bits - int(self.zero_code)
        distinct = np.unique(x)
        if distinct.size <= n_centers:
            centers = distinct
        else:
            centers = lloyd_1d(x, np.linspace(x.min(), x.max(), n_centers), self.iters)
        codebook = centers.astype(self.dtype)
        if self.zero_code:
            codebook = np.concatenate([np.zeros(1, self.dtype), codebook])
        # assign each value to its nearest center *as stored*, so coded == evaluated
        cb = codebook.astype(np.float64)
        order = np.argsort(cb, kind="stable")
        mids = (cb[order][1:] + cb[order][:-1]) / 2
        idx = order[np.searchsorted(mids, x)] if x.size else np.zeros(0, np.int64)
        return codebook, idx.astype(np.int64)


@hookimpl
def register_quantizers():
    return [KMeansQuantizer]
