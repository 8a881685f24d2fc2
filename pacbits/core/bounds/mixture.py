r"""The mixture term of Theorem 4.3 and of its weighted form (docs/bounds.md), certified.

For one tensor with codebook ``c`` (length r), index counts ``n_j``, posterior scale σ,
prior scale λ and mixture weights ``w`` (all 1 for Theorem 4.3's unnormalized sum; a
distribution ``P`` for the weighted form)::

    M(λ) = Σ_j n_j KL(N(c_j, σ²) ‖ Σ_i w_i N(c_i, λ²))
         = Σ_j n_j [ln(λ/σ) − ½ + E F(c_j + σZ)],   Z ~ N(0, 1),
    F(x) = −ln Σ_i w_i exp(−(x − c_i)² / 2λ²).

The term depends on a weight only through its center, so it costs r one-dimensional
integrals weighted by counts, never one per weight.

**Certified bracket.** ``F'' = 1/λ² − Var_ρ((x − c_i)/λ²) <= 1/λ²`` (ρ the component
responsibilities at x), i.e. ``h = x²/2λ² − F`` is convex with ``h' = Σ ρ_i c_i / λ² ∈
[min c, max c] / λ²``. Hence, for every x,

* upper: ``F(x) <= F(t) + F'(t)(x − t) + (x − t)²/2λ²`` for any tangent point t;
* lower: on a cell [a, b], ``F(x) >= chord_{a,b}F(x) − (x − a)(b − x)/2λ²`` (h lies under its
  chord); on the tails, ``F(x) >= F(e) + (x − e)(x + e − 2c*)/2λ²`` with c* = max c for
  x >= e and min c for x <= e (slope bound on h).

The real line is cut into cells (width σ/resolution within 6σ of each posterior center,
growing by 10% per cell out to 40σ, then open tails); on each cell both bounds are
quadratics whose Gaussian expectations are closed forms in Φ and φ. Summed over cells
they give ``lower <= M(λ) <= upper`` exactly, with no truncation and no assumption on
smoothness; the gap is O((σ/resolution)² · h''). Floating-point rounding of the
O(K)-term sums (K cells) is covered by widening the bracket by ``1e-13·(K + 64)`` times
(1 + the sum of absolute values of the terms) per weight, far above K·2^-53; it also
covers the cell coefficients below 1e-280 that are dropped (they would make the matrix
products run on subnormals). The bound uses ``upper``.

**Why not Gauss-Hermite alone.** A Gauss-Hermite rule is accurate when F is smooth on
the scale σ, but its error has no useful a-priori bound here: the Peano-kernel bound
decays only like 0.32/N · sup F'', and F'' is ~(Δc)²/λ⁴ at the kinks of a sharp mixture.
There it fails silently: centers {0, 1}, σ = 1, λ = 0.1 give 27.3846 nats with 64 nodes
against 27.4120 by adaptive quadrature, outside the certified bracket [27.4024, 27.4159].
The cell bracket is as cheap (the cells are shared by all λ and all centers) and certified.

Everything is computed in units of σ about the mean posterior center (KL is invariant
under affine maps of the weight axis), which keeps the arithmetic well scaled.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import ndtr

from ..errors import ConfigError
from .checks import count, positive, real_array

_FINE = 6.0  # uniform cells within this many σ of each posterior center
_GROWTH = 1.1  # then cells grow geometrically ...
_FAR = 40.0  # ... out to 40σ; beyond it the Gaussian mass is below 1e-340
_MAX_EDGES = 1 << 16
_CHUNK = 1 << 20  # elements per (points x components) block
_TINY = 1e-280  # cell coefficients below this are dropped
_SQRT2PI = math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class MixtureKL:
    """The mixture term at the chosen prior scale ``lam`` (nats, summed over all weights)."""

    lam: float
    grid_size: int
    upper: float  # certified upper bound: the value a bound uses
    lower: float  # certified lower bound

    @property
    def error(self) -> float:
        """Width of the certified bracket: a bound on the numerical error of ``upper``."""
        return self.upper - self.lower

    def to_dict(self) -> dict:
        return {**asdict(self), "error": self.error}


def mixture_kl(centers, counts, sigma, lambdas, weights=None, resolution: int = 32) -> MixtureKL:
    """Certified ``M(λ)`` at the λ in ``lambdas`` (a grid fixed in advance) that minimizes its upper bound.

    ``weights=None`` is Theorem 4.3's unnormalized sum (all ``w_i = 1``); otherwise the
    weights are normalized to a distribution P. ``resolution`` is cells per σ near each
    posterior center (accuracy, not validity). The caller pays ``ln len(lambdas)`` for the choice.
    """
    c, n, logw = _inputs(centers, counts, weights)
    sigma = positive(sigma, "sigma")
    lams = real_array(np.atleast_1d(lambdas), "lambdas")
    if lams.size == 0:
        raise ConfigError("lambdas (the prior-scale grid) is empty")
    if np.any(lams <= 0):
        raise ConfigError(f"lambdas must all be > 0, got min {lams.min()!r}")
    count(resolution, "resolution", 1)
    if n.sum() == 0:
        return MixtureKL(float(lams[0]), lams.size, 0.0, 0.0)
    post = n > 0
    u, inv = np.unique(c[post], return_inverse=True)
    n_u = np.bincount(inv, weights=n[post].astype(np.float64))
    ref = float(np.average(u, weights=n_u))
    cells = _Cells((u - ref) / sigma, n_u, (c[logw > -np.inf] - ref) / sigma, logw[logw > -np.inf], resolution)
    scaled = lams / sigma
    upper = cells.upper(scaled)
    g = int(np.argmin(upper))
    return MixtureKL(float(lams[g]), lams.size, float(upper[g]), cells.lower(scaled[g]))


def _inputs(centers, counts, weights):
    c = real_array(centers, "centers")
    try:
        n = np.asarray(counts).reshape(-1)
    except (TypeError, ValueError):
        raise ConfigError("counts must be an array of integers") from None
    if n.shape != c.shape:
        raise ConfigError(f"counts has {n.size} entries but centers has {c.size}; expected one count per center")
    if n.size and (not np.issubdtype(n.dtype, np.number) or np.any(n != np.round(n)) or np.any(n < 0)):
        raise ConfigError("counts must be non-negative integers")
    n = n.astype(np.int64)
    if weights is None:
        logw = np.zeros(c.size)
    else:
        p = real_array(weights, "weights")
        if p.shape != c.shape:
            raise ConfigError(f"weights has {p.size} entries but centers has {c.size}; expected one per center")
        if np.any(p < 0) or p.sum() <= 0:
            raise ConfigError("weights must be non-negative with a positive sum")
        with np.errstate(divide="ignore"):
            logw = np.log(p / p.sum())
    if n.sum() and not np.any(logw > -np.inf):
        raise ConfigError("the prior mixture has no component with positive weight")
    return c, n, logw


class _Cells:
    """Cells and their λ-independent Gaussian moments, summed over centers with their counts (σ = 1 units)."""

    def __init__(self, u, n, c, logw, resolution):
        self.c, self.logw = c, logw
        m = resolution
        e = _edges(u, m)
        while e.size > _MAX_EDGES and m > 1:
            m //= 2
            e = _edges(u, m)
        self.edges = e
        self.tangents = np.concatenate([e[:1], (e[:-1] + e[1:]) / 2, e[-1:]])
        self.pad = 1e-13 * (e.size + 64)
        z = e[None, :] - u[:, None]  # (s, K+1) edges relative to each center
        zero = np.zeros((u.size, 1))
        a, b = z[:, :-1], z[:, 1:]
        cdf, sf = ndtr(z), ndtr(-z)  # Φ(z) and 1 − Φ(z), each accurate in its own tail
        mid = np.where(a >= 0, sf[:, :-1] - sf[:, 1:], cdf[:, 1:] - cdf[:, :-1])
        m0 = np.concatenate([cdf[:, :1], mid, sf[:, -1:]], axis=1)  # (s, K+2) cell masses
        phi = np.exp(-0.5 * z * z) / _SQRT2PI
        p = np.concatenate([zero, phi, zero], axis=1)
        zp = np.concatenate([zero, z * phi, zero], axis=1)
        m1 = p[:, :-1] - p[:, 1:]  # E[Z; cell]
        m2 = m0 + zp[:, :-1] - zp[:, 1:]  # E[Z²; cell]
        # upper: E[F(t) + F'(t)(Z−τ) + (Z−τ)²/2λ²; cell], τ = t − u, summed over centers with counts n
        tau = self.tangents[None, :] - u[:, None]
        d = _flush(m1 - tau * m0)
        v = (m2 - 2 * tau * m1 + tau * tau * m0).sum(axis=1)
        self.up = (n @ _flush(m0), n @ d, n @ v)
        self.up_abs = (self.up[0], n @ np.abs(d), n @ np.abs(v))
        # lower: chord weights on bounded cells, slope bounds on the two tails
        b0, b1, b2 = m0[:, 1:-1], m1[:, 1:-1], m2[:, 1:-1]
        theta = (b1 - a * b0) / (b - a)
        ew = np.zeros_like(z)
        ew[:, :-1] += b0 - theta
        ew[:, 1:] += theta
        ew[:, 0] += m0[:, 0]
        ew[:, -1] += m0[:, -1]
        ew = _flush(ew)
        lo, hi = z[:, 0], z[:, -1]
        tails = (m2[:, 0] - lo * lo * m0[:, 0] - 2 * (c.min() - u) * (m1[:, 0] - lo * m0[:, 0])
                 + m2[:, -1] - hi * hi * m0[:, -1] - 2 * (c.max() - u) * (m1[:, -1] - hi * m0[:, -1]))
        q = tails - (-b2 + (a + b) * b1 - a * b * b0).sum(axis=1)
        self.low, self.low_abs = (n @ ew, n @ q), (n @ np.abs(ew), n @ np.abs(q))
        self.total = float(n.sum())

    def _f(self, x: np.ndarray, lams: np.ndarray):
        """F(x) and F'(x) = Σ ρ_i (x − c_i)/λ² at every prior scale (σ units): two (len(lams), len(x)) arrays."""
        out_f, out_d = np.empty((lams.size, x.size)), np.empty((lams.size, x.size))
        step = max(1, _CHUNK // self.c.size)
        for s in range(0, x.size, step):
            diff = x[s:s + step, None] - self.c[None, :]
            half_sq = -0.5 * diff * diff
            for g, lam in enumerate(lams):
                a = half_sq * (1 / (lam * lam))
                a += self.logw
                top = a.max(axis=1)
                a -= top[:, None]
                np.exp(a, out=a)
                tot = a.sum(axis=1)
                out_f[g, s:s + step] = -(top + np.log(tot))
                out_d[g, s:s + step] = np.einsum("pi,pi->p", a, diff) / (tot * lam * lam)
        return out_f, out_d

    def upper(self, lams: np.ndarray) -> np.ndarray:
        """Certified upper bounds at every λ in ``lams`` (σ units)."""
        f, df = self._f(self.tangents, lams)
        base, curv = np.log(lams) - 0.5, 1 / (2 * lams * lams)
        (m0, d, v), (_, d_abs, v_abs) = self.up, self.up_abs
        value = f @ m0 + df @ d + curv * v + base * self.total
        size = np.abs(f) @ m0 + np.abs(df) @ d_abs + curv * v_abs + (np.abs(base) + 1) * self.total
        return value + self.pad * size

    def lower(self, lam: float) -> float:
        """Certified lower bound at one λ (σ units)."""
        f = self._f(self.edges, np.array([lam]))[0][0]
        base, curv = math.log(lam) - 0.5, 1 / (2 * lam * lam)
        (ew, q), (ew_abs, q_abs) = self.low, self.low_abs
        value = f @ ew + curv * q + base * self.total
        size = np.abs(f) @ ew_abs + curv * q_abs + (abs(base) + 1) * self.total
        return float(value - self.pad * size)


def _flush(a: np.ndarray) -> np.ndarray:
    """Zero the entries below 1e-280: subnormal operands slow matrix products twentyfold."""
    a[np.abs(a) < _TINY] = 0.0
    return a


def _edges(u: np.ndarray, m: int) -> np.ndarray:
    """Cell edges (σ units): spacing 1/m within 6σ of each center, then growing 10% a cell to 40σ."""
    steps = np.arange(1, math.ceil(math.log(_FAR / _FINE) / math.log(_GROWTH)) + 1)
    off = np.concatenate([np.arange(int(_FINE * m) + 1) / m, _FINE * _GROWTH**steps])
    parts = [u[0] - off, u[-1] + off]
    if u.size > 1:
        keep = off[None, :] < (np.diff(u) / 2)[:, None]
        parts += [(u[:-1, None] + off[None, :])[keep], (u[1:, None] - off[None, :])[keep]]
    e = np.unique(np.concatenate(parts))
    # merge edges closer than float rounding can resolve once shifted by a center (else 0/0 chords)
    return e[np.concatenate([[True], np.diff(e) > 1e-9 * np.maximum(1.0, np.abs(e[1:]))])]
