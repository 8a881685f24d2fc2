import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacbits.core import DecodeError
from pacbits.core.bitio import (BitReader, BitWriter, Reader, bit_width, block, codebook_bytes, pack_bits, packed_size,
                                read_codebook, unpack_bits, uvarint)


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


def reference(code: str, n: int, m: int = 1) -> str:
    """Each code's textbook definition, one integer at a time, as a string of bits."""
    if code == "unary":
        return "0" * n + "1"
    if code == "gamma":
        return "0" * (n.bit_length() - 1) + format(n, "b")
    if code == "delta":
        return reference("gamma", n.bit_length()) + format(n, "b")[1:]
    q, r = divmod(n, m)  # golomb: truncated binary remainder
    b = (m - 1).bit_length()
    u = (1 << b) - m
    tail = "" if b == 0 else format(r, "b").zfill(b - 1)[-(b - 1):] if r < u else format(r + u, "b").zfill(b)
    return "0" * q + "1" + tail


CODES = [("unary", None), ("gamma", None), ("delta", None)] + [("golomb", m) for m in (1, 2, 3, 5, 8, 100)] + \
    [("rice", k) for k in (0, 3)]


def write(code, m, values):
    w = BitWriter()
    getattr(w, code)(values, *([m] if m is not None else []))
    return w


def read(rd, code, m, count):
    return getattr(rd, code)(count, *([m] if m is not None else []))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(CODES), st.lists(st.integers(0, 2**61), max_size=40), st.integers(0, 7))
def test_integer_codes_match_their_definition_and_read_back(code_m, values, lead):
    code, m = code_m
    if code in ("gamma", "delta"):
        values = [v + 1 for v in values]
    elif code in ("unary", "golomb", "rice"):
        values = [v % 300 for v in values]  # unary-prefixed: keep the quotients short
    gm = (1 << m) if code == "rice" else m
    w = BitWriter().uint([1 if lead else 0], lead)  # start at any bit offset
    getattr(w, code)(values, *([m] if m is not None else []))
    data = w.getvalue()
    ref = "0" * (lead - 1) + "1" * (lead > 0) + "".join(reference("golomb" if code == "rice" else code, v, gm or 1) for v in values)
    assert w.nbits == len(ref) and "".join(format(b, "08b") for b in data)[: w.nbits] == ref and w.padding == -len(ref) % 8
    rd = BitReader(data + b"\xff", "test")  # trailing bytes are not read
    assert rd.uint(1, lead).tolist() == [1 if lead else 0]
    assert read(rd, code, m, len(values)).tolist() == values and rd.pos == w.nbits


@pytest.mark.parametrize("code, m", CODES)
def test_integer_codes_raise_decode_errors_on_truncation(code, m):
    values = [1, 7, 300, 2] if code != "unary" else [1, 7, 30, 2]
    data = write(code, m, values).getvalue()
    for cut in range(len(data)):
        rd = BitReader(data[:cut], "test")
        try:
            got = read(rd, code, m, len(values))
        except DecodeError:
            continue
        assert rd.pos <= 8 * cut and got.size == len(values)  # a prefix that happens to decode stays in bounds


def test_integer_code_limits():
    with pytest.raises(ValueError):
        BitWriter().gamma([0])
    with pytest.raises(ValueError):
        BitWriter().golomb([-1], 3)
    with pytest.raises(DecodeError, match="too large|need more bits"):  # 72 zeros: over 2**62
        BitReader(bytes(9) + b"\xff" * 8, "test").gamma(1)
    assert BitWriter().unary([200]).nbits == 201  # runs longer than a 63-bit field


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_codebook_header_round_trips_bitwise(dtype):
    cb = np.array([-0.0, 0.0, np.finfo(dtype).smallest_subnormal, np.finfo(dtype).max], dtype=dtype)
    half, data = codebook_bytes(cb)
    back = read_codebook(Reader(data), cb.size, bool(half))
    assert back.dtype == cb.dtype and back.tobytes() == cb.tobytes()
    with pytest.raises(DecodeError, match="longer than the payload"):
        read_codebook(Reader(data[:-1]), cb.size, bool(half))
