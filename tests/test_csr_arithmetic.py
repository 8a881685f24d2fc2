import constriction
import numpy as np
import pytest

from pacbits.core import DecodeError, Triplet
from pacbits.plugins.csr_arithmetic import CsrArithmeticCoder
from pacbits.testing import check_coder

CODER = CsrArithmeticCoder()


def entropy_bits(symbols) -> float:
    counts = np.unique(symbols, return_counts=True)[1]
    return float(np.sum(counts * np.log2(counts.sum() / counts)))


def test_csr_arithmetic_conforms():
    check_coder(CODER, max_examples=500)


def test_exact_bytes_when_the_tables_leave_no_choice():
    # gaps [3, 3, 3, 3]: t = 1 (6 table bits) beats t = 0 (3 table bits + 4 raw bits); m = 4.
    # Gap table: root total 4, left [0,2) = 0 at 3 bits; node [2,4): left = 0 at 3 bits.
    # Q table (r = 2): left = 0 at 3 bits, cheaper than 4 uniform bits. One symbol each: no streams.
    t = Triplet.build((4, 4), [3, 7, 11, 15], np.array([0.5, -0.25], np.float16), [1, 1, 1, 1])
    enc = CODER.encode(t)
    assert enc.payload == bytes([1 | 1 << 2, 4, 2]) + bytes.fromhex("0038 00b4") + bytes([4, 0, 0, 0])
    assert enc.bits.to_dict() == dict(header=24 + 3, codebook=32, positions=8 + 6 + 8, indices=0, side=0,
                                      padding=7, total=88)
    assert CODER.decode(enc.payload, t.shape).equals(t)


def test_exact_sizes_with_streams():
    # 100 gaps of 9: t = 3 (literal 9, m = 10): 7 + 7 table bits, the other nodes are forced.
    # Q counts [60, 30, 10, 0]: 90 at 7 bits, 60 at 7 bits, 10 at 4 bits = 18 bits;
    # its stream is the ANS code of the ranks, computed here with constriction directly.
    idx = np.repeat([0, 1, 2], [60, 30, 10])
    t = Triplet.build((1000,), np.arange(9, 1000, 10), np.arange(4, dtype=np.float32), idx)
    ans = constriction.stream.stack.AnsCoder()
    ans.encode_reverse(idx.astype(np.int32), constriction.stream.model.Categorical(np.array([60.0, 30, 10]), perfect=False))
    stream = ans.get_compressed().astype("<u4").tobytes().rstrip(b"\0")
    enc = CODER.encode(t)
    assert enc.payload.endswith(bytes([0]) + stream)
    assert enc.bits.to_dict() == dict(header=24 + 18, codebook=128, positions=8 + 14 + 8, indices=8 * len(stream),
                                      side=0, padding=0, total=8 * len(enc.payload))
    assert 8 * len(stream) <= entropy_bits(idx) + 40
    assert np.allclose(CODER.index_prior(t), [0.6, 0.3, 0.1, 0])


def test_uniform_indices_need_no_table():
    rng = np.random.default_rng(1)
    t = Triplet.build((200,), np.arange(0, 200, 4), np.arange(16, dtype=np.float32), rng.integers(0, 16, 50))
    enc = CODER.encode(t)
    assert enc.payload[0] & 2 and enc.bits.header == 24
    assert enc.bits.indices <= 50 * 4 + 32
    assert np.allclose(CODER.index_prior(t), 1 / 16)


def test_skewed_streams_within_half_a_percent_of_entropy():
    rng = np.random.default_rng(0)
    n, k = 4_000_000, 80_000
    pos = np.sort(rng.choice(n, size=k, replace=False))
    idx = np.minimum(rng.geometric(0.3, size=k) - 1, 15)
    t = Triplet.build((n,), pos, np.linspace(-1, 1, 16, dtype=np.float32), idx)
    bits = CODER.encode(t).bits
    assert bits.indices <= 1.005 * entropy_bits(idx)
    assert bits.positions <= 1.005 * entropy_bits(np.diff(pos, prepend=-1))  # gap table and raw bits included
    assert bits.header <= 24 + 16 * 20  # the Q table: 15 splits of at most 17 bits


def test_huge_gaps_keep_a_small_alphabet():
    t = Triplet.build((2**25, 2**25), [5, 2**49, 2**50 - 1], np.array([1.0], np.float32), [0, 0, 0])
    enc = CODER.encode(t)
    assert CODER.decode(enc.payload, t.shape).equals(t)
    assert enc.bits.positions <= 3 * 50 + 64


def test_stream_that_does_not_decode_exactly_is_rejected():
    rng = np.random.default_rng(2)
    t = Triplet.build((5000,), np.sort(rng.choice(5000, 500, replace=False)), np.arange(8, dtype=np.float32),
                      np.minimum(rng.geometric(0.4, 500) - 1, 7))
    payload = CODER.encode(t).payload
    for junk in (payload + b"\x01\x02\x03\x04", payload[:-4], payload[:-1] + bytes([payload[-1] ^ 0x10])):
        with pytest.raises(DecodeError):
            CODER.decode(junk, t.shape)
