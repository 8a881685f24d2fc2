"""The certified mixture term against closed forms, adaptive quadrature and long Monte Carlo."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import logsumexp

from pacbits.core import ConfigError
from pacbits.core.bounds import mixture_kl


def reference(centers, counts, sigma, lam, weights=None):
    """Sum_j n_j KL(N(c_j, s^2) || sum_i w_i N(c_i, l^2)) by scipy's adaptive quadrature, per center."""
    c = np.asarray(centers, float)
    logw = np.zeros(c.size) if weights is None else np.log(np.asarray(weights, float) / np.sum(weights))
    brk = sorted(set(((c[:-1] + c[1:]) / 2).tolist())) if c.size > 1 else []
    total = 0.0
    for cj, nj in zip(c, counts):
        if not nj:
            continue
        lo, hi = cj - 40 * sigma, cj + 40 * sigma
        f = lambda x: -logsumexp(logw - (x - c) ** 2 / (2 * lam * lam)) * math.exp(-(x - cj) ** 2 / (2 * sigma * sigma))
        pts = [p for p in brk + [cj] if lo < p < hi]
        v, _ = quad(f, lo, hi, points=pts or None, limit=5000, epsabs=1e-14, epsrel=1e-13)
        total += nj * (math.log(lam / sigma) - 0.5 + v / (math.sqrt(2 * math.pi) * sigma))
    return total


def monte_carlo(centers, counts, sigma, lam, weights=None, draws=300_000, seed=0):
    """Long Monte Carlo estimate and its standard error."""
    rng = np.random.default_rng(seed)
    c = np.asarray(centers, float)
    logw = np.zeros(c.size) if weights is None else np.log(np.asarray(weights, float) / np.sum(weights))
    mean, var = 0.0, 0.0
    for cj, nj in zip(c, counts):
        if not nj:
            continue
        z = rng.standard_normal(draws)
        x = cj + sigma * z
        logq = logsumexp(logw[None, :] - (x[:, None] - c[None, :]) ** 2 / (2 * lam * lam), axis=1) - math.log(lam)
        v = -0.5 * z * z - math.log(sigma) - logq
        mean += nj * v.mean()
        var += nj * nj * v.var() / draws
    return mean, math.sqrt(var)


def test_r_equal_1_is_the_kl_between_two_gaussians():
    for c0, c1, s, lam, n in [(0.3, 0.3, 0.1, 0.2, 5), (0.0, 1.0, 0.5, 0.1, 3), (-2.0, 7.0, 3.0, 30.0, 1)]:
        m = mixture_kl([c1], [n], s, [lam]) if c0 == c1 else None
        exact = n * (math.log(lam / s) + (s * s + (c0 - c1) ** 2) / (2 * lam * lam) - 0.5)
        if m is None:  # posterior at c0 against the single prior component at c1: use weights to drop c0
            m = mixture_kl([c0, c1], [n, 0], s, [lam], weights=[0.0, 1.0])
        assert m.lower <= exact <= m.upper
        assert m.upper - m.lower <= 1e-9 * max(1, abs(exact))


@pytest.mark.parametrize("centers, counts, sigma, lam, weights", [
    ([0.0, 1.0], [1, 0], 1.0, 0.1, None),  # sharp mixture: Gauss-Hermite fails here
    ([0.0, 1.0], [1, 0], 0.3, 0.2, None),
    ([0.0, 1.0], [3, 2], 0.05, 0.5, None),
    (np.linspace(-1, 1, 16), np.arange(16) + 1, 0.1, 0.12, None),
    (np.linspace(-1, 1, 16), np.arange(16), 0.1, 0.08, np.arange(1, 17)),
    ([0.0, 0.01, 5.0], [7, 0, 1], 0.02, 0.02, [0.2, 0.3, 0.5]),
])
def test_bracket_contains_adaptive_quadrature(centers, counts, sigma, lam, weights):
    m = mixture_kl(centers, counts, sigma, [lam], weights)
    ref = reference(centers, counts, sigma, lam, weights)
    slack = 1e-9 * max(1.0, abs(ref))
    assert m.lower - slack <= ref <= m.upper + slack
    assert m.error <= 1e-3 * max(sum(counts), abs(ref))  # tight: ~1e-4 nats a weight, 1e-3 in the sharp case


@pytest.mark.parametrize("centers, counts, sigma, lam, weights", [
    ([0.0, 1.0], [1, 0], 1.0, 0.1, None),
    (np.linspace(-0.1, 0.1, 8), [5, 1, 0, 2, 9, 3, 3, 1], 0.02, 0.03, None),
    (np.linspace(-0.1, 0.1, 8), [5, 1, 0, 2, 9, 3, 3, 1], 0.02, 0.01, np.linspace(1, 2, 8)),
])
def test_agrees_with_long_monte_carlo(centers, counts, sigma, lam, weights):
    m = mixture_kl(centers, counts, sigma, [lam], weights)
    est, se = monte_carlo(centers, counts, sigma, lam, weights)
    assert m.lower - 4 * se <= est <= m.upper + 4 * se


