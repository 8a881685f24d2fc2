"""Symbol counts coded by binary splitting: the model half of a two-part code.

The counts of an alphabet ``[0, m)`` whose total ``K`` the decoder already knows
are coded top-down over the binary tree of the bins ``[0, 2**D)``,
``D = ceil(log2 m)``: for every node with a nonzero total ``T``, level by level
and left to right, the left child's total at ``ceil(log2(T+1))`` bits. A node
with total 0 costs nothing, nor does one whose right child lies wholly at or
past ``m`` (its left total is ``T``). ``m'`` used bins cost about
``(m'-1) log2(K/m')`` bits. Decoding reads at least one bit per node it expands
(but one per level), so its work and memory are bounded by the bits it is given.
"""
from __future__ import annotations

import numpy as np

from pacbits.core import DecodeError

from .bitfields import FieldReader


def widths_of(n: np.ndarray) -> np.ndarray:
    """``ceil(log2 n)`` for integers ``1 <= n < 2**53`` (exact: float64 holds them)."""
    return np.frexp(np.asarray(n, dtype=np.float64) - 1)[1].astype(np.int64)


def split_fields(symbols: np.ndarray, counts: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, widths) of the fields coding ``counts`` (> 0) at sorted distinct ``symbols`` < ``m``."""
    depth = int(m - 1).bit_length() if m > 1 else 0
    values, widths = [], []
    for d in range(depth):
        shift = depth - d - 1
        node = symbols >> (shift + 1)
        first = np.flatnonzero(np.r_[True, node[1:] != node[:-1]])
        total = np.add.reduceat(counts, first)
        left = np.add.reduceat(np.where((symbols >> shift) & 1, 0, counts), first)
        forced = ((2 * node[first] + 1) << shift) >= m
        values.append(left)
        widths.append(np.where(forced, 0, widths_of(total + 1)))
    if not values:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(values), np.concatenate(widths)


def split_bits(hist: np.ndarray) -> int:
    """Bits :func:`split_fields` writes for a dense histogram (the alphabet is ``len(hist)``)."""
    m = hist.size
    depth = int(m - 1).bit_length() if m > 1 else 0
    level = np.zeros(1 << depth, dtype=np.int64)
    level[:m] = hist
    bits = 0
    for d in range(depth - 1, -1, -1):  # parents at level d
        total = level[0::2] + level[1::2]
        shift = depth - d - 1
        free = ((2 * np.arange(total.size, dtype=np.int64) + 1) << shift) < m
        bits += int(widths_of(total[free] + 1).sum())
        level = total
    return bits


def read_counts(rd: FieldReader, total: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`split_fields`: (used symbols, their counts > 0), both int64."""
    depth = int(m - 1).bit_length() if m > 1 else 0
    node = np.zeros(1, dtype=np.int64)
    count = np.array([total], dtype=np.int64)
    for d in range(depth):
        shift = depth - d - 1
        forced = ((2 * node + 1) << shift) >= m
        left = rd.read(np.where(forced, 0, widths_of(count + 1))).astype(np.int64)
        left = np.where(forced, count, left)
        if np.any(left > count):
            raise DecodeError(f"{rd.what}: a count table splits more than its total")
        node = np.stack([2 * node, 2 * node + 1], axis=1).reshape(-1)
        count = np.stack([left, count - left], axis=1).reshape(-1)
        keep = count > 0
        node, count = node[keep], count[keep]
    return node, count
