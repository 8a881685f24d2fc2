"""PAC-Bayes bounds on the risk of a posterior ρ from its KL to the prior (docs/bounds.md).

* kl-inverse (Langford-Seeger, Maurer 2004): with probability >= 1 − ε,
  ``kl(L̂ ‖ L) <= (KL + ln(2√n/ε)) / n``, so ``L <= kl⁻¹(L̂, that)``. Maurer proves
  ``E e^{n·kl(L̂‖L)} <= ξ(n) <= 2√n`` for n >= 8; ``ξ(n) <= 2√n`` for n < 8 is checked
  exactly in the tests, so the form holds for every n >= 1.
* Catoni (paper Theorem 2.1, Catoni 2007 Thm 1.2.6): for α > 1 fixed in advance, with
  probability >= 1 − ε, simultaneously for all λ > 1,
  ``L <= Φ⁻¹_{λ/n}(L̂ + (α/λ)[KL − ln ε + 2 ln(ln(α²λ)/ln α)])``,
  ``Φ⁻¹_γ(x) = (1 − e^{−γx}) / (1 − e^{−γ})``. Because it holds for all λ at once, the
  λ found by the numerical search may depend on the data; its value at that λ is the bound.

Every returned bound is rounded up (never below the exact value), clipped to 1.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import xlog1py, xlogy

from ..errors import ConfigError
from .checks import count, nonnegative, open_unit, probability

KL_INV_TOL = 1e-12  # kl_inverse_upper returns q with q* <= q <= q* + KL_INV_TOL
ALPHA = 1.001  # Catoni's α, fixed in advance
_ROUND = 1e-12  # relative upward rounding of closed-form bounds


def binary_kl(p, q):
    """``kl(p‖q) = p ln(p/q) + (1−p) ln((1−p)/(1−q))`` in nats (0 ln 0 = 0; +inf off the support)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = xlogy(p, p) - xlogy(p, q) + xlog1py(1 - p, -p) - xlog1py(1 - p, -q)
    out = np.where(np.isnan(out), np.inf, np.maximum(out, 0.0))
    return out if out.ndim else float(out)


def kl_inverse_upper(p_hat, c, tol: float = KL_INV_TOL):
    """``sup{q ∈ [p̂, 1] : kl(p̂‖q) <= c}`` by bisection, returned rounded up by at most ``tol``.

    Invariant: ``kl(p̂‖lo) <= c < kl(p̂‖hi)`` (or hi = 1); after ``⌈log2(1/tol)⌉`` halvings
    ``hi − lo <= tol`` and ``hi`` is returned, so the result is never below the true inverse.
    """
    p, c = np.broadcast_arrays(np.asarray(p_hat, dtype=np.float64), np.asarray(c, dtype=np.float64))
    tol = open_unit(tol, "tol")
    if not np.all((p >= 0) & (p <= 1)):
        raise ConfigError(f"p_hat must lie in [0, 1], got {p[~((p >= 0) & (p <= 1))].flat[0]!r}")
    if not np.all(c >= 0):
        raise ConfigError(f"c must be >= 0, got {c[~(c >= 0)].flat[0]!r}")
    lo, hi = p.copy(), np.ones_like(p)
    for _ in range(math.ceil(math.log2(1 / tol))):
        mid = (lo + hi) / 2
        ok = binary_kl(p, mid) <= c
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return hi if hi.ndim else float(hi)


def _checked(empirical, kl, n, eps):
    return probability(empirical, "empirical error"), nonnegative(kl, "kl"), count(n, "n", 1), open_unit(eps, "eps")


def kl_bound(empirical: float, kl: float, n: int, eps: float) -> float:
    """kl-inverse bound: ``kl⁻¹(L̂, (KL + ln(2√n/ε))/n)``."""
    empirical, kl, n, eps = _checked(empirical, kl, n, eps)
    return kl_inverse_upper(empirical, (kl + math.log(2 * math.sqrt(n) / eps)) / n)


class Catoni(NamedTuple):
    bound: float
    lam: float  # the λ > 1 the bound was evaluated at


def catoni_objective(lam, empirical: float, kl: float, n: int, eps: float, alpha: float = ALPHA):
    """Theorem 2.1's right-hand side at ``lam`` (scalar or array, all > 1), unclipped."""
    lam = np.asarray(lam, dtype=np.float64)
    penalty = kl - math.log(eps) + 2 * np.log(np.log(alpha * alpha * lam) / math.log(alpha))
    x = empirical + alpha / lam * penalty
    gamma = lam / n
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.where(x >= 1, np.inf, np.expm1(-gamma * x) / np.expm1(-gamma))
    return out if out.ndim else float(out)


def catoni_bound(empirical: float, kl: float, n: int, eps: float, alpha: float = ALPHA) -> Catoni:
    """Catoni's bound minimized over λ > 1: a log-grid search refined by Brent's method."""
    empirical, kl, n, eps = _checked(empirical, kl, n, eps)
    alpha = nonnegative(alpha, "alpha")
    if not 1 < alpha < math.inf:
        raise ConfigError(f"alpha must be a finite number > 1, got {alpha!r}")
    if math.isinf(kl):
        return Catoni(1.0, math.inf)
    top = min(700.0, math.log(1e4 * (n + 10)) + math.log1p(kl / (n + 10)))  # λ <= 1e4·(n + KL + 10), 1e304
    u = np.linspace(top / 4000, top, 4000)
    vals = catoni_objective(np.exp(u), empirical, kl, n, eps, alpha)
    i = int(np.argmin(vals))
    if np.isfinite(vals[i]):
        lo, hi = u[max(i - 1, 0)], u[min(i + 1, u.size - 1)]
        res = minimize_scalar(lambda v: min(2.0, catoni_objective(math.exp(v), empirical, kl, n, eps, alpha)),
                              bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
        if res.fun < vals[i]:
            u[i], vals[i] = res.x, res.fun
    lam = float(math.exp(u[i]))
    value = float(catoni_objective(lam, empirical, kl, n, eps, alpha))  # recomputed at the λ reported
    return Catoni(round_up(value), lam)


def round_up(x: float) -> float:
    """A float >= x (relative margin 1e-12), clipped to [0, 1]."""
    return float(min(1.0, max(0.0, x + _ROUND * abs(x) + 1e-300)))
