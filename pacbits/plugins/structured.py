"""``csr-structured``: CSR coding that skips the empty rows and columns pruning leaves.

The tensor is viewed as ``A x B x C`` (rows: ``shape[0]``; columns: ``shape[1]``,
the input features or channels; ``C``: the rest, e.g. a conv kernel; a 1-D tensor
is one row). Coded are the rows holding a kept weight, the columns holding one,
and the kept cells of the grid of those rows and columns (``|R| x |C'| x C``
cells, row-major). DNS leaves 376 of LeNet-5's 500 fc1 rows and 424 of its 800
columns empty (docs/coders.md).

A set of ``k`` of ``n`` (rows, columns, or the kept cells) is coded by its count
and, when ``0 < k < n``, by the gaps of its members or, when ``2k > n``, of its
complement: gap symbols and raw low bits as in ``gaps`` (``t`` chosen per set),
their counts coded by binary splitting (``bitio.split_fields``).

Grids of at most ``MAX_ROW_CELLS`` cells may instead use the **row mode**, when
its estimated length is smaller: each row's count, then its cells in order, one
binary decision each, with ``P(kept) = rem * w_j / sum_{j' >= j} w_j'`` (``rem``:
the row's kept cells still to come; ``w_j = 2 +`` the earlier rows keeping column
``j``; capped at ``1 - 2**-10``; no decision once ``rem`` is 0 or equals the cells
left). Under uniform ``w`` this is the enumerative code of the row, ``log2 C(L,
k_row)`` bits; the column weights learn which inputs the layer uses.

The codebook's float keys, when sorted, are Rice-coded deltas.

Payload::

    fields   one MSB-first bit string, zero-padded to a byte at its end:
      half       1 bit: codebook float16 (else float32); W = 16 or 32
      r          Elias gamma of r + 1
      codebook   z (1 bit, if r >= 1): entry 0 is +0.0, not coded further;
                 s (1 bit, if r - z >= 2): the other entries are strictly increasing;
                 s = 0: r - z raw W-bit floats; s = 1: the first one's order key
                 (W bits), b (5 bits), r - z - 1 unary quotients of the key
                 deltas minus 1 (q ones and a zero), then their b low bits each
      k          bit_width(numel + 1) bits
      -- only if k > 0:
      skip       1 bit (if A > 1 or B > 1): the sets below; else the kept positions
                 are one set of k of numel (plain CSR gaps), as when
                 skipping would not pay (e.g. random masks: every row is used)
      sets       rows (if A > 1: |R| - 1 at bit_width(A) bits), columns (if B > 1:
                 likewise), kept cells (count k known); each set with 0 < k < n
                 adds a values table: t (5 bits), m - 1 (symbol alphabet size),
                 the symbol counts and the raw low bits of its large values
      mode       1 bit if skip and 0 < k < cells <= MAX_ROW_CELLS: row mode; then the cells'
                 table is the values table of the row counts minus 1
      Q table    u (1 bit, if r >= 2): Q under a uniform model; else the Q counts
    sets     if any table has two symbols or more, or in row mode: varint byte
             length + one ANS stream: the symbols of each table, in order, then
             the row mode's decisions
    Q        ANS stream of the indices, to the end of the payload

Streams are coded as in ``csr-arithmetic`` (ranks among the used symbols under
``Categorical(counts, perfect=False)``, nothing when one symbol is used, the top
word without its leading zero bytes).

Bits: ``header`` = half, r, k, the set counts, t, m and the Q table (so the
payload without its ``indices`` bits is self-delimiting and fixes ``P``: see
:meth:`StructuredCoder.index_prior`); ``codebook`` = its fields; ``positions``
= the set tables, raw bits and the sets stream with its length; ``indices`` =
the Q stream; ``padding`` = the field padding.

The encoder takes the skip bit, the row mode and Rice's parameter by comparing
estimated lengths. Canonical: every choice is a function of the triplet; ``decode``
recomputes the fields of what it decoded (everything but the ANS streams) and
rejects a payload whose fields differ, and each stream must decode exactly to the
empty coder state with its last byte nonzero (ANS decoding inverts encoding), its
length varint in shortest form. So a payload that decodes is its triplet's code.
"""
from __future__ import annotations

