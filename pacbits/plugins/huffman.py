"""``huffman``: canonical Huffman codes for CSR gaps and indices (the Deep Compression scheme).

Payload::

    flags    1 byte: bit 0 codebook float16 (else float32); bits 1-5 t, the gap
             mantissa bits (0..16, see ``gaps``); bits 6-7 zero
    k, r     varints
    C        r little-endian floats
    -- only if k > 0:
    m        varint: gap alphabet size (largest gap symbol + 1)
    bits     one MSB-first bit string, zero-padded to a byte:
               w_g (5 bits), m code lengths of the gap symbols at w_g bits (0: unused)
               w_q (5 bits), r code lengths of the indices at w_q bits   (absent if r = 1)
               k gap codewords, then the raw low bits of each large gap
               k index codewords

Codes are canonical (by length, then symbol), complete (Kraft sum 1) and at most
``max(16, ceil(log2 used))`` bits; a stream with one used symbol spends 0 bits a
symbol. Bits: ``positions`` = m, gap lengths, gap codewords and raw bits;
``indices`` = the index codewords; ``header`` = flags, k, r and the index
lengths (the payload without its ``indices`` bits stays self-delimiting and
fixes ``P_j = 2**-len_j``, see :meth:`HuffmanCoder.index_prior`).

Encoding and decoding are vectorized. Decoding looks up the longest-code-length
window at every bit offset, which gives each offset's (symbol, length), then
follows the chain of codeword starts from offset 0 by pointer doubling:
O(N log k) numpy work for N bits. (constriction's Huffman API codes one symbol
per Python call: far too slow for tensors of millions of weights.)

Injective: ``encode`` is deterministic and ``decode`` inverts it. Canonical:
``decode`` rejects a payload whose t, m or code lengths are not the ones
``encode`` chooses for what it decodes to.
"""
from __future__ import annotations

import numpy as np

from pacbits.core import BitBreakdown, Coder, DecodeError, EncodeError, Encoded, Triplet, hookimpl
from pacbits.core.bitio import BitReader, bit_width, chain_starts, extra_bits, from_symbols, pack_fields, positions_of, uvarint

from . import gaps as G

MIN_LIMIT = 16  # code lengths are limited to max(16, ceil(log2 used symbols)) bits
MAX_LIMIT = 24  # so decoding tables have at most 2**24 entries


def length_limit(used: int) -> int:
    return max(MIN_LIMIT, bit_width(used))


def code_lengths(hist: np.ndarray) -> np.ndarray:
    """Huffman code lengths for a histogram (0 for unused symbols), limited to :func:`length_limit`.

    Two-queue Huffman on the sorted counts, then the length-limiting of JPEG
    (ITU T.81, Annex K.3); lengths go to symbols by decreasing count.
    """
    used = np.flatnonzero(hist)
    out = np.zeros(hist.size, dtype=np.int64)
    if used.size == 1:
        out[used] = 1
        return out
    limit = length_limit(used.size)
    if limit > MAX_LIMIT:
        raise EncodeError(f"huffman codes at most 2**{MAX_LIMIT} distinct symbols, got {used.size}")
    w = np.sort(hist[used]).tolist()
    m = len(w)
    inner, parent = [], [0] * (2 * m - 1)  # leaves 0..m-1 (sorted), inner nodes m..2m-2
    i = j = 0
    for node in range(m, 2 * m - 1):
        weight = 0
        for _ in range(2):
            if j >= len(inner) or (i < m and w[i] <= inner[j]):
                parent[i], weight, i = node, weight + w[i], i + 1
            else:
                parent[m + j], weight, j = node, weight + inner[j], j + 1
        inner.append(weight)
    depth = [0] * (2 * m - 1)
    for node in range(2 * m - 3, -1, -1):
        depth[node] = depth[parent[node]] + 1
    bl = np.bincount(depth[:m]).tolist()
    for n in range(len(bl) - 1, limit, -1):  # move the deepest leaves up, keeping the Kraft sum 1
        while bl[n]:
            d = n - 2
            while not bl[d]:
                d -= 1
            bl[n] -= 2
            bl[n - 1] += 1
            bl[d + 1] += 2
            bl[d] -= 1
    order = used[np.lexsort((used, -hist[used]))]
    out[order] = np.repeat(np.arange(len(bl)), bl)
    return out


