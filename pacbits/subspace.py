"""Training in a random subspace: θ = θ₀ + P·w with only ``w`` trainable (Li et al. 2018).

:class:`SubspaceNet` wraps a :class:`~pacbits.plugins.subspace.Subspace` parametrization:
its only parameter is ``w`` (d values), so ``net.state_dict() == {"w": w}`` is exactly what
a codec with that parametrization codes. Training uses torch (float32, any kernel) on the
same θ₀ and P; the network that is evaluated and bounded is always the *decoded* one
(:meth:`Subspace.expand`, float64 in a fixed order).

Quantization-aware fine-tuning (:meth:`SubspaceNet.quantize`): ``w`` is assigned to L
centers (1-D k-means) and the forward pass uses ``c[a(w)]`` with straight-through
gradients to ``w`` (reassigned every step) and to the centers, rounded to float16 as coded.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from pacbits.plugins.kmeans import lloyd_1d
from pacbits.plugins.subspace import Subspace, model_factories


class SubspaceNet(nn.Module):
    """A model whose parameters are θ₀ + P·w; ``state_dict()`` holds ``w`` only."""

    def __init__(self, param: Subspace, prior: Mapping[str, torch.Tensor] | None = None):
        super().__init__()
        self.param = param
        self._net = [model_factories()[param.model]()]  # in a list: not a submodule, not in state_dict
        ops = param.operators()
        self.register_buffer("theta0", torch.from_numpy(param.theta0(prior)).float(), persistent=False)
        row = torch.from_numpy(ops["row"]).float()
        if param.projection == "sparse":
            self.register_buffer("cols", torch.from_numpy(ops["cols"].T.copy()), persistent=False)
            self.register_buffer("coef", torch.from_numpy(ops["signs"].T.copy()).float() * row[:, None], persistent=False)
        elif param.projection == "dense":
            cols = [torch.from_numpy(param.dense_column(j)).float() for j in range(param.d)]
            self.register_buffer("P", torch.stack(cols, 1) * row[:, None], persistent=False)
        else:
            self.register_buffer("A", torch.from_numpy(ops["A"]).float(), persistent=False)
            self.register_buffer("B", torch.from_numpy(ops["B"]).float(), persistent=False)
            self.register_buffer("row", row, persistent=False)
        self.w = nn.Parameter(torch.zeros(param.d))
        self.centers: nn.Parameter | None = None
        self.names = [(n, s) for n, s, _ in param.template]

    def project(self, w: torch.Tensor) -> torch.Tensor:
        """P·w in float32 (training only)."""
        if self.param.projection == "sparse":
            return (self.coef * w[self.cols]).sum(1)
        if self.param.projection == "dense":
            return self.P @ w
        d1, d2 = self.A.shape[1], self.B.shape[1]
        W = torch.cat([w, w.new_zeros(d1 * d2 - w.numel())]).view(d1, d2)
        return self.row * (self.A @ W @ self.B.T).reshape(-1)[: self.param.D]

    def effective_w(self) -> torch.Tensor:
        """``w``, or its quantized value with straight-through gradients once :meth:`quantize` ran."""
        if self.centers is None:
            return self.w
        c = self.centers.half().float() + (self.centers - self.centers.detach())  # evaluate as coded (float16)
        idx = assign(self.w.detach(), c.detach())
        q = c[idx]
        return q + (self.w - self.w.detach())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        theta = self.theta0 + self.project(self.effective_w())
        params, i = {}, 0
        for name, shape in self.names:
            n = math.prod(shape)
            params[name] = theta[i:i + n].view(shape)
            i += n
        return functional_call(self._net[0], params, (x,))

    def quantize(self, levels: int, iters: int = 50) -> None:
        """Start quantization-aware training: k-means (Lloyd, quantile start) on ``w`` to ``levels`` centers."""
        w = self.w.detach().double().numpy()
        start = np.quantile(w, (np.arange(levels) + 0.5) / levels)
        c = lloyd_1d(w, start, iters)
        self.centers = nn.Parameter(torch.from_numpy(c).float())

    def quantized_w(self) -> torch.Tensor:
        """The coded coordinates: each ``w`` replaced by its float16-rounded center (never exactly 0)."""
        c = self.centers.detach().half().float()
        c = torch.where(c == 0, torch.tensor(2.0 ** -24), c)  # 0 would read as a pruned position
        return c[assign(self.w.detach(), c)].clone()


def assign(w: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Index of the nearest center of each entry (ties: the lower center)."""
    order = torch.argsort(centers)
    s = centers[order]
    mids = (s[1:] + s[:-1]) / 2
    return order[torch.searchsorted(mids, w.contiguous())]
