"""The example coder passes the same conformance suite as pacbits' built-in coders."""
import numpy as np
import pytest
import torch

from pacbits.core import Triplet
from pacbits.testing.conformance import CoderConformance
from pacbits_plugin_example.gamma import EliasGammaCoder
from pacbits_plugin_example.uniform import UniformQuantizer


class TestEliasGamma(CoderConformance):
    coder = EliasGammaCoder()


def test_gap_bits_are_elias_gamma_lengths():
    # gaps 1, 2, 5, 8 (positions 0, 2, 7, 15) cost 2*floor(log2 g) + 1 = 1 + 3 + 5 + 7 bits
    t = Triplet.build((16,), [0, 2, 7, 15], np.array([0.5, -0.5, 1.0], np.float32), [0, 1, 2, 1])
    bits = EliasGammaCoder().encode(t).bits
    assert (bits.positions, bits.indices, bits.codebook) == (16, 4 * 2, 3 * 32)
    assert bits.total % 8 == 0 and bits.padding < 8


@pytest.mark.parametrize("bits", [1, 3, 8])
def test_uniform_levels_and_nearest_assignment(bits):
    x = torch.linspace(-1, 2, 1000)
    codebook, idx = UniformQuantizer(bits=bits).quantize("w", x)
    assert np.allclose(np.diff(codebook), 3 / (2**bits - 1), rtol=1e-5)
    err = np.abs(codebook[idx] - x.numpy())
    assert err.max() <= 3 / (2**bits - 1) / 2 + 1e-6
    assert np.all(err <= np.abs(codebook[None, :] - x.numpy()[:, None]).min(axis=1) + 1e-7)
