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

import numpy as np

MAX_T = 16
MAX_NUMEL = 1 << 53  # float64 holds every gap exactly


def bitlen(v: np.ndarray) -> np.ndarray:
    """``int.bit_length`` of each ``0 <= v < 2**53``."""
    return np.frexp(np.asarray(v, dtype=np.float64))[1].astype(np.int64)


def gaps_of(positions: np.ndarray) -> np.ndarray:
    return np.diff(positions, prepend=-1) - 1


def positions_of(gaps: np.ndarray) -> np.ndarray:
    return np.cumsum(gaps + 1) - 1


def extra_bits(symbols: np.ndarray, t: int) -> np.ndarray:
    """Raw low bits that follow each symbol."""
    return np.maximum((np.asarray(symbols, dtype=np.int64) >> t) - 1, 0)


def to_symbols(gaps: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(symbols, raw low bits, their widths) of the gaps."""
    x = np.maximum(bitlen(gaps) - t - 1, 0)
    return (gaps >> x) + (x << t), gaps & ((1 << x) - 1), x


def from_symbols(symbols: np.ndarray, low: np.ndarray, t: int) -> np.ndarray:
    x = extra_bits(symbols, t)
    return ((symbols - (x << t)) << x) | low


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
