"""``fixed``: fixed-width coding, the code lengths Theorem 4.3 assumes.

Payload::

    flags    1 byte: bit 0 codebook float16 (else float32), bit 1 positions as indices (else bitmask)
    k, r     varints
    C        r little-endian floats
    S        bitmask of numel bits, or k indices at ceil(log2 numel) bits   (byte-aligned)
    Q        k indices at ceil(log2 r) bits                                 (byte-aligned)

Canonical: the position mode must be the one the config chooses for (numel, k),
and padding bits zero.

Bits: ``|S| = numel`` (bitmask) or ``k*ceil(log2 numel)``; ``|Q| = k*ceil(log2 r)``.
"""
from __future__ import annotations

import numpy as np

from pacbits.core import BitBreakdown, Coder, ConfigError, DecodeError, Encoded, Triplet, hookimpl
from pacbits.core.bitio import (Reader, bit_width, check_padding, codebook_bytes, pack_bits, packed_size, read_codebook,
                                 unpack_bits, uvarint)

POSITION_MODES = ("auto", "bitmask", "indices")


class FixedCoder(Coder):
    id = "fixed"

    def __init__(self, positions: str = "auto"):
        if positions not in POSITION_MODES:
            raise ConfigError(f"positions must be one of {POSITION_MODES}, got {positions!r}")
        self.positions = positions

    def _use_indices(self, n: int, k: int) -> bool:
        if self.positions == "auto":
            return k * bit_width(n) < n
        return self.positions == "indices"

    def encode(self, t: Triplet) -> Encoded:
        t.validate()
        n, k, r = t.numel, t.k, t.r
        as_idx = self._use_indices(n, k)
        half, cb = codebook_bytes(t.codebook)
        head = bytes([half | (as_idx << 1)]) + uvarint(k) + uvarint(r)
        if as_idx:
            s, s_bits = pack_bits(t.positions, bit_width(n)), k * bit_width(n)
        else:
            mask = np.zeros(n, dtype=bool)
            mask[t.positions] = True
            s, s_bits = np.packbits(mask).tobytes(), n
        q, q_bits = pack_bits(t.indices, bit_width(r)), k * bit_width(r)
        payload = head + cb + s + q
        bits = BitBreakdown(header=8 * len(head), codebook=8 * len(cb), positions=s_bits, indices=q_bits,
                            padding=8 * (len(s) + len(q)) - s_bits - q_bits)
        return Encoded(payload, bits)

    def decode(self, payload: bytes, shape: tuple[int, ...]) -> Triplet:
        n = int(np.prod(shape, dtype=np.int64))
        rd = Reader(payload, "fixed payload")
        flags = rd.u8()
        if flags >> 2:
            raise DecodeError(f"fixed payload: unknown flags {flags:#x}")
        k = rd.uvarint(n)
        if bool(flags & 2) != self._use_indices(n, k):
            raise DecodeError(f"fixed payload: position mode flag {flags >> 1 & 1} is not the one this config chooses")
        r = rd.uvarint(rd.remaining)
        if k and not r:
            raise DecodeError("fixed payload: kept weights but an empty codebook")
        cb = read_codebook(rd, r, bool(flags & 1))
        if flags & 2:
            pos = unpack_bits(rd.take(packed_size(k, bit_width(n))), bit_width(n), k)
        else:
            mask = rd.take(packed_size(n, 1))
            check_padding(mask, n, "fixed payload: bitmask")
            pos = np.flatnonzero(np.unpackbits(np.frombuffer(mask, dtype=np.uint8), count=n))
            if pos.size != k:
                raise DecodeError(f"fixed payload: bitmask keeps {pos.size} weights, header says {k}")
        idx = unpack_bits(rd.take(packed_size(k, bit_width(r))), bit_width(r), k)
        rd.expect_end()
        return Triplet.decoded(shape, pos, cb, idx)


@hookimpl
def register_coders():
    return [FixedCoder]
