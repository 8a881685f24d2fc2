"""Theorem 6.1 / C.1 (corrected): overfitting forces entropy.

With ``e = E L̂(ĥ)`` (expected training error) and ``f = E L(ĥ)`` (expected test error)::

    p_n = e / (e + f),   q_n = (1 − e) / ((1 − e) + (1 − f)),   l_n = (e + f) / 2,
    H(ĥ) >= n·[ln 2 − l_n·h_b(p_n) − (1 − l_n)·h_b(q_n)]   (nats; h_b the binary entropy).

The paper's last display prints ``n ln 2 − n[l_n h_b(p_n) − (1−l_n) h_b(q_n)]``; the sign
inside the bracket is wrong (docs/bounds.md). The bracket is the mutual information between a
fair coin (train or test?) and the loss on the chosen example, so it is >= 0; a term
whose weight l_n or 1 − l_n is 0 is 0. The result is rounded down (by 1e-15 nats an
example, above the rounding error of the bracket) and clipped at 0.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .checks import count, probability


@dataclass(frozen=True)
class EntropyLowerBound:
    nats: float
    p: float  # p_n (nan when l_n = 0)
    q: float  # q_n (nan when l_n = 1)
    l: float  # l_n

    @property
    def bits(self) -> float:
        return self.nats / math.log(2)

    def to_dict(self) -> dict:
        return {**asdict(self), "bits": self.bits}


def _hb(p: float) -> float:
    return 0.0 if p in (0.0, 1.0) else -(p * math.log(p) + (1 - p) * math.log1p(-p))


def entropy_lower_bound(train_error: float, test_error: float, n: int) -> EntropyLowerBound:
    """Lower bound on ``H(ĥ)`` (nats) from expected train and test errors over n examples."""
    e, f = probability(train_error, "train_error"), probability(test_error, "test_error")
    n = count(n, "n", 1)
    l = (e + f) / 2
    p = e / (e + f) if e + f > 0 else math.nan
    q = (1 - e) / ((1 - e) + (1 - f)) if e + f < 2 else math.nan
    cond = (l * _hb(p) if l > 0 else 0.0) + ((1 - l) * _hb(q) if l < 1 else 0.0)
    return EntropyLowerBound(max(0.0, n * (math.log(2) - cond - 1e-15)), p, q, l)
