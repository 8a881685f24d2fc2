"""Monte Carlo correction of the stochastic training error (docs/bounds.md).

``L̂(ρ) = E_{h~ρ} L̂(h)`` is estimated by m independent weight draws, each evaluated on
the whole training set, giving error rates ``X_1..X_m ∈ [0, 1]`` with mean ``L̂(ρ)``
(conditionally on the sample). Hoeffding's Chernoff bound for independent [0, 1]
variables, ``P(X̄ <= μ − t) <= exp(−m·kl(μ − t ‖ μ))``, gives with probability >= 1 − δ′::

    L̂(ρ) <= kl⁻¹(X̄, ln(1/δ′) / m).

Plugged into a PAC-Bayes bound at confidence 1 − ε (monotone in L̂), the final
statement holds with probability >= 1 − ε − δ′. A pass with a fresh draw per example is
the case of n draws with 0/1 rates.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ConfigError
from .checks import open_unit, real_array
from .pacbayes import kl_inverse_upper


@dataclass(frozen=True)
class MonteCarloBound:
    mean: float  # X̄, the Monte Carlo estimate of the stochastic training error
    draws: int  # m
    delta: float  # δ′
    upper: float  # kl⁻¹(X̄, ln(1/δ′)/m): holds with probability >= 1 − δ′

    def to_dict(self) -> dict:
        return asdict(self)


def stochastic_error_upper(rates, delta: float) -> MonteCarloBound:
    """Upper confidence bound on the stochastic empirical error from per-draw error rates."""
    x = real_array(rates, "rates")
    if x.size == 0:
        raise ConfigError("rates is empty; expected one training error rate per weight draw")
    if np.any((x < 0) | (x > 1)):
        raise ConfigError(f"rates must lie in [0, 1], got {x[(x < 0) | (x > 1)][0]!r}")
    delta = open_unit(delta, "delta")
    mean = float(min(1.0, x.mean()))
    return MonteCarloBound(mean, int(x.size), delta, kl_inverse_upper(mean, math.log(1 / delta) / x.size))