from dataclasses import dataclass

import constriction
import numpy as np

from pacbits.core import BitBreakdown, Coder, DecodeError, EncodeError, Encoded, Triplet, hookimpl
from pacbits.core import bitio
from pacbits.core.bitio import BitReader, Reader, bit_width, block, pack_fields, read_counts, split_bits, split_fields, uvarint

from . import gaps as G
from .csr_arithmetic import MAX_ALPHABET, _decode_stream, _guard, _q_uniform, ans_decode, ans_encode

MAX_R = 1 << 24
MAX_UNARY = 62  # a Rice quotient is one field of q + 1 <= 63 bits


def view(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(A, B, C)``: rows, columns and the cells of one (row, column) pair."""
    n = int(np.prod(shape, dtype=np.int64))
    if len(shape) < 2:
        return 1, n, 1
    return int(shape[0]), int(shape[1]), int(np.prod(shape[2:], dtype=np.int64))


def order_keys(bits: np.ndarray, width: int) -> np.ndarray:
    """Unsigned keys whose order is the float order of the IEEE bit patterns (-0.0 just below +0.0)."""
    sign = 1 << (width - 1)
    return np.where(bits & sign, (1 << width) - 1 - bits, bits | sign)


def from_keys(keys: np.ndarray, width: int) -> np.ndarray:
    sign = 1 << (width - 1)
    return np.where(keys & sign, keys ^ sign, (1 << width) - 1 - keys)


def rice_parameter(d: np.ndarray, width: int) -> int:
    """The ``b`` minimizing ``sum(d >> b) + len(d) * (b + 1)`` with every quotient at most MAX_UNARY."""
    lo = max(int(bitio.bitlen(d.max())) - 5, 0) if d.size else 0  # quotients below 32
    costs = [int(np.sum(d >> b)) + d.size * (b + 1) for b in range(lo, width)]
    return lo + int(np.argmin(costs))


class _Writer:
    """Fields by part: header, codebook, positions (packed into one bit string in order)."""

    def __init__(self):
        self.values, self.widths, self.parts = [], [], []

    def put(self, values, widths, part: str = "header") -> None:
        v = np.atleast_1d(np.asarray(values, dtype=np.uint64))
        w = np.broadcast_to(np.asarray(widths, dtype=np.int64), v.shape)
        self.values.append(v)
        self.widths.append(w)
        self.parts.append((part, int(w.sum())))

    def bits(self, part: str) -> int:
        return sum(b for p, b in self.parts if p == part)

    def pack(self) -> tuple[bytes, int]:
        return pack_fields(np.concatenate(self.values), np.concatenate(self.widths))


def _gamma(w: _Writer, n: int) -> None:
    """Elias gamma of ``n >= 1``: ``bitlen(n) - 1`` zeros, then ``n``."""
    w.put(n, 2 * n.bit_length() - 1)


def _read_gamma(fr: BitReader, limit: int) -> int:
    zeros = 0
    while not fr.read_int(1):
        zeros += 1
        if zeros >= limit.bit_length():
            raise DecodeError(f"{fr.what}: Elias gamma code exceeds {limit}")
    n = (1 << zeros) | fr.read_int(zeros)
    if n > limit:
        raise DecodeError(f"{fr.what}: value {n} exceeds its limit {limit}")
    return n


def _put_codebook(w: _Writer, cb: np.ndarray) -> None:
    width = 8 * cb.dtype.itemsize
    half = cb.dtype == np.float16
    bits = cb.astype("<f2" if half else "<f4").view("<u2" if half else "<u4").astype(np.int64)
    z = int(bits.size >= 1 and bits[0] == 0)
    if bits.size:
        w.put(z, 1, "codebook")
    rest = bits[z:]
    keys = order_keys(rest, width)
    if rest.size < 2:
        w.put(rest, width, "codebook")
        return
    s = int(np.all(np.diff(keys) > 0))
    w.put(s, 1, "codebook")
    if not s:
        w.put(rest, width, "codebook")
        return
    d = np.diff(keys) - 1
    b = rice_parameter(d, width)
    q = d >> b
    w.put(keys[0], width, "codebook")
    w.put(b, 5, "codebook")
    w.put((np.ones_like(q) << (q + 1)) - 2, q + 1, "codebook")
    w.put(d & ((1 << b) - 1), b, "codebook")


def _read_unary(fr: BitReader, data: bytes, count: int) -> np.ndarray:
    """``count`` unary numbers (q ones, then a zero) from the reader's position."""
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[fr.pos : fr.pos + count * (MAX_UNARY + 1)]
    zeros = np.flatnonzero(bits == 0)[:count]
    if zeros.size < count:
        raise DecodeError(f"{fr.what}: truncated unary codes")
    q = np.diff(zeros, prepend=-1) - 1
    if q.max() > MAX_UNARY:
        raise DecodeError(f"{fr.what}: unary code longer than {MAX_UNARY}")
    fr.skip(int(zeros[-1]) + 1)
    return q


def _read_codebook(fr: BitReader, data: bytes, r: int, half: bool) -> np.ndarray:
    width = 16 if half else 32
    dt = np.dtype("<u2" if half else "<u4")
    z = fr.read_int(1) if r else 0
    m = r - z
    if m > fr.nbits - fr.pos:  # every entry costs at least one bit
        raise DecodeError(f"{fr.what}: codebook of {r} entries is longer than the payload")
    s = fr.read_int(1) if m >= 2 else 0
    if not s:
        rest = fr.read(np.full(m, width)).astype(np.int64)
    else:
        first = fr.read_int(width)
        b = fr.read_int(5)
        if b >= width:
            raise DecodeError(f"{fr.what}: Rice parameter {b} too large")
        q = _read_unary(fr, data, m - 1)
        d = (q << b) | fr.read(np.full(m - 1, b)).astype(np.int64)
        keys = first + np.concatenate([[0], np.cumsum(d + 1)])
        if keys[-1] >= 1 << width:
            raise DecodeError(f"{fr.what}: codebook keys overflow")
        rest = from_keys(keys, width)
    out = np.concatenate([np.zeros(z, np.int64), rest]).astype(dt)
    return out.view("<f2" if half else "<f4").astype(np.float16 if half else np.float32)


@dataclass
class _Values:
    """Non-negative integers below ``limit`` as binned symbols: the fields and stream segment that code them."""

    t: int
    m: int
    width: int  # of the m - 1 field
    counts: np.ndarray  # of the used symbols
    table: tuple[np.ndarray, np.ndarray]  # the count table's (values, widths)
    low: np.ndarray
    low_bits: np.ndarray
    ranks: np.ndarray  # of the symbols among the used ones

    @classmethod
    def of(cls, values: np.ndarray, limit: int) -> "_Values":
        tm = bitio.choose_t(values, split_bits)
        sym, low, low_bits = bitio.to_symbols(values, tm)
        m = int(sym.max()) + 1
        hist = np.bincount(sym, minlength=m)
        used = np.flatnonzero(hist)
        ranks = (np.cumsum(hist > 0) - 1)[sym]
        return cls(tm, m, bit_width(bitio.alphabet_size(limit - 1, tm)), hist[used], split_fields(used, hist[used], m),
                   low, low_bits, ranks)

    def cost(self) -> float:
        """Estimated bits: fields plus the ideal length of the stream."""
        c = self.counts
        return 5 + self.width + int(self.table[1].sum()) + int(self.low_bits.sum()) + float(np.sum(c * np.log2(c.sum() / c)))

    def put(self, w: _Writer, segments: list) -> None:
        w.put(self.t, 5)
        w.put(self.m - 1, self.width)
        w.put(*self.table, "positions")
        w.put(self.low, self.low_bits, "positions")
        if self.counts.size > 1:
            segments.append(("categorical", self.ranks, self.counts))


class _ValuesTable:
    """The decoder's side of :class:`_Values`: the table, read before the stream; :meth:`values` after."""

    def __init__(self, fr: BitReader, limit: int, size: int):
        self.size = size
        self.t = fr.read_int(5)
        if self.t > bitio.MAX_GAP_T:
            raise DecodeError(f"{fr.what}: gap mantissa bits {self.t} > {bitio.MAX_GAP_T}")
        self.m = fr.read_int(bit_width(bitio.alphabet_size(limit - 1, self.t))) + 1
        self.used, self.counts = read_counts(fr, size, self.m)
        if self.counts.size > MAX_ALPHABET:
            raise DecodeError(f"{fr.what}: more than {MAX_ALPHABET} symbols in a table")
        self.low_at = fr.pos
        fr.skip(int(np.dot(self.counts, bitio.extra_bits(self.used, self.t))))
        self.ranks = None

    @property
    def streamed(self) -> bool:
        return self.counts.size > 1

    def values(self, fr: BitReader) -> np.ndarray:
        sym = self.used[self.ranks] if self.streamed else np.full(self.size, self.used[0])
        fr.pos = self.low_at
        return bitio.from_symbols(sym, fr.read(bitio.extra_bits(sym, self.t)).astype(np.int64), self.t)


def _complement(members: np.ndarray, n: int) -> np.ndarray:
    keep = np.ones(n, bool)
    keep[members] = False
    return np.flatnonzero(keep)


def _set_values(members: np.ndarray, n: int) -> "_Values | None":
    """The gaps of a set (of its complement if it holds more than half of ``[0, n)``); None if 0 or all."""
    k = members.size
    if k in (0, n):
        return None
    return _Values.of(bitio.gaps_of(_complement(members, n) if 2 * k > n else members), n)


def _set_members(fr: BitReader, table: "_ValuesTable | None", n: int, k: int) -> np.ndarray:
    if table is None:
        return np.arange(n if k else 0, dtype=np.int64)
    gaps = table.values(fr)
    if float(np.sum(gaps, dtype=np.float64)) + table.size > n:
        raise DecodeError(f"{fr.what}: gaps run past the end of a set")
    members = bitio.positions_of(gaps)
    return _complement(members, n) if 2 * k > n else members


def _set_table(fr: BitReader, n: int, k: int) -> "_ValuesTable | None":
    return None if k in (0, n) else _ValuesTable(fr, n, min(k, n - k))


# Row mode (grids of at most MAX_ROW_CELLS cells): the count of each row, then its cells in
# order, bit by bit, P(kept) = rem * w_j / sum(w_j' for j' >= j): ``rem`` the row's kept
# cells still to come, ``w_j`` = 2 + the number of earlier rows keeping column j.

MAX_ROW_CELLS = 1 << 16
P_MAX = 1 - 2.0**-10
COL_PRIOR = 2


def _row_probabilities(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bits, P(bit = 1)) of the undetermined cells of a boolean grid, row by row."""
    rows, width = grid.shape
    seen = np.zeros(width, np.int64)
    left = width - np.arange(width)
    bits, probs = [], []
    for x in grid:
        w = seen + COL_PRIOR
        suffix = np.cumsum(w[::-1])[::-1]
        rem = int(x.sum()) - (np.cumsum(x) - x)
        active = (rem > 0) & (rem < left)
        bits.append(x[active])
        probs.append(np.minimum(rem[active] * w[active] / suffix[active], P_MAX))
        seen += x
    return np.concatenate(bits).astype(np.int32), np.concatenate(probs)


def _decode_rows(coder, counts: np.ndarray, width: int) -> np.ndarray:
    """Inverse of :func:`_row_probabilities` given each row's count: the grid's kept cells (flat)."""
    seen = np.zeros(width, np.int64)
    out = []
    for i, kr in enumerate(counts.tolist()):
        w = (seen + COL_PRIOR).tolist()
        suffix = np.cumsum((seen + COL_PRIOR)[::-1])[::-1].tolist()
        row, rem = [], kr
        for j in range(width):
            if rem == width - j:
                row.extend(range(j, width))
                break
            if not rem:
                break
            p = min(rem * w[j] / suffix[j], P_MAX)
            if coder.decode(constriction.stream.model.Bernoulli(p, perfect=False)):
                row.append(j)
                rem -= 1
        row = np.array(row, np.int64)
        seen[row] += 1
        out.append(row + i * width)
    return np.concatenate(out)


def _row_cost(bits: np.ndarray, probs: np.ndarray) -> float:
    return float(-np.sum(np.log2(np.where(bits, probs, 1 - probs))))


def _ans_segments(segments: list) -> bytes:
    """One ANS stream for several segments, decodable in order."""
    with _guard(EncodeError, "constriction"):
        coder = constriction.stream.stack.AnsCoder()
        for kind, symbols, params in reversed(segments):
            if kind == "categorical":
                coder.encode_reverse(symbols.astype(np.int32), constriction.stream.model.Categorical(
                    params.astype(np.float64), perfect=False))
            else:
                coder.encode_reverse(symbols, constriction.stream.model.Bernoulli(perfect=False), params)
        words = coder.get_compressed()
    return words.astype("<u4").tobytes().rstrip(b"\0")


def _stream_decoder(data: bytes, what: str):
    if data[-1:] == b"\0":
        raise DecodeError(f"{what}: sets stream ends in a zero byte")
    words = np.frombuffer(data + bytes(-len(data) % 4), dtype="<u4").astype(np.uint32)
    return constriction.stream.stack.AnsCoder(words)


def _decode_categorical(coder, table: _ValuesTable, what: str) -> None:
    out = coder.decode(constriction.stream.model.Categorical(table.counts.astype(np.float64), perfect=False),
                       table.size).astype(np.int64)
    if not np.array_equal(np.bincount(out, minlength=table.counts.size), table.counts):
        raise DecodeError(f"{what}: symbols do not match their count table")
    table.ranks = out


def _grid_plan(a, b, c, rows, cols, cell, row_used, col_used) -> tuple[list, float]:
    """What codes the used rows, used columns and the kept cells of their grid, and its estimated bits."""
    plan, cost = [], 0.0
    for used, size in ((np.flatnonzero(row_used), a), (np.flatnonzero(col_used), b)):
        if size > 1:
            plan.append(("field", used.size - 1, bit_width(size)))
            cost += bit_width(size)
            v = _set_values(used, size)
            if v is not None:
                plan.append(("values", v))
                cost += v.cost()
    width = int(col_used.sum()) * c
    cells = (np.cumsum(row_used) - 1)[rows] * width + (np.cumsum(col_used) - 1)[cols] * c + cell
    n_cells = int(row_used.sum()) * width
    flat = _set_values(cells, n_cells)
    if flat is None:
        return plan, cost
    if n_cells <= MAX_ROW_CELLS:
        grid = np.zeros(n_cells, bool)
        grid[cells] = True
        grid = grid.reshape(-1, width)
        counts = _Values.of(grid.sum(1) - 1, width)
        bits, probs = _row_probabilities(grid)
        row_cost = counts.cost() + _row_cost(bits, probs)
        row_mode = row_cost < flat.cost()
        plan.append(("field", int(row_mode), 1))
        cost += 1
        if row_mode:
            return plan + [("values", counts), ("bernoulli", bits, probs)], cost + row_cost
    return plan + [("values", flat)], cost + flat.cost()


class StructuredCoder(Coder):
    """Empty rows and columns skipped, the kept cells coded inside the rest (see the module doc)."""

    id = "csr-structured"

    def encode(self, t: Triplet) -> Encoded:
        return self._encode(t, streams=True)

    def _encode(self, t: Triplet, streams: bool) -> "Encoded | bytes":
        """The payload, or with ``streams=False`` only its fields (for the decoder's canonical check)."""
        t.validate()
        n, k, r = t.numel, t.k, t.r
        if n >= G.MAX_NUMEL:
            raise EncodeError(f"{self.id} codes tensors of fewer than 2**53 weights, got {n}")
        if r >= MAX_R:
            raise EncodeError(f"{self.id} codes codebooks of fewer than {MAX_R} entries, got {r}")
        w = _Writer()
        w.put(int(t.codebook.dtype == np.float16), 1)
        _gamma(w, r + 1)
        _put_codebook(w, t.codebook)
        w.put(k, bit_width(n + 1))
        sets, q_data = b"", b""
        if k:
            segments = []
            self._put_positions(w, t, segments)
            uniform = r >= 2 and _q_uniform(t)
            if r >= 2:
                w.put(int(uniform), 1)
            hist = t.counts()
            used = np.flatnonzero(hist)
            if not uniform:
                w.put(*split_fields(used, hist[used], r))
            if streams:
                sets = block(_ans_segments(segments)) if segments else b""
                if uniform:
                    q_data = ans_encode(t.indices, np.ones(r))
                elif used.size > 1:
                    q_data = ans_encode((np.cumsum(hist > 0) - 1)[t.indices], hist[used])
        fields, nbits = w.pack()
        if not streams:
            return fields
        payload = fields + sets + q_data
        bits = BitBreakdown(header=w.bits("header"), codebook=w.bits("codebook"),
                            positions=w.bits("positions") + 8 * len(sets), indices=8 * len(q_data),
                            padding=8 * len(fields) - nbits)
        return Encoded(payload, bits)

    @staticmethod
    def _put_positions(w: _Writer, t: Triplet, segments: list) -> None:
        a, b, c = view(t.shape)
        if a == 1 and b <= 1:
            return  # one weight, kept
        rows, rest = np.divmod(t.positions, b * c)
        cols, cell = np.divmod(rest, c)
        row_used = np.bincount(rows, minlength=a) > 0
        col_used = np.bincount(cols, minlength=b) > 0
        whole = _set_values(t.positions, t.numel)
        skip = False  # if every row and column is used and the row mode is out, the sets only add counts
        if not (row_used.all() and col_used.all() and row_used.size * col_used.size * c > MAX_ROW_CELLS):
            plan, cost = _grid_plan(a, b, c, rows, cols, cell, row_used, col_used)
            skip = cost < (whole.cost() if whole is not None else 0)
        w.put(int(skip), 1)
        if not skip:
            if whole is not None:
                whole.put(w, segments)
            return
        for item in plan:
            if item[0] == "field":
                w.put(item[1], item[2])
            elif item[0] == "values":
                item[1].put(w, segments)
            else:
                segments.append(item)  # row mode: at least one decision (a row with 0 < count < width)

    def decode(self, payload: bytes, shape: tuple[int, ...]) -> Triplet:
        what = f"{self.id} payload"
        t, fields_end = self._decode(payload, tuple(shape), what)
        # The streams decoded exactly (ANS is a bijection); the fields must be the triplet's own.
        if fields_end != len(fields := self._encode(t, streams=False)) or payload[:fields_end] != fields:
            raise DecodeError(f"{what}: not the canonical code of the triplet it decodes to")
        return t

    def _decode(self, payload: bytes, shape: tuple[int, ...], what: str) -> Triplet:
        n = int(np.prod(shape, dtype=np.int64))
        if n >= G.MAX_NUMEL:
            raise DecodeError(f"{what}: shape {shape} has 2**53 weights or more")
        fr = BitReader(payload, what)
        half = fr.read_int(1)
        r = _read_gamma(fr, MAX_R) - 1
        cb = _read_codebook(fr, payload, r, bool(half))
        k = fr.read_int(bit_width(n + 1))
        if k > n:
            raise DecodeError(f"{what}: {k} kept weights in a tensor of {n}")
        if not k:
            end = fr.end()
            if end != len(payload):
                raise DecodeError(f"{what}: {len(payload) - end} trailing bytes")
            return Triplet.decoded(shape, np.zeros(0, np.int64), cb, np.zeros(0, np.int64)), end
        if not r:
            raise DecodeError(f"{what}: kept weights but an empty codebook")
        a, b, c = view(shape)
        skip = bool(fr.read_int(1)) if a > 1 or b > 1 else False
        if skip:
            n_rows = fr.read_int(bit_width(a)) + 1 if a > 1 else 1
            if n_rows > min(a, k):
                raise DecodeError(f"{what}: {n_rows} used rows")
            row_table = _set_table(fr, a, n_rows)
            n_cols = fr.read_int(bit_width(b)) + 1 if b > 1 else 1
            width = n_cols * c
            if n_cols > min(b, k) or k > n_rows * width:
                raise DecodeError(f"{what}: set counts exceed the tensor")
            col_table = _set_table(fr, b, n_cols)
            n_cells = n_rows * width
        else:
            row_table = col_table = None
            n_rows, n_cols, width, n_cells = 1, n, n, n
        row_mode = bool(skip and k < n_cells <= MAX_ROW_CELLS and fr.read_int(1))
        cell_table = _ValuesTable(fr, width, n_rows) if row_mode else _set_table(fr, n_cells, k)
        uniform = fr.read_int(1) if r >= 2 else 0
        q_used, q_counts = (None, None) if uniform or r < 2 else read_counts(fr, k, r)
        fields_end = fr.end()
        streams = Reader(payload[fields_end:], what)
        tables = [tb for tb in (row_table, col_table, cell_table) if tb is not None and tb.streamed]
        with _guard(DecodeError, what):
            if tables or row_mode:
                data = streams.block()
                if streams.pos != len(uvarint(len(data))) + len(data):
                    raise DecodeError(f"{what}: sets stream length not in its shortest form")
                coder = _stream_decoder(data, what)
                for tb in tables:
                    _decode_categorical(coder, tb, what)
                if row_mode:
                    counts = cell_table.values(fr) + 1
                    if counts.max() > width or counts.sum() != k:
                        raise DecodeError(f"{what}: row counts do not add up to the kept weights")
                    cells = _decode_rows(coder, counts, width)
                if not coder.is_empty():
                    raise DecodeError(f"{what}: sets stream has bits left over")
        if not row_mode:
            cells = _set_members(fr, cell_table, n_cells, k)
        if skip:
            used_rows = _set_members(fr, row_table, a, n_rows)
            used_cols = _set_members(fr, col_table, b, n_cols)
            row_rank, rest = np.divmod(cells, width)
            col_rank, cell = np.divmod(rest, c)
            pos = (used_rows[row_rank] * b + used_cols[col_rank]) * c + cell
        else:
            pos = cells
        q_data = streams.take(streams.remaining)
        if r < 2:
            if q_data:
                raise DecodeError(f"{what}: an index stream for a one-entry codebook")
            idx = np.zeros(k, np.int64)
        elif uniform:
            idx = ans_decode(q_data, np.ones(r), k, what + " (indices)")
        else:
            idx = _decode_stream(q_data, q_used, q_counts, k, what + " (indices)")
        return Triplet.decoded(shape, pos, cb, idx), fields_end

    def index_prior(self, t: Triplet) -> np.ndarray | None:
        """``counts / k`` from the coded Q table, or uniform when Q is coded without one."""
        if not t.k or not t.r:
            return None
        if t.r >= 2 and _q_uniform(t):
            return np.full(t.r, 1.0 / t.r)
        return t.counts() / t.k

@hookimpl
def register_coders():
    return [StructuredCoder]
