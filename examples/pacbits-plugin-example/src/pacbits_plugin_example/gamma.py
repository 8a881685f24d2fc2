"""``elias-gamma``: positions as Elias-gamma coded gaps, indices at fixed width.

Payload::

    flags    1 byte: bit 0 codebook float16 (else float32)
    k, r     varints
    C        r little-endian floats
    then one bit string, MSB first, zero-padded to a byte once at the end:
    S        k Elias-gamma codes of the gaps g_0 = s_0 + 1, g_j = s_j - s_{j-1},
             laid out as two runs: the unary prefixes (N_j zeros and a one, with
             N_j = floor(log2 g_j)), then the N_j low bits of each g_j
    Q        k indices at ceil(log2 r) bits

The two runs cost exactly the interleaved code's ``2 N_j + 1`` bits per gap, and
let numpy decode without a Python loop over the weights.
"""
from __future__ import annotations

import numpy as np

from pacbits.core import BitBreakdown, Coder, DecodeError, Encoded, Triplet
from pacbits.core.bitio import Reader, bit_width, uvarint


def gamma_bits(gaps: np.ndarray) -> np.ndarray:
    """The Elias-gamma codes of ``gaps`` (all >= 1) as 0/1 bytes: unary prefixes, then low bits."""
    n = np.frexp(gaps.astype(np.float64))[1].astype(np.int64) - 1  # floor(log2 g), exact below 2**53
    unary = np.zeros(int(n.sum()) + gaps.size, dtype=np.uint8)
    unary[np.cumsum(n + 1) - 1] = 1
    low = np.zeros(int(n.sum()), dtype=np.uint8)
    start = np.cumsum(n) - n
    for b in range(int(n.max(initial=0))):
        has = n > b
        low[start[has] + b] = (gaps[has] >> (n[has] - 1 - b)) & 1
    return np.concatenate([unary, low])


def read_gammas(bits: np.ndarray, k: int, max_value: int) -> tuple[np.ndarray, int]:
    """Inverse of :func:`gamma_bits` for ``k`` codes of values <= ``max_value``: (values, bits used)."""
    ones = np.flatnonzero(bits[: k * max(max_value, 1).bit_length()])[:k]  # a prefix is at most that long
    if ones.size < k:
        raise DecodeError(f"elias-gamma payload: {ones.size} of {k} gap prefixes")
    n = np.diff(ones, prepend=-1) - 1
    if k and n.max() >= max(max_value, 1).bit_length():
        raise DecodeError(f"elias-gamma payload: a gap longer than the tensor ({max_value})")
    used = k + int(n.sum())
    low = bits[used:]
    if low.size < n.sum():
        raise DecodeError("elias-gamma payload truncated in the gap bits")
    values = np.ones(k, dtype=np.int64)
    start = np.cumsum(n) - n
    for b in range(int(n.max(initial=0))):
        has = n > b
        values[has] = (values[has] << 1) | low[start[has] + b]
    return values, used + int(n.sum())


def fixed_bits(values: np.ndarray, width: int) -> np.ndarray:
    """``values`` at ``width`` bits each, MSB first, as 0/1 bytes."""
    shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] >> shifts) & 1).astype(np.uint8).reshape(-1)


class EliasGammaCoder(Coder):
    id = "elias-gamma"

    def encode(self, t: Triplet) -> Encoded:
        t.validate()
        half = t.codebook.dtype == np.float16
        head = bytes([int(half)]) + uvarint(t.k) + uvarint(t.r)
        cb = t.codebook.astype("<f2" if half else "<f4").tobytes()
        s = gamma_bits(np.diff(t.positions, prepend=-1))
        q = fixed_bits(t.indices, bit_width(t.r))
        body = np.packbits(np.concatenate([s, q])).tobytes()
        bits = BitBreakdown(header=8 * len(head), codebook=8 * len(cb), positions=s.size, indices=q.size,
                            padding=8 * len(body) - s.size - q.size)
        return Encoded(head + cb + body, bits)

    def decode(self, payload: bytes, shape: tuple[int, ...]) -> Triplet:
        n = int(np.prod(shape, dtype=np.int64))
        rd = Reader(payload, "elias-gamma payload")
        flags = rd.u8()
        if flags > 1:
            raise DecodeError(f"elias-gamma payload: unknown flags {flags:#x}")
        k = rd.uvarint(n)
        r = rd.uvarint(rd.remaining)
        if k and not r:
            raise DecodeError("elias-gamma payload: kept weights but an empty codebook")
        dt = np.dtype("<f2" if flags else "<f4")
        cb = np.frombuffer(rd.take(r * dt.itemsize), dtype=dt).astype(np.float16 if flags else np.float32)
        bits = np.unpackbits(np.frombuffer(rd.take(rd.remaining), dtype=np.uint8))
        gaps, used = read_gammas(bits, k, n)
        width = bit_width(r)
        end = used + k * width
        if end > bits.size or bits.size - end >= 8 or bits[end:].any():
            raise DecodeError("elias-gamma payload: index bits truncated, or padding that is not 0-7 zero bits")
        idx = bits[used:end].reshape(k, width).astype(np.int64) @ (1 << np.arange(width - 1, -1, -1, dtype=np.int64))
        return Triplet.decoded(shape, np.cumsum(gaps) - 1, cb, idx)
