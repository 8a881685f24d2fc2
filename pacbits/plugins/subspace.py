"""``subspace``: θ = θ₀ + P·w over every floating tensor of a named model (Li et al. 2018).

Only the d coordinates ``w`` are coded (one dense tensor named ``w``); θ₀ and the
D × d projection P are regenerated from the seed (``pacbits.core.regen``: Philox raw
words, exact transforms), or θ₀ is a transfer prior named by its SHA-256. With
``b_t = 1/√fan_in(t)`` for the tensor t holding parameter i (PyTorch's default scale):

- θ₀ (``init="uniform-fan-in"``): ``θ₀ᵢ = (2uᵢ − 1)·b_t``, u from stream 0;
  (``init="prior"``): the supplied state_dict, checked against ``prior_sha256``.
- row scale ``ρᵢ = b_t / √(mean_i b²)`` (``scale="fan-in"``) or 1 (``"flat"``).
- ``sparse``: k nonzeros ``±1`` per row at columns ``c_ij`` (stream 1: column from the top
  32 bits, sign from the lowest bit), ``(P·w)ᵢ = ρᵢ·√(d/(D·k))·Σ_j s_ij·w[c_ij]``.
- ``dense``: ``P_ij = ρᵢ·s_ij/√D``, column j's signs from stream ``2³² + j``.
- ``kronecker``: ``P = ρ·(A ⊗ B)/√D`` truncated to D rows and d columns, A (D₁ × d₁) and
  B (D₂ × d₂) ±1 from streams 1 and 2, D₁ = ⌈√D⌉, D₂ = ⌈D/D₁⌉, d₁ = ⌈√d⌉, d₂ = ⌈d/d₁⌉.

Decoding accumulates in float64 in a fixed order (a loop over the k nonzeros, the d
columns or the Kronecker factors, each step one elementwise ``acc + a·b``), never BLAS,
then rounds once to each tensor's dtype: the same bytes on any machine and thread count.

Stream bytes (:meth:`to_bytes`): ``block(model) | seed | d | kind byte | k`` (varints; kind
byte = projection + 4·init + 8·scale), then the 32-byte SHA-256 of the prior if ``init="prior"``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from pacbits.core import ConfigError, DecodeError, hookimpl
from pacbits.core import container, regen
from pacbits.core.bitio import Reader, block, uvarint
from pacbits.core.parametrization import Identity, Parametrization, state_dict_sha256

if TYPE_CHECKING:
    import torch

PROJECTIONS = ("sparse", "kronecker", "dense")
INITS = ("uniform-fan-in", "prior")
SCALES = ("fan-in", "flat")
COORDS = "w"


def _conv(name: str, cin: int, cout: int, k: int) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{name}.weight", (cout, cin, k, k)), (f"{name}.bias", (cout,))]


def _fc(name: str, fin: int, fout: int) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{name}.weight", (fout, fin)), (f"{name}.bias", (fout,))]


#: The floating tensors ``(name, shape)`` of each model of :func:`model_factories`, in state_dict order,
#: all float32: known without building the model, so that inspecting a stream loads no torch
#: (tests/test_subspace.py checks them against the models).
TEMPLATES = {
    "lenet5": [*_conv("conv1", 1, 20, 5), *_conv("conv2", 20, 50, 5), *_fc("fc1", 800, 500), *_fc("fc2", 500, 10)],
    "lenet5-small": [*_conv("conv1", 1, 6, 5), *_conv("conv2", 6, 16, 5), *_fc("fc1", 400, 120),
                     *_fc("fc2", 120, 84), *_fc("fc3", 84, 10)],
    "lenet-300-100": [*_fc("fc1", 784, 300), *_fc("fc2", 300, 100), *_fc("fc3", 100, 10)],
}


def model_factories() -> dict:
    """Model ids a subspace stream may name: the architecture fixes the tensors' names and shapes."""
    from pacbits import models

    return {"lenet5": models.lenet5, "lenet5-small": models.lenet5_small, "lenet-300-100": models.lenet300_100}


