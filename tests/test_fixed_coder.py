import numpy as np
import pytest

from pacbits.core import EncodeError, Triplet
from pacbits.plugins.fixed import FixedCoder
from pacbits.testing import check_coder


@pytest.mark.parametrize("mode", ["auto", "bitmask", "indices"])
def test_fixed_coder_conforms(mode):
    # the modes differ only in how S is coded ("auto" picks either), so 200 examples each, 600 in all
    check_coder(FixedCoder(positions=mode), max_examples=200)


def test_fixed_lengths_are_theorem_4_3s():
    # k = 3 kept of 1000, r = 5: |Q| = k * ceil(log2 5) = 9 bits, |S| = 3 * ceil(log2 1000) = 30 bits
    t = Triplet.build((10, 100), [3, 500, 999], np.arange(5, dtype=np.float32), [0, 4, 2])
    bits = FixedCoder().encode(t).bits
    assert (bits.indices, bits.positions, bits.codebook) == (9, 30, 5 * 32)
    assert FixedCoder(positions="bitmask").encode(t).bits.positions == 1000
    assert bits.header == 8 * 3  # flags, k, r
    assert bits.padding == (8 - 30 % 8) % 8 + (8 - 9 % 8) % 8


def test_r_equal_one_costs_no_index_bits():
    t = Triplet.build((4,), [0, 1, 2, 3], np.array([0.25], np.float16), [0, 0, 0, 0])
    enc = FixedCoder().encode(t)
    assert enc.bits.indices == 0 and enc.bits.codebook == 16
    assert FixedCoder().decode(enc.payload, (4,)).equals(t)


def test_unknown_mode_rejected():
    with pytest.raises(ValueError, match="positions must be one of"):
        FixedCoder(positions="csr")


def test_encode_rejects_invalid_triplet():
    t = Triplet((3,), np.array([5]), np.array([1.0], np.float32), np.array([0]))
    with pytest.raises(EncodeError):
        FixedCoder().encode(t)
