import math

import numpy as np
import pytest

from pacbits.core import DecodeError, EncodeError, Triplet
from pacbits.plugins.paper2019 import Paper2019Coder, ac_decode, ac_encode, gap_bits
from pacbits.testing import check_coder

CODER = Paper2019Coder()


def test_paper2019_conforms():
    # float32 codebooks float16 cannot hold are refused (accepts() is False): the kit checks the refusal
    check_coder(CODER, max_examples=500)


def test_float32_codebooks_must_be_exact_in_float16():
    t = Triplet.build((3,), [0, 2], np.array([0.1, 0.5], np.float32), [0, 1])
    with pytest.raises(EncodeError, match="float16"):
        CODER.encode(t)
    exact = Triplet.build((3,), [0, 2], np.array([0.25, -2.0], np.float32), [0, 1])
    back = CODER.decode(CODER.encode(exact).payload, (3,))
    assert back.equals(exact) and back.codebook.dtype == np.float32


def test_layout_and_sizes_by_hand():
    # gaps [1]*10 + [40]: the 90th percentile ('higher') is 1, so b = 0 and every skipped weight
    # becomes a filler entry 0: entries = positions 0..(last), Q = index + 1 or 0 for a filler.
    pos = np.cumsum([2] * 10 + [41]) - 1
    idx = np.arange(11) % 3
    t = Triplet.build((100,), pos, np.array([0.5, 1.0, -1.0], np.float16), idx)
    assert gap_bits(np.diff(pos, prepend=-1) - 1) == 0
    enc = CODER.encode(t)
    count = pos[-1] + 1  # 61 entries, 50 of them fillers
    width = 2  # max Q = 3
    ac = enc.payload[2 + 6 + 2 : -(5 + math.ceil(count * width / 8))]
    assert enc.payload[:2] == b"\x00\x03" and enc.payload[8:10] == b"\x00\x01"  # r = 3; one entry value: s = 1
    assert enc.payload[-(5 + 16) :][:5] == bytes([width]) + int(count).to_bytes(4, "big")
    assert enc.bits.header == 72 and enc.bits.codebook == 48 and enc.bits.indices == 11 * width
    assert enc.bits.positions == enc.bits.total - 72 - 48 - 22 - enc.bits.padding
    assert ac_decode(ac, 1, 1000)[0] == [0] * count
    assert CODER.decode(enc.payload, t.shape).equals(t)


def test_gap_cap_follows_the_90th_percentile():
    assert gap_bits(np.array([0, 0, 0])) == 0
    assert gap_bits(np.array([5] * 10 + [1000])) == 3  # ceil(log2 5)
    assert gap_bits(np.array([5] * 9 + [1000])) == 10  # 'higher': the 90th percentile of 10 values is the top one
    assert gap_bits(np.array([70000] * 10)) == 16  # capped
    pos = [*range(5, 60, 6), 214]  # gaps [5] * 10 + [154]: b = 3, and 154 = 19 fillers of 7 (19 * 8 skipped), then 2
    t = Triplet.build((220,), pos, np.array([1.0], np.float16), [0] * 11)
    enc = CODER.encode(t)
    assert int.from_bytes(enc.payload[-(5 + 4) : -4][1:], "big") == 11 + 19  # width 1: 30 bits of Q, 4 bytes
    assert enc.bits.indices == 11
    assert CODER.decode(enc.payload, t.shape).equals(t)


def test_arithmetic_code_length_is_the_adaptive_models():
    rng = np.random.default_rng(0)
    for alphabet, size in [(1, 0), (4, 500), (300, 2000)]:
        entries = rng.integers(0, alphabet, size).tolist()
        data, nbits = ac_encode(entries, alphabet)
        counts, ideal = [1] * (alphabet + 2), 0.0
        for s in [*entries, alphabet + 1]:
            ideal += math.log2(sum(counts) / counts[s])
            counts[s] += 1
        assert ideal - 0.01 <= nbits <= ideal + 4
        assert len(data) == (nbits + 7) // 8
        assert ac_decode(data + b"\xff\x00\x5a", alphabet, size)[0] == entries  # followed by anything


def test_too_many_entries_are_refused():
    t = Triplet.build((2**50,), [0, 2**50 - 1], np.array([1.0], np.float16), [0, 0])
    with pytest.raises(EncodeError, match="32-bit arithmetic coder"):
        CODER.encode(t)
    with pytest.raises(EncodeError, match="65535"):
        CODER.encode(Triplet.build((1,), [0], np.zeros(70000, np.float16), [0]))


def test_entry_count_must_match():
    t = Triplet.build((50,), [3, 10, 20], np.array([1.0, 2.0], np.float16), [0, 1, 0])
    payload = bytearray(CODER.encode(t).payload)
    payload[-2] ^= 1  # the low byte of the 32-bit count sits before the one byte of Q values
    with pytest.raises(DecodeError, match="count"):
        CODER.decode(bytes(payload), t.shape)
