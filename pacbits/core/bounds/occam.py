"""Occam KL (paper Theorem 4.1, corrected sign): ``KL <= L·ln 2 − ln m(L)``.

``L`` is the length in bits of a code fixed in advance; ``m`` is a distribution on
code lengths, also fixed in advance. The prior ``π(h) ∝ m(|h|)·2^{−|h|}`` has total mass
``Σ_L m(L)·#{h : |h| = L}·2^{−L} <= Σ_L m(L) = 1`` for any *injective* code (at most
``2^L`` strings have length ``L``), so the code need not be prefix-free.
The paper prints ``+ log m``; since ``m <= 1`` the term is a cost, ``−ln m >= 0``.

Lengths are counted from 0 (a 0-bit code is legal), so ``m`` is a distribution on
the non-negative integers.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod

from ..errors import ConfigError
from .checks import count

LN2 = math.log(2.0)


class LengthPrior(ABC):
    """A distribution ``m`` on code lengths ``L >= 0`` (bits), fixed before seeing data."""

    name: str = ""

    @abstractmethod
    def neg_log(self, bits: int) -> float:
        """``−ln m(bits)`` in nats (>= 0)."""

    def __str__(self) -> str:
        return self.name


class UniformLengthPrior(LengthPrior):
    """Remark 4.2: uniform over ``L < max_bits`` (default ``2^72`` bits, i.e. 2^64 bytes): ``−ln m = ln max_bits``."""

    def __init__(self, max_bits: int = 2**72):
        self.max_bits = count(max_bits, "max_bits", 1)
        self.name = "uniform" if self.max_bits == 2**72 else f"uniform(<{self.max_bits} bits)"

    def neg_log(self, bits: int) -> float:
        bits = count(bits, "bits")
        if bits >= self.max_bits:
            raise ConfigError(f"bits = {bits} is outside the uniform length prior's support [0, {self.max_bits})")
        return math.log(self.max_bits)


class EliasDeltaPrior(LengthPrior):
    """Universal prior ``m(L) = 2^{−|δ(L+1)|}``, ``|δ(n)| = ⌊log2 n⌋ + 2⌊log2(⌊log2 n⌋+1)⌋ + 1``.

    Elias' delta code is prefix-free, so Kraft's inequality gives ``Σ m <= 1``. It costs
    ~log2 L + 2 log2 log2 L bits instead of the uniform prior's 72 (24 bits at L = 51 kbit).
    """

    name = "elias-delta"

    def neg_log(self, bits: int) -> float:
        n = count(bits, "bits") + 1
        lg = n.bit_length() - 1
        return (lg + 2 * ((lg + 1).bit_length() - 1) + 1) * LN2


LENGTH_PRIORS = {"uniform": UniformLengthPrior, "elias-delta": EliasDeltaPrior}


def length_prior(spec: "str | LengthPrior" = "uniform") -> LengthPrior:
    """A :class:`LengthPrior` from its name (``uniform`` or ``elias-delta``) or itself."""
    if isinstance(spec, LengthPrior):
        return spec
    if spec not in LENGTH_PRIORS:
        raise ConfigError(f"length_prior must be one of {sorted(LENGTH_PRIORS)}, got {spec!r}")
    return LENGTH_PRIORS[spec]()


def occam_kl(bits: int, prior: "str | LengthPrior" = "uniform") -> float:
    """Theorem 4.1: ``bits·ln 2 − ln m(bits)`` nats for a point-mass posterior on a ``bits``-bit code."""
    bits = count(bits, "bits")
    return bits * LN2 + length_prior(prior).neg_log(bits)
