"""``paper2019``: the coder of Zhou et al.'s published code (ICLR 2019), as a baseline (docs/coders.md).

Payload (integers big-endian, as the published code writes them)::

    r         16 bits: codebook length (at most 65535)
    C         r float16 values, little-endian
    gaps      16 bits: entry alphabet size s = largest entry + 1 (65536 written as 0)
              the entries, then end-of-stream, arithmetic-coded (32-bit integer coder,
              adaptive model: every count starts at 1, +1 per coded symbol, over
              s + 2 symbols: end-of-stream is the last, the one before it is never used,
              as in the published code), zero-padded to a byte
    Q         8 bits: width w = ceil(log2(max Q + 1)) (bit 7: the codebook was float32)
              32 bits: entry count; one value per entry at w bits, zero-padded to a byte

Entries are CSR gaps minus one (the pruned weights skipped before a kept one),
capped: with ``b = min(ceil(log2 p90), 16)`` for the 90th-percentile gap ``p90``
(``b = 0`` if ``p90 <= 1``), a gap ``g >= 2**b`` becomes ``g // 2**b`` filler
entries ``2**b - 1``, each stepping over ``2**b`` positions, then ``g % 2**b``.
Q holds ``q + 1`` for a kept weight and 0, the published code's implicit zero
center, for a filler: fillers point at zero, and that is how the decoder tells
them from kept weights (a kept weight whose center is 0.0 keeps its own index).

Where the published code could not be decoded, this one departs from it:
the arithmetic stream ends the Witten-Neal-Cleary way (two bits plus pending
ones, not a single 1 bit), so decoding it does not depend on the bytes that
follow, whose length the decoder learns from the decoder state; the gap stream
is written even when ``b = 0``; s = 65536 is written as 0. The codebook is
stored in float16: a float32 codebook is accepted only if every value is exactly
a float16 (bit 7 of the width byte restores the dtype), else EncodeError.

Decoding re-encodes what it decoded and rejects a payload that is not exactly
that code (canonical decoding).

Bits: ``positions`` = the gap stream and the Q values of fillers; ``indices`` =
``k * w``; ``header`` = the 16-bit, 8-bit and 32-bit fields. Pure Python
arithmetic coding: meant for small models.

Injective: ``encode`` is deterministic and ``decode`` inverts it.
"""
from __future__ import annotations

import numpy as np

from pacbits.core import BitBreakdown, Coder, DecodeError, EncodeError, Encoded, Triplet, hookimpl
from pacbits.core.bitio import Reader, bit_width, pack_bits, packed_size, read_codebook, unpack_bits

MASK, HALF, QUARTER = (1 << 32) - 1, 1 << 31, 1 << 30
MAX_TOTAL = QUARTER + 2  # the 32-bit coder's limit on the model's total count


class _Counts:
    """Adaptive add-one frequencies of ``n`` symbols (a Fenwick tree of cumulative counts)."""

    def __init__(self, n: int):
        self.n, self.total = n, n
        self.freq = [1] * n
        self.tree = [i & -i for i in range(n + 1)]
        self.top = 1 << n.bit_length()

    def low(self, s: int) -> int:
        acc = 0
        while s:
            acc += self.tree[s]
            s &= s - 1
        return acc

    def find(self, value: int) -> tuple[int, int]:
        """The symbol whose interval holds ``value`` (< total), and its low end."""
        pos = acc = 0
        step = self.top
        while step:
            nxt = pos + step
            if nxt <= self.n and acc + self.tree[nxt] <= value:
                pos, acc = nxt, acc + self.tree[nxt]
            step >>= 1
        return pos, acc

    def add(self, s: int) -> None:
        self.freq[s] += 1
        self.total += 1
        s += 1
        while s <= self.n:
            self.tree[s] += 1
            s += s & -s


def _narrow(low: int, high: int, lo: int, hi: int, total: int) -> tuple[int, int]:
    rng = high - low + 1
    return low + lo * rng // total, low + hi * rng // total - 1


def ac_encode(entries: list[int], alphabet: int) -> tuple[bytes, int]:
    """Arithmetic-code ``entries`` then end-of-stream; (zero-padded bytes, bit count)."""
    counts = _Counts(alphabet + 2)
    eof = alphabet + 1
    low, high, pending, out = 0, MASK, 0, []
    for s in [*entries, eof]:
        lo = counts.low(s)
        low, high = _narrow(low, high, lo, lo + counts.freq[s], counts.total)
        while True:
            if not (low ^ high) & HALF:
                bit = low >> 31
                out.append(bit)
                out.extend([bit ^ 1] * pending)
                pending = 0
                low, high = (low << 1) & MASK, ((high << 1) & MASK) | 1
            elif low & ~high & QUARTER:
                pending += 1
                low, high = (low << 1) & (MASK >> 1), ((high << 1) & (MASK >> 1)) | HALF | 1
            else:
                break
        if s != eof:
            counts.add(s)
    bit = int(low >= QUARTER)
    out.append(bit)
    out.extend([bit ^ 1] * (pending + 1))
    return np.packbits(np.array(out, dtype=np.uint8)).tobytes(), len(out)