class Subspace(Parametrization):
    """θ = θ₀ + P·w over every floating tensor of ``model``; see the module docstring."""

    id = "subspace"

    def __init__(self, model: str, d: int, seed: int = 0, projection: str = "sparse", k: int = 8,
                 init: str = "uniform-fan-in", scale: str = "fan-in", prior_sha256: str | None = None):
        if model not in TEMPLATES:
            raise ConfigError(f"subspace: unknown model {model!r}; known: {', '.join(sorted(TEMPLATES))}")
        if projection not in PROJECTIONS:
            raise ConfigError(f"subspace: unknown projection {projection!r}; expected one of {', '.join(PROJECTIONS)}")
        if init not in INITS:
            raise ConfigError(f"subspace: unknown init {init!r}; expected one of {', '.join(INITS)}")
        if scale not in SCALES:
            raise ConfigError(f"subspace: unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
        if not (isinstance(seed, int) and 0 <= seed <= regen.MAX_SEED):
            raise ConfigError(f"subspace: seed must be an integer in [0, 2**64), got {seed!r}")
        if not (isinstance(k, int) and k >= 1):
            raise ConfigError(f"subspace: k must be an integer >= 1, got {k!r}")
        if (init == "prior") != (prior_sha256 is not None):
            raise ConfigError("subspace: prior_sha256 is required with init='prior' and only then")
        if prior_sha256 is not None and (len(prior_sha256) != 64 or any(c not in "0123456789abcdef" for c in prior_sha256)):
            raise ConfigError(f"subspace: prior_sha256 must be 64 lowercase hex digits, got {prior_sha256!r}")
        self.template = [(n, s, "torch.float32") for n, s in TEMPLATES[model]]
        self.D = sum(math.prod(s) for _, s, _ in self.template)
        if not (isinstance(d, int) and 1 <= d <= self.D):
            raise ConfigError(f"subspace: d must be an integer in [1, D = {self.D}] for model {model!r}, got {d!r}")
        self.model, self.d, self.seed, self.projection, self.k = model, d, seed, projection, k
        self.init, self.scale, self.prior_sha256 = init, scale, prior_sha256
        self._ops: dict | None = None
        self._theta0: np.ndarray | None = None

    # -- the stream bytes ------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        kind = PROJECTIONS.index(self.projection) + 4 * INITS.index(self.init) + 8 * SCALES.index(self.scale)
        out = block(self.model.encode()) + uvarint(self.seed) + uvarint(self.d) + bytes([kind]) + uvarint(self.k)
        return out + (bytes.fromhex(self.prior_sha256) if self.prior_sha256 else b"")

    @classmethod
    def from_bytes(cls, data: bytes) -> "Subspace":
        rd = Reader(data, "subspace parametrization")
        try:
            model = rd.block().decode()
        except UnicodeDecodeError:
            raise DecodeError("subspace parametrization: model id is not UTF-8") from None
        seed, d, kind, k = rd.uvarint(1 << 64), rd.uvarint(1 << 32), rd.u8(), rd.uvarint(1 << 32)
        if kind % 4 >= len(PROJECTIONS) or kind >= 16:
            raise DecodeError(f"subspace parametrization: bad kind byte {kind}")
        init = INITS[(kind >> 2) & 1]
        sha = rd.take(32).hex() if init == "prior" else None
        rd.expect_end()
        try:
            return cls(model, d, seed, PROJECTIONS[kind % 4], k, init, SCALES[kind >> 3], sha)
        except ConfigError as e:
            raise DecodeError(str(e)) from None

    # -- the map ---------------------------------------------------------------------------
    def coordinates(self, state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The coordinates: ``state_dict`` must be ``{"w": tensor of shape (d,)}`` (a SubspaceNet's); float16
        stays float16 (its codebook costs 16 bits a value), any other float becomes float32."""
        import torch

        w = state_dict.get(COORDS) if isinstance(state_dict, Mapping) else None
        if set(state_dict) != {COORDS} or w is None or tuple(w.shape) != (self.d,) or not w.is_floating_point():
            raise ConfigError(f"subspace: expected the coordinates {{'w': float tensor of shape ({self.d},)}} "
                              f"(a SubspaceNet's state_dict), got keys {sorted(state_dict)[:5]}")
        return {COORDS: w.detach().cpu().to(torch.float16 if w.dtype == torch.float16 else torch.float32)}

    def expand(self, coords, prior=None) -> dict[str, torch.Tensor]:
        import torch

        w = coords.get(COORDS)
        if set(coords) != {COORDS} or w is None or tuple(w.shape) != (self.d,):
            raise DecodeError(f"subspace: the stream must hold one coordinate tensor 'w' of shape ({self.d},)")
        theta = self.theta(w.detach().cpu().numpy().astype(np.float64), prior)
        out, i = {}, 0
        for name, shape, dtype in self.template:
            n = math.prod(shape)
            out[name] = torch.from_numpy(theta[i:i + n].reshape(shape).copy()).to(container.torch_dtype(dtype))
            i += n
        return out

    def theta(self, w: np.ndarray, prior: Mapping[str, torch.Tensor] | None = None) -> np.ndarray:
        """θ₀ + P·w as float64 in the template's order, accumulated in the fixed order."""
        ops = self.operators()
        theta0 = self.theta0(prior)
        if self.projection == "sparse":
            acc = np.zeros(self.D)
            for j in range(self.k):
                acc = acc + ops["signs"][j] * w[ops["cols"][j]]
        elif self.projection == "dense":
            acc = np.zeros(self.D)
            for j in range(self.d):
                acc = acc + self.dense_column(j) * w[j]
        else:
            a, b = ops["A"], ops["B"]
            W = np.zeros(a.shape[1] * b.shape[1])
            W[:self.d] = w
            W = W.reshape(a.shape[1], b.shape[1])
            M = np.zeros((a.shape[0], b.shape[1]))
            for j in range(a.shape[1]):
                M = M + a[:, j:j + 1] * W[j:j + 1, :]
            T = np.zeros((a.shape[0], b.shape[0]))
            for j in range(b.shape[1]):
                T = T + M[:, j:j + 1] * b[None, :, j]
            acc = T.reshape(-1)[:self.D]
        return theta0 + ops["row"] * acc

    def theta0(self, prior: Mapping[str, torch.Tensor] | None = None) -> np.ndarray:
        """θ₀ as float64: regenerated from the seed, or the transfer prior (checked against its hash)."""
        if self.init == "prior":
            if prior is None:
                raise DecodeError(f"this stream's θ₀ is a transfer prior (state_dict SHA-256 {self.prior_sha256[:16]}…): "
                                  "supply it (decompress --prior FILE)")
            got = state_dict_sha256(prior)
            if got != self.prior_sha256:
                raise DecodeError(f"wrong transfer prior: the stream needs state_dict SHA-256 {self.prior_sha256[:16]}…, "
                                  f"the file has {got[:16]}…")
            return np.concatenate([prior[n].detach().cpu().numpy().astype(np.float64).reshape(-1)
                                   for n, _, _ in self.template])
        if self._theta0 is None:
            u = regen.uniform(regen.raw(self.seed, 0, self.D))
            self._theta0 = (2.0 * u - 1.0) * self.bounds()
        return self._theta0

    def fan_ins(self) -> list[int]:
        """Each tensor's fan-in: ``prod(shape[1:])``; a 1-D tensor (a bias) takes its module's weight's."""
        fan = {n.rsplit(".", 1)[0]: math.prod(s[1:]) for n, s, _ in self.template if len(s) >= 2}
        return [math.prod(s[1:]) if len(s) >= 2 else fan.get(n.rsplit(".", 1)[0], max(1, math.prod(s)))
                for n, s, _ in self.template]

    def bounds(self) -> np.ndarray:
        """``b_t = 1/√fan_in(t)`` for every parameter."""
        return np.concatenate([np.full(math.prod(s), 1.0 / math.sqrt(float(f)))
                               for (_, s, _), f in zip(self.template, self.fan_ins())])

    def operators(self) -> dict[str, np.ndarray]:
        """The regenerated projection (cached): ``row`` (ρᵢ times the global scale) and the kind's arrays."""
        if self._ops is not None:
            return self._ops
        D, d = self.D, self.d
        if self.scale == "fan-in":
            mean_sq = sum(math.prod(s) / f for (_, s, _), f in zip(self.template, self.fan_ins())) / D
            row = self.bounds() * (1.0 / math.sqrt(mean_sq))
        else:
            row = np.ones(D)
        ops = {}
        if self.projection == "sparse":
            words = regen.raw(self.seed, 1, D * self.k).reshape(D, self.k).T.copy()  # (k, D): row j = nonzero j
            ops["cols"], ops["signs"] = regen.below(words, d), regen.signs(words)
            ops["row"] = row * math.sqrt(d / (D * self.k))
        elif self.projection == "dense":
            ops["row"] = row * (1.0 / math.sqrt(D))
        else:
            D1 = math.isqrt(D - 1) + 1
            D2, d1 = -(-D // D1), math.isqrt(d - 1) + 1
            d2 = -(-d // d1)
            ops["A"] = regen.sign_bits(self.seed, 1, D1 * d1).reshape(D1, d1)
            ops["B"] = regen.sign_bits(self.seed, 2, D2 * d2).reshape(D2, d2)
            ops["row"] = row * (1.0 / math.sqrt(D))
        self._ops = ops
        return ops

    def dense_column(self, j: int) -> np.ndarray:
        """Column j of the dense projection's signs (stream 2³² + j)."""
        return regen.sign_bits(self.seed, (1 << 32) + j, self.D)


@hookimpl
def register_parametrizations():
    return [Identity, Subspace]