def canonical(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(used symbols by (length, symbol), their codes, longest length) of a complete code."""
    used = np.flatnonzero(lengths)
    used = used[np.lexsort((used, lengths[used]))]
    top = int(lengths.max())
    span = np.left_shift(1, top - lengths[used])
    return used, (np.cumsum(span) - span) >> (top - lengths[used]), top


def read_lengths(fr: BitReader, m: int) -> np.ndarray:
    """A code-length table; checks the code it defines is complete and within the limit."""
    w = fr.read_int(5)
    if m * w > fr.nbits - fr.pos:
        raise DecodeError(f"{fr.what}: code-length table longer than the payload")
    lengths = fr.read(np.full(m, w)).astype(np.int64) if w else np.zeros(0, np.int64)
    used = np.count_nonzero(lengths)
    if not used:
        raise DecodeError(f"{fr.what}: a code with no symbols")
    if used > 1:
        top = int(lengths.max())
        if top > length_limit(used) or int(np.sum(np.left_shift(1, top - lengths[lengths > 0]))) != 1 << top:
            raise DecodeError(f"{fr.what}: code lengths do not form a complete code")
    return lengths


def read_codes(fr: BitReader, lengths: np.ndarray, k: int) -> np.ndarray:
    """The next ``k`` codewords; the chain of codeword starts is found by pointer doubling."""
    used, codes, top = canonical(lengths)
    if used.size == 1:
        return np.full(k, used[0], dtype=np.int64)
    avail = fr.nbits - fr.pos
    if k * int(lengths[used].min()) > avail:
        raise DecodeError(f"{fr.what}: truncated codewords")
    n = min(k * top, avail)
    span = np.left_shift(1, top - lengths[used])
    window = fr.windows(fr.pos, n, top)
    step = np.repeat(lengths[used], span).astype(np.uint8)[window]
    dt = np.int32 if n < 2**31 - 64 else np.int64
    jump = np.minimum(np.arange(n, dtype=dt) + step, n).astype(dt)
    jump = np.append(jump, dt(n))  # offset n: past the end, maps to itself
    starts = chain_starts(jump, k)
    last = int(starts[-1])
    if last >= n or last + int(step[last]) > avail:
        raise DecodeError(f"{fr.what}: truncated codewords")
    fr.skip(last + int(step[last]))
    return np.repeat(used, span)[window[starts]]


def _codewords(lengths: np.ndarray, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, widths) of the codewords of ``symbols``."""
    used, codes, _ = canonical(lengths)
    if used.size == 1:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    table = np.zeros(lengths.size, dtype=np.int64)
    table[used] = codes
    return table[symbols], lengths[symbols]


def _length_fields(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = bit_width(int(lengths.max()) + 1)
    return np.r_[w, lengths], np.r_[5, np.full(lengths.size, w)]


def _table_estimate(hist: np.ndarray) -> int:
    """About the bits of a code-length table (to choose t): 5 bits a symbol."""
    return 5 + 5 * hist.size


class HuffmanCoder(Coder):
    id = "huffman"

    def encode(self, t: Triplet) -> Encoded:
        g = G.start_encode(t, self.id, _table_estimate)
        if isinstance(g, Encoded):
            return g
        k, r, tm, m, half, cb = t.k, t.r, g.t, g.m, g.half, g.codebook
        sym, low, low_bits = g.symbols, g.low, g.low_bits
        g_len = code_lengths(np.bincount(sym, minlength=m))
        none = (np.zeros(0, np.int64),) * 2
        q_len = code_lengths(t.counts()) if r > 1 else None
        q_table = _length_fields(q_len) if r > 1 else none
        q_codes = _codewords(q_len, t.indices) if r > 1 else none
        parts = [_length_fields(g_len), q_table, _codewords(g_len, sym), (low, low_bits), q_codes]
        body, nbits = pack_fields(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        head = bytes([half | tm << 1]) + uvarint(k) + uvarint(r)
        mb = uvarint(m)
        q_table_bits, q_bits = int(q_table[1].sum()), int(q_codes[1].sum())
        bits = BitBreakdown(header=8 * len(head) + q_table_bits, codebook=8 * len(cb), indices=q_bits,
                            positions=8 * len(mb) + nbits - q_table_bits - q_bits, padding=8 * len(body) - nbits)
        return Encoded(head + cb + mb + body, bits)

    def decode(self, payload: bytes, shape: tuple[int, ...]) -> Triplet:
        what = "huffman payload"
        h = G.start_decode(payload, shape, what, extra_bits=0)
        if isinstance(h, Triplet):
            return h
        n, k, r, tm, cb, m = h.n, h.k, h.r, h.t, h.codebook, h.m
        fr = BitReader(h.rest, what)
        g_len = read_lengths(fr, m)
        q_len = read_lengths(fr, r) if r > 1 else None
        if np.count_nonzero(g_len) == 1:  # k copies of one symbol: check they fit before making them
            G.check_span(np.flatnonzero(g_len), np.array([k]), tm, n, what)
        sym = read_codes(fr, g_len, k)
        gaps = from_symbols(sym, fr.read(extra_bits(sym, tm)).view(np.int64), tm)
        if float(np.sum(gaps, dtype=np.float64)) + k > n:
            raise DecodeError(f"{what}: gaps run past the end of the tensor")
        idx = read_codes(fr, q_len, k) if q_len is not None else np.zeros(k, np.int64)
        if 8 * fr.end() != fr.nbits:
            raise DecodeError(f"{what}: trailing bytes")
        G.check_choices(h, sym, gaps, _table_estimate, what)
        if not np.array_equal(g_len, code_lengths(np.bincount(sym, minlength=m))) or (
                q_len is not None and not np.array_equal(q_len, code_lengths(np.bincount(idx, minlength=r)))):
            raise DecodeError(f"{what}: code lengths are not the Huffman lengths of the decoded symbols")
        return Triplet.decoded(shape, positions_of(gaps), cb, idx)

    def index_prior(self, t: Triplet) -> np.ndarray | None:
        """``P_j = 2**-len_j`` from the coded index code lengths (one-hot if one index is used)."""
        if not t.k or not t.r:
            return None
        if t.r == 1:
            return np.ones(1)
        lengths = code_lengths(t.counts())
        if np.count_nonzero(lengths) == 1:
            return (lengths > 0).astype(np.float64)
        return np.where(lengths > 0, np.ldexp(1.0, -lengths), 0.0)


@hookimpl
def register_coders():
    return [HuffmanCoder]