def ac_decode(data: bytes, alphabet: int, max_entries: int) -> tuple[list[int], int]:
    """Inverse of :func:`ac_encode` (bits past ``data`` read as 0): (entries, bits the encoder wrote)."""
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8)).tobytes() + bytes(32)
    counts = _Counts(alphabet + 2)
    eof = alphabet + 1
    code = int.from_bytes(np.packbits(np.frombuffer(bits[:32], dtype=np.uint8)).tobytes(), "big")
    low, high, used, entries = 0, MASK, 32, []
    while True:
        total = counts.total
        s, lo = counts.find(((code - low + 1) * total - 1) // (high - low + 1))
        low, high = _narrow(low, high, lo, lo + counts.freq[s], total)
        while True:
            if not (low ^ high) & HALF:
                code = ((code << 1) & MASK) | (bits[used] if used < len(bits) else 0)
                low, high = (low << 1) & MASK, ((high << 1) & MASK) | 1
            elif low & ~high & QUARTER:
                code = (code & HALF) | ((code << 1) & (MASK >> 1)) | (bits[used] if used < len(bits) else 0)
                low, high = (low << 1) & (MASK >> 1), ((high << 1) & (MASK >> 1)) | HALF | 1
            else:
                break
            used += 1
        if s == eof:
            return entries, used - 32 + 2
        if len(entries) >= max_entries:
            raise DecodeError("paper2019 payload: more gap entries than the tensor or the payload allows")
        entries.append(s)
        counts.add(s)
        if counts.total > MAX_TOTAL:
            raise DecodeError("paper2019 payload: gap stream longer than the coder allows")


def gap_bits(gaps: np.ndarray) -> int:
    """The published code's cap exponent: ``min(ceil(log2 p90), 16)``, 0 if ``p90 <= 1``."""
    if not gaps.size:
        return 0
    return min(bit_width(int(np.percentile(gaps, 90, method="higher"))), 16)


class Paper2019Coder(Coder):
    id = "paper2019"

    def accepts(self, t: Triplet) -> bool:
        """At most 65535 centers, each exactly a float16."""
        with np.errstate(over="ignore"):
            cb16 = t.codebook.astype(np.float16)
        return t.r <= 0xFFFF and cb16.astype(t.codebook.dtype).tobytes() == t.codebook.tobytes()

    def encode(self, t: Triplet) -> Encoded:
        t.validate()
        k, r = t.k, t.r
        if r > 0xFFFF:
            raise EncodeError(f"paper2019 codes at most 65535 codebook entries, got {r}")
        if not self.accepts(t):
            raise EncodeError("paper2019 stores the codebook in float16, and this float32 codebook has values "
                              "float16 cannot hold exactly; quantize to a float16 codebook")
        gaps = np.diff(t.positions, prepend=-1) - 1
        cap = 1 << gap_bits(gaps)
        fill = gaps // cap
        count = k + int(fill.sum())
        if count + (1 << 16) + 2 > MAX_TOTAL:
            raise EncodeError(f"paper2019: {count} gap entries exceed its 32-bit arithmetic coder")
        real = np.cumsum(fill + 1) - 1  # where each kept weight's entry lands
        entries = np.full(count, cap - 1, dtype=np.int64)
        entries[real] = gaps % cap
        q = np.zeros(count, dtype=np.int64)
        q[real] = t.indices + 1
        alphabet = int(entries.max(initial=0)) + 1
        ac, ac_bits = ac_encode(entries.tolist(), alphabet)
        width = bit_width(int(q.max(initial=0)) + 1)
        qb = pack_bits(q, width)
        head = (r.to_bytes(2, "big"), (alphabet & 0xFFFF).to_bytes(2, "big"),
                bytes([width | (t.codebook.dtype == np.float32) << 7]) + count.to_bytes(4, "big"))
        payload = head[0] + t.codebook.astype("<f2").tobytes() + head[1] + ac + head[2] + qb
        bits = BitBreakdown(header=72, codebook=16 * r, positions=ac_bits + (count - k) * width, indices=k * width,
                            padding=8 * (len(ac) + len(qb)) - ac_bits - count * width)
        return Encoded(payload, bits)

    def decode(self, payload: bytes, shape: tuple[int, ...]) -> Triplet:
        what = "paper2019 payload"
        n = int(np.prod(shape, dtype=np.int64))
        rd = Reader(payload, what)
        r = int.from_bytes(rd.take(2), "big")
        cb = read_codebook(rd, r, half=True)
        alphabet = int.from_bytes(rd.take(2), "big") or 1 << 16
        rest = rd.take(rd.remaining)
        entries, ac_bits = ac_decode(rest, alphabet, min(n, 8 * len(payload)))
        rd = Reader(rest, what)
        rd.take((ac_bits + 7) // 8)
        width, count = rd.u8(), int.from_bytes(rd.take(4), "big")
        as32, width = width >> 7, width & 0x7F
        if count != len(entries) or width > 16:
            raise DecodeError(f"{what}: index header (width {width}, count {count}) does not match "
                              f"the {len(entries)} gap entries")
        q = unpack_bits(rd.take(packed_size(count, width)), width, count)
        rd.expect_end()
        pos = np.cumsum(np.array(entries, dtype=np.int64) + 1) - 1
        kept = q > 0
        t = Triplet.decoded(shape, pos[kept], cb.astype(np.float32) if as32 else cb, q[kept] - 1)
        # the cap, widths, alphabet and stream end leave the decoder choices: only encode's is canonical
        if not self.accepts(t) or self.encode(t).payload != payload:
            raise DecodeError(f"{what}: not the canonical code of what it decodes to")
        return t


@hookimpl
def register_coders():
    return [Paper2019Coder]
