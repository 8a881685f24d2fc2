"""Monte Carlo correction and Theorem 6.1."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacbits.core import ConfigError
from pacbits.core.bounds import binary_kl, entropy_lower_bound, stochastic_error_upper


def test_zero_errors_closed_form():
    # kl(0 || q) = -ln(1 - q) = ln(1/delta)/m  =>  q = 1 - delta^(1/m)
    for m, delta in [(1, 0.05), (10, 0.01), (1000, 0.045)]:
        b = stochastic_error_upper(np.zeros(m), delta)
        exact = 1 - delta ** (1 / m)
        assert exact <= b.upper <= exact + 1e-12
        assert (b.mean, b.draws, b.delta) == (0.0, m, delta)


@settings(max_examples=50)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=50), st.floats(1e-6, 0.5))
def test_upper_bound_is_the_kl_inverse_of_the_mean(rates, delta):
    b = stochastic_error_upper(rates, delta)
    assert b.mean <= b.upper <= 1 and math.isfinite(b.upper)
    c = math.log(1 / delta) / len(rates)
    if b.upper < 1:  # the root of kl(mean || q) = c, to within 1e-12 above it
        assert binary_kl(b.mean, b.upper) >= c * (1 - 1e-12)
        assert binary_kl(b.mean, max(b.mean, b.upper - 2e-12)) <= c * (1 + 1e-12)
    assert stochastic_error_upper(rates, delta / 2).upper >= b.upper  # more confidence, larger bound


def test_coverage_on_simulated_draws():
    """The upper bound fails in at most about delta of repeated experiments (here: far fewer)."""
    rng = np.random.default_rng(0)
    mu, delta, fails = 0.1, 0.1, 0
    for _ in range(2000):
        rates = rng.binomial(200, mu, size=5) / 200
        fails += stochastic_error_upper(rates, delta).upper < mu
    assert fails / 2000 <= delta


@pytest.mark.parametrize("rates, delta, name", [
    ([], 0.05, "rates"), ([0.1, 1.5], 0.05, "rates"), ([0.1, math.nan], 0.05, "rates"),
    ([0.1], 0.0, "delta"), ([0.1], 1.0, "delta"),
])
def test_invalid_input_names_the_argument(rates, delta, name):
    with pytest.raises(ConfigError, match=name):
        stochastic_error_upper(rates, delta)


def hb(p):
    p = min(max(p, 0.0), 1.0)  # (1 - e) / (2 - e - f) can round to just above 1
    return 0.0 if p in (0, 1) else -(p * math.log(p) + (1 - p) * math.log(1 - p))


def test_entropy_bound_closed_forms():
    n = 1000
    assert entropy_lower_bound(0.2, 0.2, n).nats == 0.0  # no overfitting: no entropy needed
    assert entropy_lower_bound(0.0, 1.0, n).nats == pytest.approx(n * math.log(2))  # one bit an example
    assert entropy_lower_bound(0.0, 1.0, n).bits == pytest.approx(n)
    b = entropy_lower_bound(0.0, 0.5, n)  # p = 0, q = 2/3, l = 1/4
    assert (b.p, b.q, b.l) == pytest.approx((0.0, 2 / 3, 0.25))
    assert b.nats == pytest.approx(n * (math.log(2) - 0.75 * hb(2 / 3)))
    assert entropy_lower_bound(0.0, 0.0, n).nats == 0.0 and entropy_lower_bound(1.0, 1.0, n).nats == 0.0


@settings(max_examples=60)
@given(st.floats(0, 1), st.floats(0, 1), st.integers(1, 10**9))
def test_entropy_bound_matches_the_corrected_formula(e, f, n):
    b = entropy_lower_bound(e, f, n)
    l = (e + f) / 2
    cond = (l * hb(e / (e + f)) if l > 0 else 0) + ((1 - l) * hb((1 - e) / (2 - e - f)) if l < 1 else 0)
    assert b.nats == pytest.approx(max(0.0, n * (math.log(2) - cond)), rel=1e-9, abs=1e-6 * n)
    assert 0 <= b.nats <= n * math.log(2) and math.isfinite(b.nats)
    assert entropy_lower_bound(f, e, n).nats == pytest.approx(b.nats, rel=1e-9, abs=1e-6 * n)  # symmetric


@settings(max_examples=40)
@given(st.floats(0, 0.5), st.floats(0, 0.5), st.floats(0.001, 0.5))
def test_entropy_bound_grows_with_the_generalization_gap(e, gap, more):
    f = min(1.0, e + gap)
    assert entropy_lower_bound(e, min(1.0, f + more), 100).nats >= entropy_lower_bound(e, f, 100).nats - 1e-9


@pytest.mark.parametrize("args, name", [((-0.1, 0.5, 10), "train_error"), ((0.1, 1.5, 10), "test_error"),
                                        ((0.1, 0.5, 0), "n"), ((0.1, math.nan, 10), "test_error")])
def test_entropy_bound_invalid_input(args, name):
    with pytest.raises(ConfigError, match=name):
        entropy_lower_bound(*args)
