"""kl-inverse and Catoni bounds against brute force and dense grids; edge cases; errors."""
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacbits.core import ConfigError
from pacbits.core.bounds import binary_kl, catoni_bound, catoni_objective, kl_bound, kl_inverse_upper

errors = st.one_of(st.sampled_from([0.0, 1.0, 1e-9, 0.5, 1 - 1e-9]), st.floats(0, 1))
kls = st.one_of(st.sampled_from([0.0, 1e-12, 1e6, 1e300, 1.7e308, math.inf]), st.floats(0, 1e5))
ns = st.one_of(st.sampled_from([1, 2, 7, 8, 60000, 10**9]), st.integers(1, 10**7))


def test_binary_kl_matches_the_definition():
    for p, q in [(0.1, 0.3), (0.5, 0.5), (0.9, 0.2), (0.0, 0.4), (1.0, 0.7)]:
        direct = sum(a * math.log(a / b) for a, b in [(p, q), (1 - p, 1 - q)] if a > 0)
        assert binary_kl(p, q) == pytest.approx(direct, rel=1e-13, abs=1e-15)
    assert binary_kl(0.3, 0.0) == binary_kl(0.3, 1.0) == math.inf


@settings(max_examples=60)
@given(st.floats(0, 1), st.floats(0, 5))
def test_kl_inverse_against_brute_force(p, c):
    q = kl_inverse_upper(p, c)
    grid = np.linspace(p, 1, 200001)
    feasible = grid[binary_kl(np.full_like(grid, p), grid) <= c]
    assert p <= q <= 1
    assert q >= feasible.max() - 1e-12  # never below the largest feasible grid point
    step = (1 - p) / 200000
    assert q <= feasible.max() + step + 1e-12  # and within one grid step of it
    if q < 1:
        assert binary_kl(p, q) >= c * (1 - 1e-9) - 1e-15  # the returned point is (just) infeasible or on the edge


def test_kl_inverse_closed_form_at_zero_error():
    # kl(0 || q) = -ln(1 - q)  =>  q = 1 - exp(-c)
    for c in [1e-8, 0.01, 0.59, 3.0, 40.0]:
        q = kl_inverse_upper(0.0, c)
        exact = -math.expm1(-c)
        assert exact <= q <= exact + 1e-12


def test_kl_inverse_vectorizes_and_checks_arguments():
    q = kl_inverse_upper(np.array([0.0, 0.1, 1.0]), 0.5)
    assert q.shape == (3,) and q[2] == 1.0
    with pytest.raises(ConfigError, match="p_hat"):
        kl_inverse_upper(1.5, 0.1)
    with pytest.raises(ConfigError, match="c must"):
        kl_inverse_upper(0.1, -1)
    with pytest.raises(ConfigError, match="c must"):
        kl_inverse_upper(0.1, math.nan)


def test_xi_n_is_at_most_2_sqrt_n_for_small_n():
    """Maurer's E exp(n kl) <= xi(n) <= 2 sqrt(n) is proved for n >= 8; check n < 8 (and beyond) exactly."""
    for n in range(1, 41):
        xi = sum(math.comb(n, k) * Fraction(k, n) ** k * Fraction(n - k, n) ** (n - k) for k in range(n + 1))
        assert xi * xi <= 4 * n, n


@settings(max_examples=40)
@given(st.floats(0, 0.99), st.floats(0, 2e5), st.integers(1, 10**6), st.floats(1e-6, 0.5), st.floats(1.0005, 3.0))
def test_catoni_against_a_dense_grid(emp, kl, n, eps, alpha):
    b = catoni_bound(emp, kl, n, eps, alpha)
    lam = np.exp(np.linspace(1e-9, math.log(1e4 * (n + kl + 10)) * 1.5, 200001))
    dense = np.minimum(1.0, catoni_objective(lam, emp, kl, n, eps, alpha)).min()
    assert b.bound <= dense + 1e-7  # the search finds the inf (to grid resolution) ...
    if b.bound < 1:  # ... and the value reported is the objective at a real lambda > 1
        assert b.lam > 1
        assert b.bound >= catoni_objective(b.lam, emp, kl, n, eps, alpha)


@settings(max_examples=80)
@given(errors, kls, ns, st.floats(1e-9, 0.999))
def test_bounds_are_finite_and_within_empirical_and_one(emp, kl, n, eps):
    for value in (kl_bound(emp, kl, n, eps), catoni_bound(emp, kl, n, eps).bound):
        assert not math.isnan(value)
        assert emp - 1e-15 <= value <= 1.0


@settings(max_examples=40)
@given(st.floats(0, 0.9), st.floats(0, 1e5), st.floats(0.001, 1e4), st.integers(1, 10**6))
def test_bounds_are_monotone_in_kl_and_in_empirical_error(emp, kl, more, n):
    eps = 0.05
    assert kl_bound(emp, kl + more, n, eps) >= kl_bound(emp, kl, n, eps)
    assert kl_bound(min(1, emp + 0.05), kl, n, eps) >= kl_bound(emp, kl, n, eps)
    tol = 1e-7  # Catoni: each value is a numerical minimum over lambda
    assert catoni_bound(emp, kl + more, n, eps).bound >= catoni_bound(emp, kl, n, eps).bound - tol
    assert catoni_bound(min(1, emp + 0.05), kl, n, eps).bound >= catoni_bound(emp, kl, n, eps).bound - tol


def test_edge_cases():
    assert kl_bound(1.0, 10.0, 100, 0.05) == 1.0
    assert catoni_bound(1.0, 10.0, 100, 0.05).bound == 1.0
    assert kl_bound(0.0, 1e300, 100, 0.05) == 1.0  # huge KL: vacuous
    assert catoni_bound(0.0, math.inf, 100, 0.05).bound == 1.0
    assert 0 < kl_bound(0.0, 0.0, 1, 0.05) <= 1.0  # n = 1
    assert kl_bound(0.0, 0.0, 10**12, 0.05) < 1e-9  # n huge, KL 0: the bound tends to the empirical error


@pytest.mark.parametrize("args, name", [
    ((-0.1, 1.0, 10, 0.05), "empirical error"), ((1.1, 1.0, 10, 0.05), "empirical error"),
    ((math.nan, 1.0, 10, 0.05), "empirical error"), ((0.1, -1.0, 10, 0.05), "kl"),
    ((0.1, 1.0, 0, 0.05), "n"), ((0.1, 1.0, 2.5, 0.05), "n"), ((0.1, 1.0, 10, 0.0), "eps"),
    ((0.1, 1.0, 10, 1.0), "eps"),
])
def test_invalid_arguments_name_the_argument(args, name):
    for f in (kl_bound, catoni_bound):
        with pytest.raises(ConfigError, match=name):
            f(*args)
    with pytest.raises(ConfigError, match="alpha"):
        catoni_bound(0.1, 1.0, 10, 0.05, alpha=1.0)
