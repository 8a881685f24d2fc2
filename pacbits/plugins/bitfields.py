"""Variable-width bit fields, MSB-first, packed and read with numpy (no per-field Python loop).

Helpers of the ``csr-arithmetic`` and ``huffman`` coders. A field is 0 to 63 bits
wide; a run of fields is one bit string, zero-padded to whole bytes only at its end.
"""
from __future__ import annotations

import numpy as np

from pacbits.core import DecodeError

U64 = np.uint64
MAX_WIDTH = 63
CHUNK = 1 << 18


def pack_fields(values, widths) -> tuple[bytes, int]:
    """``values[i]`` (``< 2**widths[i]``) at ``widths[i]`` bits each -> (zero-padded bytes, bit count)."""
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


class FieldReader:
    """Reads fields from an untrusted byte string, from bit 0 on; every read is bounds-checked."""

    def __init__(self, data: bytes, what: str):
        self.what = what
        self.nbits = 8 * len(data)
        padded = bytes(data) + bytes(-len(data) % 8 + 16)  # reads at offset nbits stay in bounds
        self.words = np.frombuffer(padded, dtype=">u8").astype(U64)
        self.pos = 0

    def _need(self, n: int) -> None:
        if n < 0 or self.pos + n > self.nbits:
            raise DecodeError(f"{self.what} truncated: needs {n} more bits, has {self.nbits - self.pos}")

    def _at(self, start: np.ndarray, width: np.ndarray) -> np.ndarray:
        """Fields of ``width`` bits (0..63) at bit offsets ``start`` (all inside the data)."""
        word, off = start >> 6, (start & 63).astype(U64)
        window = (self.words[word] << off) | (self.words[word + 1] >> (U64(64) - off))  # numpy: x >> 64 == 0
        return window >> (U64(64) - width.astype(U64))

    def read(self, widths) -> np.ndarray:
        """The next ``len(widths)`` fields, as uint64."""
        w = np.asarray(widths, dtype=np.int64).reshape(-1)
        if w.size and (w.min() < 0 or w.max() > MAX_WIDTH):
            raise DecodeError(f"{self.what}: field width outside 0..{MAX_WIDTH}")
        total = int(w.sum())
        self._need(total)
        out = np.zeros(w.size, dtype=U64)
        if total:
            for lo in range(0, w.size, CHUNK):  # chunks bound the temporaries
                wc = w[lo : lo + CHUNK]
                end = self.pos + np.cumsum(wc)
                out[lo : lo + wc.size] = self._at(end - wc, wc)
                self.pos = int(end[-1])
        return out

    def read_int(self, width: int) -> int:
        return int(self.read([width])[0])

    def windows(self, start: int, count: int, width: int) -> np.ndarray:
        """``width``-bit windows (uint32, zero-filled past the end) at bit offsets ``start .. start+count-1``."""
        out = np.empty(count, dtype=np.uint32)
        for lo in range(0, count, CHUNK):  # chunks bound the temporaries
            offs = np.arange(start + lo, start + min(count, lo + CHUNK), dtype=np.int64)
            out[lo : lo + offs.size] = self._at(offs, np.full(offs.size, width))
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
