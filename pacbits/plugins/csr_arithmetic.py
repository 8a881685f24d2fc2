"""``csr-arithmetic``: CSR gaps and indices, each range-coded (ANS) under a coded static model.

Payload::

    flags    1 byte: bit 0 codebook float16 (else float32); bit 1 Q under a uniform
             model (no Q table); bits 2-6 t, the gap mantissa bits (0..16); bit 7 zero
    k, r     varints
    C        r little-endian floats
    -- only if k > 0:
    m        varint: gap alphabet size (largest gap symbol + 1), see ``gaps``
    tables   one MSB-first bit string, zero-padded to a byte:
               gap counts: k split over the m gap symbols (``bitio.split_fields``)
               Q counts:   k split over the r codebook entries (absent if bit 1)
               raw bits:   the low bits of each large gap, in order
    gaps     varint byte length + ANS stream of the gap symbols
    Q        ANS stream of the indices, to the end of the payload

A stream codes the ranks of the symbols among those its table says are used,
under ``Categorical(counts, perfect=False)``; it is empty when one symbol is
used, and an ANS stream's top word is stored without its leading zero bytes.
The decoder checks that each stream decodes exactly to the empty coder state
and to the counts in its table.

Bits: ``positions`` = m, gap counts, raw bits, gap stream; ``indices`` = the Q
stream; ``header`` = flags, k, r and the Q counts (so the payload without its
``indices`` bits is self-delimiting and fixes ``P = counts / k``: see
:meth:`CsrArithmeticCoder.index_prior`); ``padding`` = the table padding.

Injective: ``encode`` is deterministic and ``decode`` inverts it. Canonical:
``decode`` rejects a payload whose t, m or index-model flag are not the ones
``encode`` chooses for what it decodes to.
"""
from __future__ import annotations

from contextlib import contextmanager

import constriction
import numpy as np

from pacbits.core import BitBreakdown, Coder, DecodeError, EncodeError, Encoded, Triplet, hookimpl
from pacbits.core.bitio import (BitReader, Reader, block, extra_bits, from_symbols, pack_fields, positions_of, read_counts,
                                 split_bits, split_fields, uvarint)

from . import gaps as G

MAX_ALPHABET = 1 << 24  # constriction's Categorical: at most 2**24 symbols


