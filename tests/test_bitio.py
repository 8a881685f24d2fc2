import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacbits.core import DecodeError
from pacbits.core.bitio import Reader, bit_width, block, pack_bits, packed_size, unpack_bits, uvarint


@given(st.integers(0, 2**64 - 1))
def test_uvarint_round_trip(n):
    rd = Reader(uvarint(n) + b"x")
    assert rd.uvarint() == n and rd.take(1) == b"x"


def test_uvarint_is_leb128():
    assert uvarint(0) == b"\x00" and uvarint(127) == b"\x7f" and uvarint(300) == b"\xac\x02"


@given(st.lists(st.integers(0, 2**64 - 1), min_size=2, max_size=2, unique=True))
def test_uvarint_injective(pair):
    assert uvarint(pair[0]) != uvarint(pair[1])


def test_reader_errors_are_decode_errors():
    with pytest.raises(DecodeError, match="exceeds"):
        Reader(b"\x05ab").block()  # a block longer than the bytes left
    with pytest.raises(DecodeError, match="truncated"):
        Reader(b"ab").take(3)
    with pytest.raises(DecodeError, match="exceeds"):
        Reader(uvarint(1000)).uvarint(limit=999)
    with pytest.raises(DecodeError, match="64 bits"):
        Reader(b"\xff" * 20).uvarint()
    rd = Reader(block(b"ab") + b"z")
    assert rd.block() == b"ab"
    with pytest.raises(DecodeError, match="trailing"):
        rd.expect_end()


@pytest.mark.parametrize("n,w", [(0, 0), (1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (256, 8), (257, 9)])
def test_bit_width_is_ceil_log2(n, w):
    assert bit_width(n) == w


@settings(max_examples=200)
@given(st.integers(0, 40), st.data())
def test_pack_bits_round_trip(width, data):
    vals = data.draw(st.lists(st.integers(0, 2**width - 1), max_size=100))
    buf = pack_bits(np.array(vals, dtype=np.uint64), width)
    assert len(buf) == packed_size(len(vals), width)
    assert unpack_bits(buf, width, len(vals)).tolist() == vals


def test_pack_bits_is_msb_first():
    assert pack_bits(np.array([1, 2, 3]), 2) == bytes([0b01101100])
    with pytest.raises(DecodeError):
        unpack_bits(b"\x00\x00", 2, 3)


def test_reader_refuses_overlong_varints():
    """Canonical: 0 is one byte; 0x80 0x00 (a zero with a continuation) is not a second spelling of it."""
    assert Reader(b"\x80\x01").uvarint() == 128
    for overlong in (b"\x80\x00", b"\xff\x00", b"\x81\x80\x00"):
        with pytest.raises(DecodeError, match="overlong"):
            Reader(overlong).uvarint()


def test_unpack_bits_refuses_nonzero_padding():
    assert unpack_bits(bytes([0b01101100]), 2, 3).tolist() == [1, 2, 3]
    with pytest.raises(DecodeError, match="padding"):
        unpack_bits(bytes([0b01101101]), 2, 3)
