"""``kmeans``: a per-tensor k-means codebook of ``2**bits`` codes (Deep Compression, Han et al. 2016).

One code is reserved for exact zero (``zero_code``), as in the paper; the other
``2**bits - 1`` centers come from Lloyd's algorithm on the kept weights, started
from ``linear`` (evenly spaced over ``[min, max]``) or ``kmeans++`` (D² sampling,
Arthur and Vassilvitskii 2007) centers. Fewer distinct kept values than centers
gives one center per distinct value (a shorter codebook).

For training, :meth:`KMeansQuantizer.attach` replaces each target tensor by a
:class:`~pacbits.core.reparam.Codebook` with frozen assignments and trainable
centers; each center's gradient is the sum of its weights' gradients. The model
evaluates the centers rounded to ``dtype``, the dtype the codebook is coded in.
"""
from __future__ import annotations

import numbers
import zlib

from typing import TYPE_CHECKING

import numpy as np

from pacbits.core import ConfigError, Quantizer, TrainingTime, hookimpl
from pacbits.core import schedules

if TYPE_CHECKING:
    import torch

INITS = ("linear", "kmeans++")


def lloyd_1d(x: np.ndarray, centers: np.ndarray, iters: int) -> np.ndarray:
    """Lloyd's algorithm in one dimension: assign by sorted midpoints, move to cluster means.

    An empty cluster's center moves to the value farthest from its own center.
    """
    for _ in range(iters):
        centers = np.sort(centers)
        assign = np.searchsorted((centers[1:] + centers[:-1]) / 2, x)
        sums = np.bincount(assign, weights=x, minlength=centers.size)
        counts = np.bincount(assign, minlength=centers.size)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), centers)
        empty = np.flatnonzero(counts == 0)
        if empty.size:
            far = np.argsort((x - new[assign]) ** 2, kind="stable")[-empty.size:]
            new[empty] = x[far]
        if np.array_equal(new, centers):
            break
        centers = new
    return np.sort(centers)


def kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each next center drawn with probability ∝ squared distance to the nearest one.

    Needs at least ``k`` distinct values in ``x``.
    """
    centers = [x[rng.integers(x.size)]]
    d2 = (x - centers[0]) ** 2
    for _ in range(k - 1):
        centers.append(x[rng.choice(x.size, p=d2 / d2.sum())])
        d2 = np.minimum(d2, (x - centers[-1]) ** 2)
    return np.array(centers)


class KMeansQuantizer(Quantizer, TrainingTime):
    id = "kmeans"

    def __init__(self, bits: int = 4, zero_code: bool = True, iters: int = 50, dtype: str = "float32",
                 init: str = "linear", seed: int = 0, targets: str = "weights"):
        if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or not 1 <= bits <= 16:
            raise ConfigError(f"bits must be an integer in [1, 16], got {bits!r}")
        if dtype not in ("float32", "float16"):
            raise ConfigError(f"dtype must be 'float32' or 'float16', got {dtype!r}")
        if init not in INITS:
            raise ConfigError(f"init must be one of {INITS}, got {init!r}")
        if not isinstance(zero_code, (bool, np.bool_)):
            raise ConfigError(f"zero_code must be true or false, got {zero_code!r}")
        for name, value in (("iters", iters), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < 2**63:
                raise ConfigError(f"{name} must be an integer in [0, 2**63), got {value!r}")
        self.bits, self.zero_code, self.iters, self.dtype = int(bits), bool(zero_code), int(iters), dtype
        self.init, self.seed = init, int(seed)
        self.targets = schedules.check_targets(targets)

    def centers(self, name: str, x: np.ndarray) -> np.ndarray:
        """The ``2**bits - zero_code`` k-means centers of ``x`` (fewer if ``x`` has fewer distinct values)."""
        n_centers = 2**self.bits - int(self.zero_code)
        distinct = np.unique(x)
        if distinct.size <= n_centers:
            return distinct
        if self.init == "linear":
            start = np.linspace(x.min(), x.max(), n_centers)
        else:
            start = kmeans_pp(x, n_centers, np.random.default_rng([self.seed, zlib.crc32(name.encode())]))
        return lloyd_1d(x, start, self.iters)

    def quantize(self, name: str, values: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        x = values.detach().double().numpy().reshape(-1)
        codebook = self.centers(name, x).astype(self.dtype)
        if self.zero_code:
            codebook = np.concatenate([np.zeros(1, self.dtype), codebook])
        # assign each value to its nearest center *as stored*, so coded == evaluated
        cb = codebook.astype(np.float64)
        order = np.argsort(cb, kind="stable")
        mids = (cb[order][1:] + cb[order][:-1]) / 2
        idx = order[np.searchsorted(mids, x)] if x.size else np.zeros(0, np.int64)
        return codebook, idx.astype(np.int64)

    def attach(self, model: torch.nn.Module, steps: int | None = None) -> list[torch.nn.Parameter]:
        """Quantize each target tensor's nonzero weights and install a trainable codebook on it.

        Existing pacbits masks are baked in first (:func:`~pacbits.core.reparam.detach`);
        zeros stay exact zeros (slot 0). Returns the center parameters, to give an optimizer.
        """
        import torch

        from pacbits.core import reparam

        reparam.detach(model)
        dtype = getattr(torch, self.dtype)

        def make(name: str, w: torch.Tensor) -> reparam.Codebook:
            kept = w != 0
            codebook, idx = self.quantize(name, w[kept].float())
            index = torch.zeros(w.shape, dtype=torch.int64)
            # slot 0 of the Codebook table is zero: the zero code maps there, other codes shift by one
            index[kept] = torch.from_numpy(idx if self.zero_code else idx + 1)
            centers = codebook[1:] if self.zero_code else codebook
            return reparam.Codebook(torch.from_numpy(centers.astype(np.float32)), index, dtype)

        made = reparam.install(model, reparam.target_tensors(model, self.targets), make)
        return [cb.centers for cb in made.values()]


@hookimpl
def register_quantizers():
    return [KMeansQuantizer]