@contextmanager
def _guard(error: type[Exception], what: str):
    """Turn any constriction failure, a Rust panic (a BaseException) included, into ``error``."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit, DecodeError, EncodeError):
        raise
    except BaseException as e:  # noqa: BLE001 - pyo3_runtime.PanicException
        raise error(f"{what}: {type(e).__name__}: {e}") from None


def ans_encode(ranks: np.ndarray, weights: np.ndarray) -> bytes:
    """ANS-code ``ranks`` (< len(weights) >= 2) i.i.d. under ``weights``; trailing zero bytes dropped."""
    with _guard(EncodeError, "constriction"):
        model = constriction.stream.model.Categorical(weights.astype(np.float64), perfect=False)
        coder = constriction.stream.stack.AnsCoder()
        coder.encode_reverse(ranks.astype(np.int32), model)
        words = coder.get_compressed()
    return words.astype("<u4").tobytes().rstrip(b"\0")  # the top word is never zero


def ans_decode(data: bytes, weights: np.ndarray, k: int, what: str) -> np.ndarray:
    """Inverse of :func:`ans_encode` for ``k`` symbols; the stream must decode exactly."""
    if data[-1:] == b"\0":
        raise DecodeError(f"{what}: stream ends in a zero byte")
    words = np.frombuffer(data + bytes(-len(data) % 4), dtype="<u4").astype(np.uint32)
    with _guard(DecodeError, what):
        coder = constriction.stream.stack.AnsCoder(words)
        out = coder.decode(constriction.stream.model.Categorical(weights.astype(np.float64), perfect=False), k)
        if not coder.is_empty():
            raise DecodeError(f"{what}: stream has bits left over")
    return out.astype(np.int64)


class _Stream:
    """One symbol stream: its table fields, and its ANS bytes (empty if the table determines it)."""

    def __init__(self, symbols: np.ndarray, m: int, with_table: bool = True):
        hist = np.bincount(symbols, minlength=m)
        used = np.flatnonzero(hist)
        if len(used) > MAX_ALPHABET:
            raise EncodeError(f"csr-arithmetic codes at most {MAX_ALPHABET} distinct symbols, got {len(used)}")
        self.counts = hist[used]
        empty = np.zeros(0, np.int64)
        self.fields = split_fields(used, self.counts, m) if with_table else (empty, empty)
        if not with_table:
            self.payload = ans_encode(symbols, np.ones(m)) if m > 1 else b""
        elif len(used) > 1:
            self.payload = ans_encode((np.cumsum(hist > 0) - 1)[symbols], self.counts)
        else:
            self.payload = b""

    @property
    def table_bits(self) -> int:
        return int(self.fields[1].sum())


def _decode_stream(data: bytes, used: np.ndarray, counts: np.ndarray, k: int, what: str) -> np.ndarray:
    if len(used) == 1:
        if data:
            raise DecodeError(f"{what}: a stream where the table leaves no choice")
        return np.full(k, used[0])
    ranks = ans_decode(data, counts, k, what)
    if not np.array_equal(np.bincount(ranks, minlength=len(used)), counts):
        raise DecodeError(f"{what}: symbols do not match their count table")
    return used[ranks]


def _q_uniform(t: Triplet) -> bool:
    """Whether Q is cheaper under a uniform model than under a coded count table."""
    r, k = t.r, t.k
    if r < 2 or r > MAX_ALPHABET:
        return False
    hist = t.counts()
    used = np.flatnonzero(hist)
    counts = hist[used]
    table = int(split_fields(used, counts, r)[1].sum()) + float(np.sum(counts * np.log2(k / counts)))
    return k * np.log2(r) < table


class CsrArithmeticCoder(Coder):
    """Static per-tensor models, their counts coded in the stream (see the module doc)."""

    id = "csr-arithmetic"

    def encode(self, t: Triplet) -> Encoded:
        g = G.start_encode(t, self.id, split_bits)
        if isinstance(g, Encoded):
            return g
        k, r, tm, m, half, cb = t.k, t.r, g.t, g.m, g.half, g.codebook
        sym, low, low_bits = g.symbols, g.low, g.low_bits
        uniform = _q_uniform(t)
        gs = _Stream(sym, m)
        qs = _Stream(t.indices, r, with_table=not uniform)
        table, tbits = pack_fields(np.concatenate([gs.fields[0], qs.fields[0], low]),
                                   np.concatenate([gs.fields[1], qs.fields[1], low_bits]))
        head = bytes([half | uniform << 1 | tm << 2]) + uvarint(k) + uvarint(r)
        mb, gb = uvarint(m), block(gs.payload)
        payload = head + cb + mb + table + gb + qs.payload
        bits = BitBreakdown(
            header=8 * len(head) + qs.table_bits, codebook=8 * len(cb), indices=8 * len(qs.payload),
            positions=8 * (len(mb) + len(gb)) + gs.table_bits + int(low_bits.sum()), padding=8 * len(table) - tbits)
        return Encoded(payload, bits)

    def decode(self, payload: bytes, shape: tuple[int, ...]) -> Triplet:
        what = "csr-arithmetic payload"
        h = G.start_decode(payload, shape, what, extra_bits=1)
        if isinstance(h, Triplet):
            return h
        n, k, r, tm, uniform, cb, m, rest = h.n, h.k, h.r, h.t, h.extra, h.codebook, h.m, h.rest
        if not m:
            raise DecodeError(f"{what}: empty gap alphabet")
        fr = BitReader(rest, what)
        g_used, g_counts = read_counts(fr, k, m)
        G.check_span(g_used, g_counts, tm, n, what)
        q_used, q_counts = (None, None) if uniform else read_counts(fr, k, r)
        low_start, low_bits = fr.pos, extra_bits(g_used, tm)
        fr.skip(int(np.dot(g_counts, low_bits)))
        streams = Reader(rest[fr.end():], what)
        sym = _decode_stream(streams.block(), g_used, g_counts, k, what + " (gaps)")
        fr.pos = low_start
        low = fr.read(extra_bits(sym, tm)).view(np.int64)
        gaps = from_symbols(sym, low, tm)
        if float(np.sum(gaps, dtype=np.float64)) + k > n:
            raise DecodeError(f"{what}: gaps run past the end of the tensor")
        q_data = streams.take(streams.remaining)
        if uniform:
            idx = ans_decode(q_data, np.ones(r), k, what + " (indices)") if r > 1 else np.zeros(k, np.int64)
        else:
            idx = _decode_stream(q_data, q_used, q_counts, k, what + " (indices)")
        G.check_choices(h, sym, gaps, split_bits, what)
        t = Triplet.decoded(shape, positions_of(gaps), cb, idx)
        if uniform != _q_uniform(t):
            raise DecodeError(f"{what}: index model flag is not the one the encoder chooses")
        return t

    def index_prior(self, t: Triplet) -> np.ndarray | None:
        """``counts / k`` from the coded Q table, or uniform when Q is coded without one."""
        if not t.k or not t.r:
            return None
        if _q_uniform(t):
            return np.full(t.r, 1.0 / t.r)
        return t.counts() / t.k


@hookimpl
def register_coders():
    return [CsrArithmeticCoder]
