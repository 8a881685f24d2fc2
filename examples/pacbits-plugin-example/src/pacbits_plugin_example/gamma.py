"""``elias-gamma``: positions as Elias-gamma coded gaps, indices at fixed width.

Payload::

    flags    1 byte: bit 0 codebook float16 (else float32)
    k, r     varints
    C        r little-endian floats
    then one bit string, MSB first, zero-padded to a byte once at the end:
    S        k Elias-gamma codes of the gaps g_0 = s_0 + 1, g_j = s_j - s_{j-1}
             (``2 floor(log2 g) + 1`` bits each)
    Q        k indices at ceil(log2 r) bits

Built on pacbits' coding toolkit (:mod:`pacbits.core.bitio`): ``BitWriter.gamma``
writes the gaps, ``BitReader.gamma`` reads them back without a Python loop.
"""
from __future__ import annotations

import numpy as np

from pacbits.core import BitBreakdown, Coder, DecodeError, Encoded, Triplet
from pacbits.core.bitio import BitReader, BitWriter, Reader, bit_width, codebook_bytes, read_codebook, uvarint


class EliasGammaCoder(Coder):
    id = "elias-gamma"

    def encode(self, t: Triplet) -> Encoded:
        t.validate()
        half, cb = codebook_bytes(t.codebook)
        head = bytes([half]) + uvarint(t.k) + uvarint(t.r)
        w = BitWriter().gamma(np.diff(t.positions, prepend=-1))
        s_bits = w.nbits
        w.uint(t.indices, bit_width(t.r))
        body = w.getvalue()
        bits = BitBreakdown(header=8 * len(head), codebook=8 * len(cb), positions=s_bits,
                            indices=w.nbits - s_bits, padding=w.padding)
        return Encoded(head + cb + body, bits)

    def decode(self, payload: bytes, shape: tuple[int, ...]) -> Triplet:
        n = int(np.prod(shape, dtype=np.int64))
        rd = Reader(payload, "elias-gamma payload")
        flags = rd.u8()
        if flags > 1:
            raise DecodeError(f"elias-gamma payload: unknown flags {flags:#x}")
        k = rd.uvarint(n)  # bounded: never allocate more than the input justifies
        r = rd.uvarint(rd.remaining)
        if k and not r:
            raise DecodeError("elias-gamma payload: kept weights but an empty codebook")
        cb = read_codebook(rd, r, bool(flags))
        br = BitReader(rd.take(rd.remaining), "elias-gamma payload")
        gaps = br.gamma(k)
        idx = br.uint(k, bit_width(r))
        if 8 * br.end() != br.nbits:  # canonical: zero padding, no trailing bytes
            raise DecodeError("elias-gamma payload: trailing bytes")
        return Triplet.decoded(shape, np.cumsum(gaps) - 1, cb, idx)
