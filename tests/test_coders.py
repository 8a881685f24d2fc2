"""Corner cases every entropy coder (csr-arithmetic, csr-structured, huffman, paper2019) must handle."""
import numpy as np
import pytest

from pacbits.core import DecodeError, EncodeError, Triplet, make_registry
from pacbits.plugins.csr_arithmetic import CsrArithmeticCoder
from pacbits.plugins.huffman import HuffmanCoder
from pacbits.plugins.paper2019 import Paper2019Coder
from pacbits.plugins.structured import StructuredCoder

CODERS = [CsrArithmeticCoder(), StructuredCoder(), HuffmanCoder(), Paper2019Coder()]
F16 = np.float16


def cases():
    rng = np.random.default_rng(0)
    pos = np.sort(rng.choice(500, 60, replace=False))
    return {
        "empty": Triplet.build((0,), [], np.zeros(0, F16), []),
        "empty 2-d with a codebook": Triplet.build((0, 5), [], np.array([1, 2], F16), []),
        "all zero": Triplet.build((3, 4), [], np.zeros(0, F16), []),
        "one weight": Triplet.build((1,), [0], np.array([-0.5], F16), [0]),
        "scalar": Triplet.build((), [0], np.array([3.0], F16), [0]),
        "r = 1": Triplet.build((20, 25), pos, np.array([0.125], F16), np.zeros(60, int)),
        "all kept": Triplet.build((7, 9), np.arange(63), np.array([1, -1, 0], F16), rng.integers(0, 3, 63)),
        "last weight only": Triplet.build((1000,), [999], np.array([2.0], F16), [0]),
        "unused entries": Triplet.build((30,), [3, 4], np.arange(300).astype(F16), [299, 0]),
    }


@pytest.mark.parametrize("name", list(cases()))
@pytest.mark.parametrize("coder", CODERS, ids=lambda c: c.id)
def test_corner_cases_round_trip(coder, name):
    t = cases()[name]
    enc = coder.encode(t)
    assert enc.bits.total == 8 * len(enc.payload)
    assert coder.decode(enc.payload, t.shape).equals(t)
    if not t.k:  # paper2019 still codes an end-of-stream symbol
        assert enc.bits.indices == 0 and enc.bits.positions <= (3 if coder.id == "paper2019" else 0)
    prior = coder.index_prior(t)
    if prior is not None:
        assert prior.shape == (t.r,) and np.isclose(prior.sum(), 1) and np.all(prior[t.indices] > 0)


@pytest.mark.parametrize("coder", CODERS, ids=lambda c: c.id)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_codebook_is_refused(coder, bad):
    t = Triplet((4,), np.array([0, 2]), np.array([1.0, bad], np.float16), np.array([0, 1]))
    with pytest.raises(EncodeError, match="NaN or Inf"):
        coder.encode(t)


@pytest.mark.parametrize("coder", CODERS, ids=lambda c: c.id)
def test_invalid_triplets_are_refused(coder):
    with pytest.raises(EncodeError):
        coder.encode(Triplet((4,), np.array([0, 2]), np.array([1.0], np.float16), np.array([0, 1])))
    with pytest.raises(EncodeError):
        coder.encode(Triplet((4,), np.array([2, 0]), np.array([1.0], np.float16), np.array([0, 0])))


@pytest.mark.parametrize("coder", CODERS, ids=lambda c: c.id)
def test_empty_and_wrong_shape_payloads(coder):
    with pytest.raises(DecodeError):
        coder.decode(b"", (10,))
    t = Triplet.build((100,), [10, 50, 99], np.array([1.0, 2.0], np.float16), [0, 1, 1])
    payload = coder.encode(t).payload
    with pytest.raises(DecodeError):
        coder.decode(payload, (50,))  # positions past the end of a smaller tensor


def test_registered_through_the_hooks():
    reg = make_registry(entry_points=False)
    for coder in CODERS:
        assert type(reg.create("coder", coder.id)) is type(coder)
