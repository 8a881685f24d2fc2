"""Training in a random subspace: θ = θ₀ + P·w with only ``w`` trainable (Li et al. 2018).

:class:`SubspaceNet` wraps a :class:`~pacbits.plugins.subspace.Subspace` parametrization:
its only parameter is ``w`` (d values), so ``net.state_dict() == {"w": w}`` is exactly what
a codec with that parametrization codes. Training uses torch (float32, any kernel) on the
same θ₀ and P; the network that is evaluated and bounded is always the *decoded* one
(:meth:`Subspace.expand`, float64 in a fixed order).

Quantization-aware fine-tuning (:meth:`SubspaceNet.quantize`): ``w`` is assigned to L
centers (1-D k-means) and the forward pass uses ``c[a(w)]`` with straight-through
gradients to ``w`` (reassigned every step) and to the centers, rounded to float16 as coded.
With ``rate`` μ > 0 the assignment is entropy-constrained (ECSQ, Chou, Lookabaugh & Gray 1989):
``a(w) = argmin_j (w − c_j)²/var(w) + μ·(−log2 p_j)``, p the centers' current frequencies, so the
frequent centers grow and the coded indices (≈ d·H(p) bits) shrink; the decoder never sees μ.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import scipy.sparse
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
            D, k = self.cols.shape
            P = scipy.sparse.csr_matrix((self.coef.reshape(-1).numpy(), (np.repeat(np.arange(D), k),
                                         self.cols.reshape(-1).numpy())), shape=(D, param.d))
            self._csr = (P, P.T.tocsr())  # CPU training: a CSR mat-vec each way, ~6x faster than gather/scatter
        elif param.projection == "dense":
            cols = [torch.from_numpy(param.dense_column(j)).float() for j in range(param.d)]
            self.register_buffer("P", torch.stack(cols, 1) * row[:, None], persistent=False)
        else:
            self.register_buffer("A", torch.from_numpy(ops["A"]).float(), persistent=False)
            self.register_buffer("B", torch.from_numpy(ops["B"]).float(), persistent=False)
            self.register_buffer("row", row, persistent=False)
        self.w = nn.Parameter(torch.zeros(param.d))
        self.centers: nn.Parameter | None = None
        self.rate = 0.0
        self._var = 1.0
        self._counts: torch.Tensor | None = None
        self.names = [(n, s) for n, s, _ in param.template]

    def project(self, w: torch.Tensor) -> torch.Tensor:
        """P·w in float32 (training only)."""
        if self.param.projection == "sparse":
            if w.device.type == "cpu":
                return _CsrMatVec.apply(w, *self._csr)
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
        idx = self._assign(c.detach())
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

    def _bias(self) -> torch.Tensor | None:
        """μ·var(w)·(−log2 p_j) from the last assignment's counts (None without a rate)."""
        if not self.rate or self._counts is None:
            return None
        p = (self._counts.double() + 0.5) / (self._counts.sum() + 0.5 * self._counts.numel())
        return (self.rate * self._var * -torch.log2(p)).float()

    def _assign(self, c: torch.Tensor) -> torch.Tensor:
        idx = assign(self.w.detach(), c, self._bias())
        self._counts = torch.bincount(idx, minlength=c.numel())
        return idx

    def quantize(self, levels: int, iters: int = 50, rate: float = 0.0) -> None:
        """Start quantization-aware training: k-means (Lloyd, quantile start) on ``w`` to ``levels`` centers,
        entropy-constrained with ``rate`` μ (then Lloyd steps alternate assignment, means and frequencies)."""
        w = self.w.detach().double().numpy()
        start = np.quantile(w, (np.arange(levels) + 0.5) / levels)
        c = lloyd_1d(w, start, iters)
        self.rate, self._var, self._counts = rate, float(w.var()) or 1.0, None
        self.centers = nn.Parameter(torch.from_numpy(c).float())
        if rate:
            for _ in range(iters):
                idx = self._assign(self.centers.detach())
                sums = torch.bincount(idx, weights=self.w.detach().double(), minlength=levels)
                keep = self._counts > 0
                self.centers.data[keep] = (sums[keep] / self._counts[keep]).float()

    def quantized_w(self) -> torch.Tensor:
        """The coded coordinates: each ``w`` replaced by its float16-rounded center (never exactly 0)."""
        c = self.centers.detach().half().float()
        c = torch.where(c == 0, torch.tensor(2.0 ** -24), c)  # 0 would read as a pruned position
        return c[self._assign(c)].clone()


class _CsrMatVec(torch.autograd.Function):
    """y = P·w with a scipy CSR matrix; the gradient is Pᵀ·g."""

    @staticmethod
    def forward(ctx, w, P, PT):
        ctx.PT = PT
        return torch.from_numpy(P @ w.detach().numpy())

    @staticmethod
    def backward(ctx, g):
        return torch.from_numpy(ctx.PT @ g.detach().numpy()), None, None


def assign(w: torch.Tensor, centers: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Index of the nearest center of each entry (ties: the lower center); with ``bias``,
    ``argmin_j (w − c_j)² + bias_j`` (ties: the first)."""
    if bias is not None:
        return ((w[:, None] - centers[None, :]) ** 2 + bias[None, :]).argmin(1)
    order = torch.argsort(centers)
    s = centers[order]
    mids = (s[1:] + s[:-1]) / 2
    return order[torch.searchsorted(mids, w.contiguous())]
