
import numpy as np
import pytest

from pacbits.core import DecodeError, Triplet
from pacbits.plugins.huffman import HuffmanCoder, canonical, code_lengths
from pacbits.testing import check_coder
from pacbits.testing.reference import optimal_huffman_bits

CODER = HuffmanCoder()


def test_huffman_conforms():
    check_coder(CODER, max_examples=500)


def test_exact_bytes_by_hand():
    # gaps [1, 0, 0]: t = 0, symbols [1, 0, 0], lengths [1, 1] at w = ceil(log2(1 + 1)) = 1 bit;
    # indices [2, 0, 0] of r = 3: lengths [1, 0, 1]. Canonical codes: 0 -> 0, 1 -> 1 and 0 -> 0, 2 -> 1.
    t = Triplet.build((4,), [1, 2, 3], np.array([1, 2, 3], np.float16), [2, 0, 0])
    enc = CODER.encode(t)
    bits = "00001" "11" "00001" "101" "100" "100" "000"
    assert enc.payload == bytes([1, 3, 3]) + np.array([1, 2, 3], "<f2").tobytes() + bytes([2]) + int(bits, 2).to_bytes(3, "big")
    assert enc.bits.to_dict() == dict(header=24 + 5 + 3, codebook=48, positions=8 + 5 + 2 + 3, indices=3, side=0,
                                      padding=3, total=8 * len(enc.payload))
    assert CODER.decode(enc.payload, t.shape).equals(t)
    assert CODER.index_prior(t).tolist() == [0.5, 0, 0.5]


def test_incomplete_code_lengths_are_rejected():
    head = bytes([1, 3, 3]) + np.array([1, 2, 3], "<f2").tobytes() + bytes([2])
    bits = "00010" "01" "11" + "0" * 15  # gap lengths [1, 3]: Kraft sum 5/8
    with pytest.raises(DecodeError, match="complete code"):
        CODER.decode(head + int(bits, 2).to_bytes(3, "big"), (4,))


@pytest.mark.parametrize("dist", ["geometric", "zipf", "two"])
def test_index_bits_equal_an_independent_optimal_huffman_code(dist):
    rng = np.random.default_rng(0)
    k, r = 50_000, 64
    idx = {"geometric": lambda: np.minimum(rng.geometric(0.2, k) - 1, r - 1),
           "zipf": lambda: np.minimum(rng.zipf(1.5, k) - 1, r - 1),
           "two": lambda: rng.choice([3, 9], size=k, p=[0.9, 0.1])}[dist]()
    t = Triplet.build((k,), np.arange(k), np.zeros(r, np.float32), idx)
    enc = CODER.encode(t)
    assert enc.bits.indices == optimal_huffman_bits(np.bincount(idx))
    assert CODER.decode(enc.payload, t.shape).equals(t)


def test_lengths_are_limited_and_the_code_stays_complete():
    fib = [1, 1]
    while len(fib) < 30:
        fib.append(fib[-1] + fib[-2])
    lengths = code_lengths(np.array(fib))
    assert lengths.max() == 16 and np.sum(2.0 ** -lengths) == 1.0
    assert np.all(np.diff(lengths[::-1]) >= 0)  # more frequent, never longer
    idx = np.repeat(np.arange(30), fib)
    t = Triplet.build((idx.size,), np.arange(idx.size), np.zeros(30, np.float32), idx)
    enc = CODER.encode(t)
    assert CODER.decode(enc.payload, t.shape).equals(t)
    assert optimal_huffman_bits(fib) <= enc.bits.indices <= 1.01 * optimal_huffman_bits(fib)


def test_canonical_codes():
    used, codes, top = canonical(np.array([2, 0, 1, 3, 3]))
    assert used.tolist() == [2, 0, 3, 4] and codes.tolist() == [0b0, 0b10, 0b110, 0b111] and top == 3


def test_large_skewed_tensor_round_trips():
    rng = np.random.default_rng(3)
    n, k = 2_000_000, 60_000
    pos = np.sort(rng.choice(n, size=k, replace=False))
    idx = np.minimum(rng.geometric(0.3, size=k) - 1, 15)
    t = Triplet.build((n,), pos, np.linspace(-1, 1, 16, dtype=np.float32), idx)
    enc = CODER.encode(t)
    assert CODER.decode(enc.payload, t.shape).equals(t)
    gaps = np.diff(pos, prepend=-1)
    assert enc.bits.positions <= 1.02 * optimal_huffman_bits(np.bincount(gaps))