def test_uniform_weights_equal_theorem_4_3_plus_index_bits():
    """With uniform P and r = 2^b, the weighted mixture term = Theorem 4.3's k*b*ln 2 + its mixture term."""
    rng = np.random.default_rng(3)
    for r in (1, 2, 16, 64):
        c = np.sort(rng.normal(0, 0.1, r))
        n = rng.integers(0, 1000, r)
        n[0] += 1
        lams = np.geomspace(1e-3, 1, 9)
        thm = mixture_kl(c, n, 0.02, lams)
        weighted = mixture_kl(c, n, 0.02, lams, np.full(r, 1 / r))
        assert weighted.lam == thm.lam
        assert weighted.upper == pytest.approx(thm.upper + n.sum() * math.log(r), rel=1e-10, abs=1e-8)


def test_sigma_equal_lambda_to_zero_gives_the_code_length_of_the_index():
    p = np.array([0.5, 0.3, 0.15, 0.05])
    c = np.array([0.0, 1.0, 1.5, 3.0])
    for q in range(4):
        counts = np.eye(4, dtype=int)[q]
        errs = [abs(mixture_kl(c, counts, s, [s], p).upper + math.log(p[q])) for s in (0.3, 0.1, 0.03, 1e-3)]
        assert errs == sorted(errs, reverse=True) and errs[-1] < 1e-9


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 64), st.integers(0, 2**32 - 1), st.floats(-3, 1), st.floats(-2, 1), st.booleans(),
       st.sampled_from(["normal", "repeats", "wide"]))
def test_random_codebooks_give_finite_certified_brackets(r, seed, log_scale, log_sigma, weighted, style):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** log_scale
    c = rng.normal(0, scale, r)
    if style == "repeats":
        c = rng.choice(c[: max(1, r // 3)], r)
    elif style == "wide":
        c = c * 10.0 ** rng.integers(-3, 4, r)
    c = c.astype(np.float32).astype(float)
    n = rng.integers(0, 5, r) * (rng.random(r) < 0.5)
    n[rng.integers(r)] += 1 + rng.integers(0, 10**6)
    sigma = scale * 10.0 ** log_sigma
    lams = sigma * np.geomspace(0.1, 30, int(rng.integers(1, 8)))
    w = rng.random(r) + (rng.random(r) < 0.2) if weighted else None
    m = mixture_kl(c, n, sigma, lams, w)
    assert all(math.isfinite(v) for v in (m.upper, m.lower))
    assert m.lower <= m.upper
    assert m.lam in lams and m.grid_size == lams.size
    if np.count_nonzero(n) <= 3:
        ref = reference(c, n, sigma, m.lam, w)
        assert m.lower - 1e-7 * max(1, abs(ref)) <= ref <= m.upper + 1e-7 * max(1, abs(ref))


def test_no_kept_weights_cost_nothing():
    m = mixture_kl([0.1, 0.2], [0, 0], 0.1, [0.1, 0.2])
    assert m.upper == m.lower == 0.0


@pytest.mark.parametrize("kwargs, name", [
    (dict(counts=[1, 2]), "counts"), (dict(counts=[1, -1, 0]), "counts"), (dict(counts=[1.5, 0, 0]), "counts"),
    (dict(sigma=0.0), "sigma"), (dict(sigma=-1.0), "sigma"), (dict(sigma=math.nan), "sigma"),
    (dict(lambdas=[]), "lambdas"), (dict(lambdas=[0.1, 0.0]), "lambdas"), (dict(lambdas=[math.inf]), "lambdas"),
    (dict(weights=[1.0, -1.0, 1.0]), "weights"), (dict(weights=[0.0, 0.0, 0.0]), "weights"),
    (dict(weights=[1.0, 1.0]), "weights"), (dict(centers=[0.0, math.nan, 1.0]), "centers"),
    (dict(weights=[0.0, 0.0, 1.0], counts=[1, 0, 0]), None),  # valid: the prior has mass elsewhere
])
def test_invalid_input_names_the_argument(kwargs, name):
    args = dict(centers=[0.0, 0.5, 1.0], counts=[1, 0, 2], sigma=0.1, lambdas=[0.1, 0.2])
    args.update(kwargs)
    if name is None:
        assert math.isfinite(mixture_kl(**args).upper)
        return
    with pytest.raises(ConfigError, match=name):
        mixture_kl(**args)
