"""Byte- and bit-level helpers shared by the container and the coders.

Everything that reads untrusted bytes goes through :class:`Reader`, which raises
:class:`DecodeError` instead of IndexError and never allocates more than the
bytes it was given.
"""
from __future__ import annotations

import numpy as np

from .errors import DecodeError


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
        """Read a LEB128 integer and check it is at most ``limit``."""
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


def pack_bits(values: np.ndarray, width: int) -> bytes:
    """Pack unsigned ints (< 2**width) MSB-first at ``width`` bits each, zero-padded to bytes."""
    values = np.asarray(values, dtype=np.uint64).reshape(-1)
    if width == 0 or values.size == 0:
        return b""
    bits = np.empty((values.size, width), dtype=np.uint8)
    for b in range(width):
        bits[:, b] = (values >> np.uint64(width - 1 - b)) & np.uint64(1)
    return np.packbits(bits.reshape(-1)).tobytes()


def unpack_bits(data: bytes, width: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`; ``data`` must be exactly ``ceil(count*width/8)`` bytes, zero-padded."""
    need = packed_size(count, width)
    if len(data) != need:
        raise DecodeError(f"packed array of {count} x {width} bits needs {need} bytes, got {len(data)}")
    if width == 0 or count == 0:
        return np.zeros(count, dtype=np.int64)
    check_padding(data, count * width, f"packed array of {count} x {width} bits")
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=count * width).reshape(count, width)
    out = np.zeros(count, dtype=np.uint64)
    for b in range(width):
        out = (out << np.uint64(1)) | bits[:, b]
    return out.astype(np.int64)


def check_padding(data: bytes, nbits: int, what: str) -> None:
    """Raise DecodeError unless the bits of ``data`` after the first ``nbits`` are zero (canonical padding)."""
    if len(data) != (nbits + 7) // 8 or (nbits % 8 and data[-1] & ((1 << (-nbits % 8)) - 1)):
        raise DecodeError(f"{what}: padding is not 0-7 zero bits")


def packed_size(count: int, width: int) -> int:
    """Bytes :func:`pack_bits` writes for ``count`` values of ``width`` bits."""
    return (count * width + 7) // 8
