"""Occam KL and length priors (Theorem 4.1)."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacbits.core import ConfigError
from pacbits.core.bounds import EliasDeltaPrior, UniformLengthPrior, length_prior, occam_kl, occam_kl_report


def elias_delta(n: int) -> str:
    """Independent Elias delta encoder (textbook construction)."""
    nbits = n.bit_length()
    length = bin(nbits)[2:]
    return "0" * (len(length) - 1) + length + bin(n)[3:]


def test_elias_delta_lengths_match_the_code_and_satisfy_kraft():
    prior = EliasDeltaPrior()
    codes = [elias_delta(L + 1) for L in range(5000)]
    for L, code in enumerate(codes):
        assert prior.neg_log(L) == pytest.approx(len(code) * math.log(2), rel=1e-15)
    # prefix-free on this range, hence Kraft: sum 2^-len <= 1
    s = sorted(codes)
    assert not any(b.startswith(a) for a, b in zip(s, s[1:]))
    assert math.fsum(math.exp(-prior.neg_log(L)) for L in range(2**16)) <= 1.0


def test_uniform_prior_is_72_bits_and_has_bounded_support():
    m = UniformLengthPrior()
    assert m.neg_log(0) == m.neg_log(12345) == pytest.approx(72 * math.log(2))
    with pytest.raises(ConfigError, match="support"):
        m.neg_log(2**72)
    assert UniformLengthPrior(1024).neg_log(1023) == pytest.approx(math.log(1024))


@given(st.integers(0, 2**70))
def test_occam_kl_is_bits_ln2_plus_length_cost(bits):
    for name in ("uniform", "elias-delta"):
        expect = bits * math.log(2) + length_prior(name).neg_log(bits)
        assert occam_kl(bits, name) == pytest.approx(expect, rel=1e-15)
    r = occam_kl_report(bits, "elias-delta")
    assert r.nats == pytest.approx(occam_kl(bits, "elias-delta"), rel=1e-14)
    assert r.nats >= occam_kl(bits, "elias-delta")  # rounded up, never down


@settings(max_examples=30)
@given(st.integers(0, 2**40), st.integers(1, 2**20))
def test_occam_kl_is_increasing_in_bits(bits, more):
    for name in ("uniform", "elias-delta"):
        assert occam_kl(bits + more, name) > occam_kl(bits, name)


@pytest.mark.parametrize("bad", [-1, 1.5, "12", None, True])
def test_invalid_bits_name_the_argument(bad):
    with pytest.raises(ConfigError, match="bits"):
        occam_kl(bad)


def test_unknown_length_prior_lists_the_known_ones():
    with pytest.raises(ConfigError, match="elias-delta"):
        length_prior("zipf")


def test_union_bound_adds_ln_choices():
    r = occam_kl_report(1000)
    u = r.union("best of 5 codecs", 5)
    assert u.nats == pytest.approx(r.nats + math.log(5))
    assert u.terms[-1].name.startswith("union bound")
    with pytest.raises(ConfigError, match="choices"):
        r.union("x", 0)
