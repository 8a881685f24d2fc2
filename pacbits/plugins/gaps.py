"""The payload start shared by the gap coders (csr-arithmetic, huffman).

Gaps become log-spaced symbols plus raw low bits (the gap model of
:mod:`pacbits.core.bitio`: :func:`~pacbits.core.bitio.to_symbols`), with ``t``
(0..16) chosen per tensor to minimize the estimated total bits.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pacbits.core import BitBreakdown, DecodeError, EncodeError, Encoded, Triplet
from pacbits.core.bitio import (MAX_GAP_T, Reader, alphabet_size, choose_t, codebook_bytes, from_symbols, gaps_of,
                                 read_codebook, to_symbols, uvarint)

MAX_NUMEL = 1 << 53  # float64 holds every gap exactly


def check_span(used: np.ndarray, counts: np.ndarray, t: int, n: int, what: str) -> None:
    """Before decoding: ``counts`` of the gap symbols ``used`` must fit in ``n`` positions.

    A symbol's gaps are at least its base value (low bits 0), so a table that needs
    more than ``n`` positions is refused before anything of size k is allocated.
    """
    base = from_symbols(used, np.zeros_like(used), t)
    if float(np.dot(counts.astype(np.float64), base.astype(np.float64) + 1)) > n:
        raise DecodeError(f"{what}: gaps run past the end of the tensor")


# The first steps shared by the gap coders (csr-arithmetic, huffman): their payloads
# start with ``flags (1 byte), k, r, C`` and, when k > 0, the gap alphabet size m.
# Flags: bit 0 float16 codebook; ``extra`` coder bits; then 5 bits of t; the rest 0.


@dataclass(frozen=True)
class Gaps:
    """A triplet's gap symbols for encoding (see :func:`start_encode`)."""

    half: int  # codebook flag bit
    codebook: bytes
    t: int
    symbols: np.ndarray
    low: np.ndarray
    low_bits: np.ndarray
    m: int  # alphabet size: max symbol + 1


def start_encode(t: Triplet, coder_id: str, table_bits: Callable[[np.ndarray], int]) -> "Gaps | Encoded":
    """Validate ``t``; the finished payload of a tensor with no kept weight, else its gap symbols."""
    t.validate()
    if t.numel >= MAX_NUMEL:
        raise EncodeError(f"{coder_id} codes tensors of fewer than 2**53 weights, got {t.numel}")
    half, cb = codebook_bytes(t.codebook)
    if not t.k:
        head = bytes([half]) + uvarint(0) + uvarint(t.r)
        return Encoded(head + cb, BitBreakdown(header=8 * len(head), codebook=8 * len(cb)))
    gaps = gaps_of(t.positions)
    tm = choose_t(gaps, table_bits)
    sym, low, low_bits = to_symbols(gaps, tm)
    return Gaps(half, cb, tm, sym, low, low_bits, int(sym.max()) + 1)


@dataclass(frozen=True)
class Head:
    """The decoded start of a gap coder's payload (see :func:`start_decode`)."""

    n: int
    k: int
    r: int
    t: int
    extra: int  # the coder's own flag bits
    codebook: np.ndarray
    m: int
    rest: bytes  # the payload after m


def start_decode(payload: bytes, shape: tuple[int, ...], what: str, extra_bits: int) -> "Head | Triplet":
    """Read ``flags, k, r, C, m``; a tensor with no kept weight is returned whole as a Triplet."""
    n = int(np.prod(shape, dtype=np.int64))
    if n >= MAX_NUMEL:
        raise DecodeError(f"{what}: shape {shape} has 2**53 weights or more")
    rd = Reader(payload, what)
    flags = rd.u8()
    half, extra, tm = flags & 1, flags >> 1 & ((1 << extra_bits) - 1), flags >> (1 + extra_bits) & 31
    k = rd.uvarint(n)
    r = rd.uvarint(rd.remaining)
    if flags >> (6 + extra_bits) or tm > MAX_GAP_T or (not k and flags > 1):
        raise DecodeError(f"{what}: bad flags {flags:#x}")
    if k and not r:
        raise DecodeError(f"{what}: kept weights but an empty codebook")
    cb = read_codebook(rd, r, bool(half))
    if not k:
        rd.expect_end()
        return Triplet.decoded(shape, np.zeros(0, np.int64), cb, np.zeros(0, np.int64))
    m = rd.uvarint(alphabet_size(n - 1, tm))
    return Head(n, k, r, tm, extra, cb, m, rd.take(rd.remaining))


def check_choices(h: Head, symbols: np.ndarray, gaps: np.ndarray, table_bits: Callable[[np.ndarray], int], what: str) -> None:
    """Canonical decoding: ``t`` and ``m`` must be what :func:`start_encode` chooses for these gaps."""
    if h.m != int(symbols.max()) + 1 or h.t != choose_t(gaps, table_bits):
        raise DecodeError(f"{what}: gap parameters (t {h.t}, m {h.m}) are not the ones the encoder chooses")
