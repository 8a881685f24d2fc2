"""Plain data exchanged between pruners, quantizers and coders (docs/architecture.md).

A compressed tensor is the paper's triplet (S, C, Q) (eq. 7): the decoded weight at
flat position ``i`` is ``C[Q[j]]`` if ``i == S[j]`` and 0 otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from .errors import DecodeError, EncodeError

#: Codebook dtypes a coder must support; the coded codebook *is* the evaluated one.
CODEBOOK_DTYPES = (np.dtype(np.float32), np.dtype(np.float16))


@dataclass(frozen=True, eq=False)
class Triplet:
    """Positions ``S`` (sorted flat indices), codebook ``C`` and indices ``Q`` of one tensor."""

    shape: tuple[int, ...]
    positions: np.ndarray  # int64, strictly increasing, in [0, numel)
    codebook: np.ndarray  # float32 or float16, finite, length r
    indices: np.ndarray  # int64, in [0, r), same length as positions

    @classmethod
    def build(cls, shape, positions, codebook, indices) -> "Triplet":
        """Convert to canonical dtypes and validate; raise :class:`EncodeError` if invalid."""
        t = cls(
            tuple(int(d) for d in shape),
            np.ascontiguousarray(positions, dtype=np.int64).reshape(-1),
            np.ascontiguousarray(codebook).reshape(-1),
            np.ascontiguousarray(indices, dtype=np.int64).reshape(-1),
        )
        t.validate()
        return t

    @classmethod
    def decoded(cls, shape, positions, codebook, indices) -> "Triplet":
        """:meth:`build` for a decoder: an invalid result raises :class:`DecodeError`."""
        try:
            return cls.build(shape, positions, codebook, indices)
        except EncodeError as e:
            raise DecodeError(f"payload decodes to an invalid triplet: {e}") from None

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def k(self) -> int:
        """Number of kept weights."""
        return int(self.positions.size)

    @property
    def r(self) -> int:
        """Codebook size."""
        return int(self.codebook.size)

    def counts(self) -> np.ndarray:
        """How many indices point at each codebook entry (length r)."""
        return np.bincount(self.indices, minlength=self.r)

    def validate(self) -> None:
        """Raise :class:`EncodeError` unless this is a well-formed triplet."""
        if any(d < 0 for d in self.shape):
            raise EncodeError(f"shape {self.shape} has a negative dimension")
        if self.codebook.dtype not in CODEBOOK_DTYPES:
            raise EncodeError(f"codebook dtype {self.codebook.dtype} is not float32 or float16")
        if not np.all(np.isfinite(self.codebook)):
            raise EncodeError("codebook holds NaN or Inf")
        if self.positions.shape != self.indices.shape:
            raise EncodeError(
                f"{self.positions.size} positions but {self.indices.size} indices; expected one index per position"
            )
        if self.k:
            if self.positions[0] < 0 or self.positions[-1] >= self.numel:
                raise EncodeError(f"positions must lie in [0, {self.numel}) for shape {self.shape}")
            if np.any(self.positions[1:] <= self.positions[:-1]):
                raise EncodeError("positions must be strictly increasing")
            if self.indices.min() < 0 or self.indices.max() >= self.r:
                raise EncodeError(f"indices must lie in [0, {self.r}) (codebook size)")

    def dense(self) -> np.ndarray:
        """The decoded float32 tensor (paper eq. 7)."""
        out = np.zeros(self.numel, dtype=np.float32)
        out[self.positions] = self.codebook.astype(np.float32)[self.indices]
        return out.reshape(self.shape)

    def equals(self, other: "Triplet") -> bool:
        """Exact equality, codebook compared bitwise and by dtype."""
        return (
            self.shape == other.shape
            and self.codebook.dtype == other.codebook.dtype
            and np.array_equal(self.positions, other.positions)
            and np.array_equal(self.indices, other.indices)
            and self.codebook.tobytes() == other.codebook.tobytes()
        )


@dataclass(frozen=True)
class BitBreakdown:
    """Exact bits by part. ``total`` is what the bound uses; ``padding`` is alignment filler."""

    header: int = 0
    positions: int = 0
    codebook: int = 0
    indices: int = 0
    side: int = 0
    padding: int = 0

    def __post_init__(self):
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"bit count {f.name} is negative")

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def __add__(self, other: "BitBreakdown") -> "BitBreakdown":
        return BitBreakdown(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def to_dict(self) -> dict[str, int]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["total"] = self.total
        return d


@dataclass(frozen=True)
class Encoded:
    """A coder's output: ``bits.total == 8 * len(payload)`` for an honest coder."""

    payload: bytes
    bits: BitBreakdown = field(default_factory=BitBreakdown)
