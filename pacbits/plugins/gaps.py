"""CSR gaps as symbols of a bounded alphabet plus raw low bits (log-spaced bins).

The gap before kept weight ``j`` is ``v = s_j - s_{j-1} - 1`` (``s_{-1} = -1``):
the number of pruned weights skipped. With ``t`` mantissa bits and
``x = max(bitlen(v) - t - 1, 0)``, ``v`` becomes the symbol ``(v >> x) + x * 2**t``
and its ``x`` low bits, sent raw. Gaps below ``2**(t+1)`` are literal symbols;
larger ones keep their leading ``t + 1`` bits (``2**t`` bins an octave). So the
alphabet stays below ``2**t * (bitlen(numel) + 1)`` however large a gap, and
``t`` (0..16) is chosen per tensor to minimize the estimated total bits.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pacbits.core import BitBreakdown, DecodeError, EncodeError, Encoded, Triplet
from pacbits.core.bitio import Reader, uvarint

from .fixed import codebook_bytes, read_codebook

MAX_T = 16
MAX_NUMEL = 1 << 53  # float64 holds every gap exactly


def bitlen(v: np.ndarray) -> np.ndarray:
    """``int.bit_length`` of each ``0 <= v < 2**53``."""
    return np.frexp(np.asarray(v, dtype=np.float64))[1].astype(np.int64)


def gaps_of(positions: np.ndarray) -> np.ndarray:
    return np.diff(positions, prepend=-1) - 1


def positions_of(gaps: np.ndarray) -> np.ndarray:
    out = gaps + 1
    np.cumsum(out, out=out)
    out -= 1
    return out


def extra_bits(symbols: np.ndarray, t: int) -> np.ndarray:
    """Raw low bits that follow each symbol."""
    x = np.asarray(symbols, dtype=np.int64) >> t
    x -= 1
    return np.maximum(x, 0, out=x)


def to_symbols(gaps: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(symbols, raw low bits, their widths) of the gaps."""
    x = np.maximum(bitlen(gaps) - t - 1, 0)
    return (gaps >> x) + (x << t), gaps & ((1 << x) - 1), x


def from_symbols(symbols: np.ndarray, low: np.ndarray, t: int) -> np.ndarray:
    """The gaps of symbols and their raw low bits (in place where it can: decoders hold k of them)."""
    x = extra_bits(symbols, t)
    out = x << t
    np.subtract(symbols, out, out=out)
    np.left_shift(out, x, out=out)
    np.bitwise_or(out, low, out=out)
    return out


def check_span(used: np.ndarray, counts: np.ndarray, t: int, n: int, what: str) -> None:
    """Before decoding: ``counts`` of the gap symbols ``used`` must fit in ``n`` positions.

    A symbol's gaps are at least its base value (low bits 0), so a table that needs
    more than ``n`` positions is refused before anything of size k is allocated.
    """
    base = from_symbols(used, np.zeros_like(used), t)
    if float(np.dot(counts.astype(np.float64), base.astype(np.float64) + 1)) > n:
        raise DecodeError(f"{what}: gaps run past the end of the tensor")


def alphabet_size(max_gap: int, t: int) -> int:
    return int(to_symbols(np.array([max_gap]), t)[0][0]) + 1


def choose_t(gaps: np.ndarray, table_bits: Callable[[np.ndarray], int]) -> int:
    """The ``t`` minimizing table + entropy + raw bits (one histogram, merged down to each coarser t)."""
    top = min(MAX_T, max(int(bitlen(gaps.max())) - 1, 0))
    hist = np.bincount(to_symbols(gaps, top)[0])
    k = gaps.size
    best, best_bits = top, None
    for t in range(top, -1, -1):
        used = hist[hist > 0]
        data = float(np.sum(used * np.log2(k / used)))
        raw = int(np.dot(hist, extra_bits(np.arange(hist.size), t)))
        bits = table_bits(np.trim_zeros(hist, "b")) + data + raw
        if best_bits is None or bits <= best_bits:
            best, best_bits = t, bits
        # t -> t-1: literals below 2**t stay, every later pair of bins merges
        tail = hist[1 << t:]
        hist = np.concatenate([hist[: 1 << t], np.add.reduceat(tail, np.arange(0, tail.size, 2))]) if tail.size else hist
    return best


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
    if flags >> (6 + extra_bits) or tm > MAX_T or (not k and flags > 1):
        raise DecodeError(f"{what}: bad flags {flags:#x}")
    if k and not r:
        raise DecodeError(f"{what}: kept weights but an empty codebook")
    cb = read_codebook(rd, r, bool(half))
    if not k:
        rd.expect_end()
        return Triplet.decoded(shape, np.zeros(0, np.int64), cb, np.zeros(0, np.int64))
    m = rd.uvarint(alphabet_size(n - 1, tm))
    return Head(n, k, r, tm, extra, cb, m, rd.take(rd.remaining))
