"""Argument checks shared by the bound engine: each raises :class:`ConfigError` naming the argument."""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import ConfigError


def _real(x, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        raise ConfigError(f"{name} must be a real number, got {x!r}")
    x = float(x)
    if math.isnan(x):
        raise ConfigError(f"{name} must be a number, got NaN")
    return x


def probability(x, name: str) -> float:
    """A number in [0, 1] (an error rate)."""
    x = _real(x, name)
    if not 0.0 <= x <= 1.0:
        raise ConfigError(f"{name} must lie in [0, 1], got {x!r}")
    return x


def open_unit(x, name: str) -> float:
    """A number in (0, 1) (a confidence or a failure probability)."""
    x = _real(x, name)
    if not 0.0 < x < 1.0:
        raise ConfigError(f"{name} must lie strictly between 0 and 1, got {x!r}")
    return x


def positive(x, name: str) -> float:
    """A finite number > 0."""
    x = _real(x, name)
    if not (0.0 < x < math.inf):
        raise ConfigError(f"{name} must be a finite number > 0, got {x!r}")
    return x


def nonnegative(x, name: str) -> float:
    """A number >= 0; +inf is allowed (a KL that overflowed is still a valid input)."""
    x = _real(x, name)
    if x < 0:
        raise ConfigError(f"{name} must be >= 0, got {x!r}")
    return x


def count(x, name: str, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (bit counts, sample sizes)."""
    if isinstance(x, bool) or not isinstance(x, (numbers.Integral, np.integer)):
        if isinstance(x, (float, np.floating)) and float(x).is_integer():
            x = int(x)
        else:
            raise ConfigError(f"{name} must be an integer, got {x!r}")
    x = int(x)
    if x < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {x}")
    return x


def real_array(x, name: str) -> np.ndarray:
    """A 1-D float64 array of finite numbers."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be an array of numbers, got {type(x).__name__}") from None
    if a.ndim > 1:
        raise ConfigError(f"{name} must be one-dimensional, got shape {a.shape}")
    a = a.reshape(-1)
    if not np.all(np.isfinite(a)):
        raise ConfigError(f"{name} must hold finite numbers")
    return a
