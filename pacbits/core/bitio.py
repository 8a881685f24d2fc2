"""The coding toolkit: byte and bit I/O, integer codes, codebook and count headers, gap models.

Everything a coder needs to write a payload and read an untrusted one back, in one
module, vectorized with numpy (no Python loop over the weights). The built-in
coders use it; a plugin author should too. Every reader raises
:class:`~pacbits.core.errors.DecodeError` (never IndexError) and never allocates
more than the bytes it was given justify.

Bytes
    :func:`uvarint` / :meth:`Reader.uvarint` (LEB128; overlong spellings rejected),
    :func:`block` / :meth:`Reader.block` (length-prefixed bytes), :class:`Reader`.
Bits (MSB first, one bit string zero-padded to whole bytes at its end)
    :class:`BitWriter` and :class:`BitReader`, on the one packer :func:`pack_fields`.
    Fields of 0..63 bits, and the integer codes, each for a whole array at once
    (``n >= 0`` for unary, Rice and Golomb; ``n >= 1`` for Elias):

    ==========  ==========================================  ===============================
    code        codeword of ``n``                           bits
    ==========  ==========================================  ===============================
    unary       ``n`` zeros, then a one                     ``n + 1``
    Golomb m    unary ``n // m``, then ``n % m`` in         ``n // m + 1 + ceil(log2 m)``,
                truncated binary                            one less for small remainders
    Rice k      Golomb with ``m = 2**k``                    ``(n >> k) + 1 + k``
    Elias gamma ``N = floor(log2 n)`` zeros, ``n`` in N+1   ``2N + 1``
    Elias delta gamma(N + 1), then the N low bits of ``n``  ``N + 2 floor(log2(N+1)) + 1``
    ==========  ==========================================  ===============================

    :func:`pack_bits` / :func:`unpack_bits`: an array at one fixed width, a byte
    string of its own. :func:`check_padding`: the canonical-padding rule.
Headers
    :func:`codebook_bytes` / :func:`read_codebook` (float32 or float16 codebooks,
    little-endian); :func:`split_fields` / :func:`read_counts` (symbol counts
    coded by binary splitting, :func:`split_bits` of them).
Gap models
    :func:`gaps_of` / :func:`positions_of` (CSR gaps), and log-spaced gap symbols:
    :func:`to_symbols` / :func:`from_symbols`, :func:`choose_t`.

Decoders must be canonical: a payload that decodes re-encodes to itself (the
conformance kit checks it). The readers help: :meth:`BitReader.end` and
:func:`unpack_bits` reject nonzero padding, :meth:`Reader.uvarint` overlong varints.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import DecodeError

U64 = np.uint64
MAX_WIDTH = 63
MAX_CODE_BITS = 62  # integer codes take values below 2**62
CHUNK = 1 << 18


# --------------------------------------------------------------------------- bytes


def uvarint(n: int) -> bytes:
    """Unsigned LEB128: 7 bits a byte, high bit set on all but the last."""
    if n < 0:
        raise ValueError(f"uvarint needs n >= 0, got {n}")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


class Reader:
    """Sequential reader over untrusted bytes."""

    def __init__(self, data: bytes, what: str = "payload"):
        self.data = memoryview(bytes(data))
        self.pos = 0
        self.what = what

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or n > self.remaining:
            raise DecodeError(f"{self.what} truncated: needs {n} more bytes, has {self.remaining}")
        b = self.data[self.pos : self.pos + n].tobytes()
        self.pos += n
        return b

    def u8(self) -> int:
        return self.take(1)[0]

    def uvarint(self, limit: int = 1 << 64) -> int:
        """Read a LEB128 integer and check it is at most ``limit`` and spelled canonically."""
        n = shift = 0
        while True:
            if shift > 63:
                raise DecodeError(f"{self.what}: varint longer than 64 bits")
            b = self.u8()
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if b == 0 and shift > 7:
            raise DecodeError(f"{self.what}: overlong varint (a trailing zero byte)")
        if n > limit:
            raise DecodeError(f"{self.what}: value {n} exceeds its limit {limit}")
        return n

    def block(self) -> bytes:
        """A length-prefixed byte block (see :func:`block`)."""
        return self.take(self.uvarint(self.remaining))

    def expect_end(self) -> None:
        if self.remaining:
            raise DecodeError(f"{self.what}: {self.remaining} unexpected trailing bytes")


def block(data: bytes) -> bytes:
    """Length-prefix ``data`` so a :class:`Reader` can take it back."""
    return uvarint(len(data)) + data


def bit_width(n: int) -> int:
    """Bits needed for values in ``[0, n)``: ``ceil(log2 n)``, 0 for n <= 1."""
    return max(int(n) - 1, 0).bit_length()


def bitlen(v) -> np.ndarray:
    """``int.bit_length`` of each ``0 <= v < 2**53`` (``floor(log2 v) + 1``, 0 for 0)."""
    return np.frexp(np.asarray(v, dtype=np.float64))[1].astype(np.int64)


# --------------------------------------------------------------------------- bits


def pack_fields(values, widths) -> tuple[bytes, int]:
    """``values[i]`` (``< 2**widths[i]``, widths 0..63) at ``widths[i]`` bits each -> (zero-padded bytes, bit count)."""
    widths = np.asarray(widths, dtype=np.int64).reshape(-1)
    values = np.asarray(values).reshape(-1)
    nbits = int(widths.sum())
    words = np.zeros((nbits + 63) // 64 + 1, dtype=U64)
    done = 0
    for lo in range(0, widths.size, CHUNK):  # chunks bound the temporaries
        w = widths[lo : lo + CHUNK]
        keep = w > 0
        v, w = values[lo : lo + CHUNK][keep].astype(U64), w[keep]
        if not w.size:
            continue
        end = done + np.cumsum(w)
        start = end - w
        done = int(end[-1])
        word, off = start >> 6, start & 63
        over = off + w - 64  # > 0: the field spills into the next word
        head = np.where(over > 0, v >> np.maximum(over, 0).astype(U64), v << np.maximum(-over, 0).astype(U64))
        first = np.flatnonzero(np.r_[True, word[1:] != word[:-1]])
        words[word[first]] |= np.bitwise_or.reduceat(head, first)  # fields of one word never overlap
        spill = over > 0
        words[word[spill] + 1] |= v[spill] << (64 - over[spill]).astype(U64)
    return words.astype(">u8").tobytes()[: (nbits + 7) // 8], nbits


def _ints(values, least: int, code: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64).reshape(-1)
    if v.size and (v.min() < least or v.max() >= 1 << MAX_CODE_BITS):
        raise ValueError(f"{code} codes integers in [{least}, 2**{MAX_CODE_BITS}), got {v.min()}..{v.max()}")
    return v


def _unary_fields(q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, widths, codeword) of ``q`` zeros then a one, in fields of at most 63 bits."""
    per = q // MAX_WIDTH + 1
    owner = np.repeat(np.arange(q.size), per)
    widths = np.full(owner.size, MAX_WIDTH, dtype=np.int64)
    last = np.cumsum(per) - 1
    widths[last] = q % MAX_WIDTH + 1
    values = np.zeros(owner.size, dtype=np.int64)
    values[last] = 1
    return values, widths, owner


