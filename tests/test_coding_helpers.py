"""The coding toolkit (pacbits.core.bitio): bit fields, count tables and gap symbols, as the built-in coders use them."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacbits.core import DecodeError
from pacbits.core import bitio as G
from pacbits.core.bitio import BitReader, pack_fields
from pacbits.core.bitio import read_counts, split_bits, split_fields


def bit_string(values, widths) -> str:
    """The reference: each value's binary digits, concatenated."""
    return "".join(format(int(v), "b").zfill(w)[-w:] if w else "" for v, w in zip(values, widths))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 63), max_size=60), st.integers(0, 2**32 - 1))
def test_fields_pack_like_a_bit_string_and_read_back(widths, seed):
    rng = np.random.default_rng(seed)
    values = [int(rng.integers(0, 2**w, dtype=np.uint64)) if w else 0 for w in widths]
    data, nbits = pack_fields(values, widths)
    ref = bit_string(values, widths)
    assert nbits == len(ref) and len(data) == (nbits + 7) // 8
    assert "".join(format(b, "08b") for b in data)[:nbits] == ref and not int.from_bytes(data, "big") & ((1 << (8 * len(data) - nbits)) - 1)
    rd = BitReader(data, "test")
    assert rd.read(widths).tolist() == values
    assert rd.end() == len(data)


def test_reader_is_bounds_checked():
    rd = BitReader(b"\xff", "test")
    assert rd.read([3, 0, 5]).tolist() == [7, 0, 31]
    with pytest.raises(DecodeError, match="truncated"):
        rd.read([1])
    with pytest.raises(DecodeError, match="nonzero padding"):
        r2 = BitReader(b"\x01", "test")
        r2.read([4])
        r2.end()
    assert BitReader(b"\x80\x01", "test").windows(0, 16, 3).tolist() == [4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4]


def test_count_table_by_hand():
    # counts [3, 0, 1] over m = 3, total 4: root left = 3 (3 bits), node [0,1] left = 3 (2 bits),
    # node [2,3] is forced (its right child, bin 3, is past m)
    vals, widths = split_fields(np.array([0, 2]), np.array([3, 1]), 3)
    assert vals.tolist() == [3, 3, 1] and widths.tolist() == [3, 2, 0]
    assert split_bits(np.array([3, 0, 1])) == 5


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=300))
def test_count_table_round_trips_and_split_bits_agrees(hist):
    hist = np.array(hist)
    if not hist.sum():
        hist[-1] = 1
    used = np.flatnonzero(hist)
    vals, widths = split_fields(used, hist[used], hist.size)
    assert split_bits(hist) == widths.sum()
    data, _ = pack_fields(vals, widths)
    sym, cnt = read_counts(BitReader(data, "test"), int(hist.sum()), hist.size)
    assert sym.tolist() == used.tolist() and cnt.tolist() == hist[used].tolist()


def test_count_table_rejects_a_split_above_its_total():
    data, _ = pack_fields([3], [2])  # total 2: left must be <= 2
    with pytest.raises(DecodeError, match="splits more"):
        read_counts(BitReader(data, "test"), 2, 2)


@pytest.mark.parametrize("t", [0, 1, 3, 16])
def test_gap_symbols_round_trip_and_stay_bounded(t):
    gaps = np.r_[np.arange(3000), 2**40, 2**52 - 1, 12345678]
    sym, low, x = G.to_symbols(gaps, t)
    assert np.array_equal(G.extra_bits(sym, t), x) and np.all(low < (1 << x))
    assert np.array_equal(G.from_symbols(sym, low, t), gaps)
    assert sym.max() < G.alphabet_size(2**52 - 1, t) <= (1 << t) * 54
    lit = min(2 << t, 3000)
    assert np.array_equal(sym[:lit], np.arange(lit))  # small gaps are literal


def test_choose_t_prefers_literals_for_structured_gaps_and_octaves_for_spread_ones():
    structured = np.tile([0, 0, 0, 4607], 500)  # a pruned conv filter every 4 rows
    assert G.choose_t(structured, split_bits) >= 12
    spread = np.random.default_rng(0).geometric(1e-3, size=20) - 1  # few, widely spread gaps
    assert G.choose_t(spread, split_bits) <= 2


def test_fields_across_chunks_match_a_bit_by_bit_reference():
    rng = np.random.default_rng(0)
    n = (1 << 18) + 5000  # more than one chunk of pack_fields
    widths = rng.integers(0, 64, n)
    values = rng.integers(0, 2**63, n, dtype=np.uint64) >> (64 - widths).astype(np.uint64)
    data, nbits = pack_fields(values, widths)
    field = np.repeat(np.arange(n), widths)
    shift = (np.cumsum(widths)[field] - 1 - np.arange(nbits)).astype(np.uint64)  # bit position from the field's end
    ref = ((values[field] >> shift) & np.uint64(1)).astype(np.uint8)
    assert np.array_equal(np.unpackbits(np.frombuffer(data, np.uint8))[:nbits], ref)
    assert np.array_equal(BitReader(data, "test").read(widths), values)