class BitWriter:
    """Collects fields and integer codes; :meth:`getvalue` packs them into one bit string.

    >>> w = BitWriter().uint([5], 3).gamma([4]); (w.getvalue(), w.nbits)
    (b'\\xa4', 8)
    """

    def __init__(self):
        self._values: list[np.ndarray] = []
        self._widths: list[np.ndarray] = []
        self.nbits = 0

    def fields(self, values, widths) -> "BitWriter":
        """``values[i]`` at ``widths[i]`` (0..63) bits each; ``widths`` may be one int."""
        v = np.asarray(values, dtype=np.int64).reshape(-1)
        w = np.broadcast_to(np.asarray(widths, dtype=np.int64), v.shape).reshape(-1)
        if w.size and (w.min() < 0 or w.max() > MAX_WIDTH or v.min() < 0 or np.any(v >> w)):
            raise ValueError("a field value does not fit its width (0..63 bits)")
        self._values.append(v)
        self._widths.append(w)
        self.nbits += int(w.sum())
        return self

    def uint(self, values, width: int) -> "BitWriter":
        """Each value at ``width`` bits."""
        return self.fields(values, width)

    def _codewords(self, *parts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> "BitWriter":
        """Fields ``(values, widths, codeword)`` of several parts, written codeword by codeword, part by part."""
        values, widths, owner = (np.concatenate(x) for x in zip(*parts))
        part = np.concatenate([np.full(p[0].size, i) for i, p in enumerate(parts)])
        order = np.lexsort((part, owner))  # stable: a part's fields keep their order
        return self.fields(values[order], widths[order])

    def unary(self, values) -> "BitWriter":
        """Each ``n >= 0`` as ``n`` zeros, then a one."""
        v, w, _ = _unary_fields(_ints(values, 0, "unary"))
        return self.fields(v, w)

    def golomb(self, values, m: int) -> "BitWriter":
        """Golomb code, ``m >= 1``: unary ``n // m``, then ``n % m`` in truncated binary
        (remainders below ``u = 2**b - m``, ``b = ceil(log2 m)``, in b-1 bits, the others as ``r + u`` in b)."""
        if m < 1:
            raise ValueError(f"golomb needs m >= 1, got {m}")
        n = _ints(values, 0, "golomb")
        q, r = n // m, n % m
        b = bit_width(m)
        u = (1 << b) - m
        small = r < u
        rem = (np.where(small, r, r + u), np.where(small, b - 1, b) if b else np.zeros(n.size, np.int64), np.arange(n.size))
        return self._codewords(_unary_fields(q), rem)

    def rice(self, values, k: int) -> "BitWriter":
        """Rice code: Golomb with ``m = 2**k`` (unary ``n >> k``, then the k low bits)."""
        return self.golomb(values, 1 << k)

    def gamma(self, values) -> "BitWriter":
        """Elias gamma, ``n >= 1``: ``N = floor(log2 n)`` zeros, then ``n`` in N+1 bits."""
        n = _ints(values, 1, "elias-gamma")
        nl, i = bitlen(n) - 1, np.arange(n.size)
        return self._codewords((np.zeros(n.size, np.int64), nl, i), (n, nl + 1, i))

    def delta(self, values) -> "BitWriter":
        """Elias delta, ``n >= 1``: gamma of ``N + 1`` (``N = floor(log2 n)``), then n's N low bits."""
        n = _ints(values, 1, "elias-delta")
        nl, i = bitlen(n) - 1, np.arange(n.size)
        ll = bitlen(nl + 1) - 1
        return self._codewords((np.zeros(n.size, np.int64), ll, i), (nl + 1, ll + 1, i), (n - (1 << nl), nl, i))

    def getvalue(self) -> bytes:
        """Everything written, zero-padded to whole bytes."""
        if not self._values:
            return b""
        return pack_fields(np.concatenate(self._values), np.concatenate(self._widths))[0]

    @property
    def padding(self) -> int:
        """The zero bits :meth:`getvalue` adds up to a byte boundary."""
        return -self.nbits % 8


def chain_starts(jump: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` offsets of the chain ``0, jump[0], jump[jump[0]], …`` by pointer doubling
    (O(log count) vectorized passes); ``jump`` maps each offset to the next codeword's start, and
    its last entry (past the end) maps to itself."""
    starts = np.zeros(1, dtype=jump.dtype)
    while starts.size < count:
        starts = np.concatenate([starts, jump[starts]])
        if starts.size < count:
            jump = jump[jump]
    return starts[:count]


class BitReader:
    """Reads fields and integer codes from an untrusted byte string, from bit 0 on; every read is bounds-checked.

    The integer-code readers find codeword boundaries by pointer doubling over the
    bits they may span (``count`` times the longest codeword, at most what is
    left): O(N log count) numpy work and O(N) memory for N such bits.
    """

    def __init__(self, data: bytes, what: str = "payload"):
        self.what = what
        self.data = bytes(data)
        self.nbits = 8 * len(data)
        padded = self.data + bytes(-len(data) % 8 + 16)  # reads at offset nbits stay in bounds
        self.words = np.frombuffer(padded, dtype=">u8").astype(U64)
        self.pos = 0

    @property
    def remaining(self) -> int:
        return self.nbits - self.pos

    def _need(self, n: int) -> None:
        if n < 0 or self.pos + n > self.nbits:
            raise DecodeError(f"{self.what} truncated: needs {n} more bits, has {self.nbits - self.pos}")

    def _at(self, start: np.ndarray, width) -> np.ndarray:
        """Fields of ``width`` bits (0..63) at bit offsets ``start`` (inside the data), as int64."""
        start = np.asarray(start, dtype=np.int64)
        width = np.broadcast_to(np.asarray(width, dtype=np.int64), start.shape)
        word, off = start >> 6, (start & 63).astype(U64)
        window = (self.words[word] << off) | (self.words[word + 1] >> (U64(64) - off))  # numpy: x >> 64 == 0
        return (window >> (U64(64) - width.astype(U64))).astype(np.int64)

    def read(self, widths) -> np.ndarray:
        """The next ``len(widths)`` fields, as uint64."""
        w = np.asarray(widths, dtype=np.int64).reshape(-1)
        if w.size and (w.min() < 0 or w.max() > MAX_WIDTH):
            raise DecodeError(f"{self.what}: field width outside 0..{MAX_WIDTH}")
        self._need(int(w.sum()))
        out = np.zeros(w.size, dtype=U64)
        for lo in range(0, w.size, CHUNK):  # chunks bound the temporaries
            wc = w[lo : lo + CHUNK]
            end = self.pos + np.cumsum(wc)
            out[lo : lo + wc.size] = self._at(end - wc, wc).view(U64)
            self.pos = int(end[-1])
        return out

    def read_int(self, width: int) -> int:
        return int(self.read([width])[0])

    def uint(self, count: int, width: int) -> np.ndarray:
        """``count`` values of ``width`` bits, as int64."""
        if count * width > self.remaining:
            raise DecodeError(f"{self.what} truncated: {count} values of {width} bits")
        return self.read(np.full(count, width)).astype(np.int64)

    def windows(self, start: int, count: int, width: int) -> np.ndarray:
        """``width``-bit windows (uint32, zero-filled past the end) at bit offsets ``start .. start+count-1``."""
        out = np.empty(count, dtype=np.uint32)
        for lo in range(0, count, CHUNK):  # chunks bound the temporaries
            offs = np.arange(start + lo, start + min(count, lo + CHUNK), dtype=np.int64)
            out[lo : lo + offs.size] = self._at(offs, width)
        return out

    def skip(self, n: int) -> None:
        self._need(n)
        self.pos += n

    def end(self) -> int:
        """Bytes used so far (the padding up to the byte boundary must be zero)."""
        pad = -self.pos % 8
        if pad and self.read_int(pad):
            raise DecodeError(f"{self.what}: nonzero padding bits")
        return self.pos // 8

    # -- integer codes

    def _zero_runs(self, n: int) -> np.ndarray:
        """At each of the next ``n`` offsets, the zeros before the next one bit (counted to ``n`` if none)."""
        first = self.pos // 8
        raw = np.frombuffer(self.data, dtype=np.uint8)[first : (self.pos + n + 7) // 8]
        bits = np.unpackbits(raw)[self.pos - 8 * first :][:n]
        ones = np.append(np.flatnonzero(bits), n)
        offs = np.arange(n, dtype=np.int64)
        return ones[np.searchsorted(ones, offs)] - offs

    def chain(self, count: int, max_len: int, length) -> tuple[np.ndarray, np.ndarray]:
        """Absolute starts and leading-zero runs of the next ``count`` codewords of a prefix code
        whose codeword length at offset ``o`` is ``length(o, zeros at o)``; consumes them.

        The integer-code readers use it; so can a plugin's own unary-prefixed code.
        """
        if not count:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        n = min(self.remaining, count * max_len)
        run = self._zero_runs(n)
        offs = np.arange(n, dtype=np.int64)
        step = np.asarray(length(offs + self.pos, run), dtype=np.int64)
        jump = np.append(np.minimum(offs + np.maximum(step, 1), n), n)  # offset n: past the end, maps to itself
        starts = chain_starts(jump, count)
        last = int(starts[-1])
        if last >= n or run[last] >= n - last or last + int(step[last]) > n:
            raise DecodeError(f"{self.what} truncated: {count} codewords need more bits")
        self.pos += last + int(step[last])
        return starts + (self.pos - last - int(step[last])), run[starts]

    def unary(self, count: int) -> np.ndarray:
        """``count`` unary codes (zeros, then a one), as int64."""
        if not count:
            return np.zeros(0, np.int64)
        run = self._zero_runs(self.remaining)
        ends = np.flatnonzero(run == 0)[:count]
        if ends.size < count:
            raise DecodeError(f"{self.what}: {ends.size} of {count} unary codes")
        self.pos += int(ends[-1]) + 1
        return np.diff(ends, prepend=-1) - 1

    def golomb(self, count: int, m: int) -> np.ndarray:
        """``count`` Golomb codes with parameter ``m`` (see :meth:`BitWriter.golomb`)."""
        if m < 1:
            raise DecodeError(f"{self.what}: golomb needs m >= 1, got {m}")
        b = bit_width(m)
        u = (1 << b) - m

        def long(offs, run):  # whether the remainder takes b bits (else b - 1)
            if not b:
                return np.zeros(offs.size, np.int64)
            return (self._at(np.minimum(offs + run + 1, self.nbits), b - 1) >= u).astype(np.int64)

        starts, q = self.chain(count, self.remaining, lambda o, z: z + max(b, 1) + long(o, z))
        if not b:
            return q
        is_long = long(starts, q).astype(bool)
        r = np.where(is_long, self._at(starts + q + 1, b) - u, self._at(starts + q + 1, b - 1))
        return q * m + r

    def rice(self, count: int, k: int) -> np.ndarray:
        """``count`` Rice codes (Golomb with ``m = 2**k``)."""
        return self.golomb(count, 1 << k)

    def gamma(self, count: int) -> np.ndarray:
        """``count`` Elias gamma codes (values >= 1)."""
        starts, z = self.chain(count, 2 * MAX_CODE_BITS + 1, lambda o, z: 2 * z + 1)
        if np.any(z >= MAX_CODE_BITS):
            raise DecodeError(f"{self.what}: elias-gamma value too large")
        return self._at(starts + z, z + 1)

    def delta(self, count: int) -> np.ndarray:
        """``count`` Elias delta codes (values >= 1)."""

        def n_plus_1(offs, run):  # the gamma-coded N + 1 at each offset (runs over 5 are invalid anyway)
            run = np.minimum(run, 5)
            return self._at(np.minimum(offs + run, self.nbits), run + 1)

        starts, z = self.chain(count, 2 * 6 + MAX_CODE_BITS, lambda o, z: 2 * z + n_plus_1(o, z))
        nl = n_plus_1(starts, z) - 1
        if np.any(z > 5) or np.any(nl >= MAX_CODE_BITS):
            raise DecodeError(f"{self.what}: elias-delta value too large")
        return (np.int64(1) << nl) | self._at(starts + 2 * z + 1, nl)


def check_padding(data: bytes, nbits: int, what: str) -> None:
    """Raise DecodeError unless ``data`` is ``ceil(nbits/8)`` bytes whose bits after the first ``nbits`` are zero."""
    if len(data) != (nbits + 7) // 8 or (nbits % 8 and data[-1] & ((1 << (-nbits % 8)) - 1)):
        raise DecodeError(f"{what}: padding is not 0-7 zero bits")


def pack_bits(values: np.ndarray, width: int) -> bytes:
    """Pack unsigned ints (< 2**width) MSB-first at ``width`` bits each, zero-padded to bytes."""
    values = np.asarray(values, dtype=np.uint64).reshape(-1)
    return pack_fields(values, np.full(values.size, width))[0]


def unpack_bits(data: bytes, width: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`; ``data`` must be exactly ``ceil(count*width/8)`` bytes, zero-padded."""
    check_padding(data, count * width, f"packed array of {count} x {width} bits")
    return BitReader(data).read(np.full(count, width)).astype(np.int64)


def packed_size(count: int, width: int) -> int:
    """Bytes :func:`pack_bits` writes for ``count`` values of ``width`` bits."""
    return (count * width + 7) // 8


# --------------------------------------------------------------------------- headers


def codebook_bytes(codebook: np.ndarray) -> tuple[int, bytes]:
    """(flag bit: 1 for float16, little-endian bytes) of a float32/float16 codebook."""
    half = codebook.dtype == np.float16
    return int(half), codebook.astype("<f2" if half else "<f4").tobytes()


def read_codebook(rd: Reader, r: int, half: bool) -> np.ndarray:
    """Inverse of :func:`codebook_bytes` for ``r`` entries (float16 if ``half``)."""
    dt = np.dtype("<f2" if half else "<f4")
    if r * dt.itemsize > rd.remaining:
        raise DecodeError(f"{rd.what}: codebook of {r} entries is longer than the payload")
    return np.frombuffer(rd.take(r * dt.itemsize), dtype=dt).astype(np.float16 if half else np.float32)


# Symbol counts by binary splitting: the model half of a two-part code. The counts
# of an alphabet ``[0, m)`` whose total ``K`` the decoder already knows are coded
# top-down over the binary tree of the bins ``[0, 2**D)``, ``D = ceil(log2 m)``: for
# every node with a nonzero total ``T``, level by level and left to right, the left
# child's total at ``ceil(log2(T+1))`` bits. A node with total 0 costs nothing, nor
# does one whose right child lies wholly at or past ``m`` (its left total is ``T``).
# ``m'`` used bins cost about ``(m'-1) log2(K/m')`` bits. Decoding reads at least one
# bit per node it expands (but one per level), so its work and memory are bounded
# by the bits it is given.


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


def read_counts(rd: BitReader, total: int, m: int) -> tuple[np.ndarray, np.ndarray]:
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


# --------------------------------------------------------------------------- gap models
# The gap before kept weight ``j`` is ``v = s_j - s_{j-1} - 1`` (``s_{-1} = -1``): the
# number of pruned weights skipped. Log-spaced symbols: with ``t`` mantissa bits and
# ``x = max(bitlen(v) - t - 1, 0)``, ``v`` becomes the symbol ``(v >> x) + x * 2**t``
# and its ``x`` low bits, sent raw. Gaps below ``2**(t+1)`` are literal symbols;
# larger ones keep their leading ``t + 1`` bits (``2**t`` bins an octave), so the
# alphabet stays below ``2**t * (bitlen(numel) + 1)`` however large a gap.

MAX_GAP_T = 16


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


def alphabet_size(max_gap: int, t: int) -> int:
    return int(to_symbols(np.array([max_gap]), t)[0][0]) + 1


def choose_t(gaps: np.ndarray, table_bits: Callable[[np.ndarray], int]) -> int:
    """The ``t`` minimizing table + entropy + raw bits (one histogram, merged down to each coarser t)."""
    top = min(MAX_GAP_T, max(int(bitlen(gaps.max())) - 1, 0))
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
