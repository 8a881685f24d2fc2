r"""Whole-model KL bounds from a codec's exact bit counts (docs/bounds.md), itemized.

**Occam** (Theorem 4.1): ``KL <= L·ln 2 − ln m(L)``, L the stream's total bits.

**Noise-robust** (Theorem 4.3 and its weighted form). Posterior: ``N(c_{q_i}, σ_t²)`` on the
kept weights of every coded tensor t given a σ_t, point masses on everything else.
Prior, with D the bitstream with the index bits of those tensors taken out (and, for a
Theorem 4.3 tensor, i.e. a coder without ``index_prior``, a fixed-width array of
``k⌈log2 r⌉`` bits put in their place)::

    π ∝ Σ_D m(|D|)·2^{−|D|} · Π_t (1/G_t) Σ_g Π_{i ∈ S_t} Σ_j w_{t,j} N(c_{t,j}, λ_{t,g}²)

with ``w = 1`` (Theorem 4.3) or ``w = P`` (the coder's normalized index distribution).
D is one injective code (the coder contract: the payload without its indices still
decodes everything else and determines P), so the normalizer is <= 1 and::

    KL <= L·ln 2 − ln m(L) + Σ_t [M_t(λ_t) + ln G_t],
    L = container + side information + Σ_t (total_t − indices_t [+ k_t⌈log2 r_t⌉]),

M_t from :func:`~.mixture.mixture_kl` at the λ_t of t's grid (G_t points, fixed in
advance) minimizing it. **One** length prior is applied to L, the length of the single
code D: m must be a distribution over lengths of one injective code. (One m per part
would also be valid through a product prior, but pays −ln m once per part: ~50 nats
each with the uniform prior.) The paper prints ``+ log m``; it is ``− ln m`` (a cost).

Which coded tensors carry noise (σ > 0, rather than None or 0 for a point mass) is part
of the prior. Unless it was fixed in advance (``noisy_choice=False``), it is paid for as a
choice among the 2^T noisy sets of the T coded tensors with kept weights: the prior is
the uniform mixture of the 2^T priors above, costing ``T·ln 2`` nats. The σ values
themselves are free, but the same σ must be used to measure the stochastic training error.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..errors import ConfigError
from .checks import count, positive, real_array
from .mixture import MixtureKL, mixture_kl
from .occam import LN2, LengthPrior, length_prior


@dataclass(frozen=True)
class Term:
    """One additive KL term."""

    name: str
    nats: float
    note: str = ""

    @property
    def bits(self) -> float:
        return self.nats / LN2

    def to_dict(self) -> dict:
        return {"name": self.name, "nats": self.nats, "bits": self.bits, "note": self.note}


@dataclass(frozen=True)
class TensorKL:
    """One coded tensor's share of the noise-robust KL (before the global length prior)."""

    name: str
    k: int
    r: int
    total_bits: int  # the tensor's bits in the stream
    index_bits: int  # of which index bits
    code_bits: int  # bits charged at ln 2 each (the tensor's part of L)
    sigma: float | None  # None: point-mass posterior, plain Occam
    weighted: bool  # mixture weights P from the coder (docs/bounds.md) rather than Theorem 4.3's
    mixture: MixtureKL | None

    @property
    def grid_cost(self) -> float:
        """``ln G`` nats for choosing λ from a G-point grid."""
        return math.log(self.mixture.grid_size) if self.mixture else 0.0

    @property
    def nats(self) -> float:
        return self.code_bits * LN2 + (self.mixture.upper + self.grid_cost if self.mixture else 0.0)

    @property
    def adjustment(self) -> float:
        """Nats over plain Occam on this tensor (``total_bits·ln 2``); negative: saved by noise robustness."""
        return self.nats - self.total_bits * LN2

    def to_dict(self) -> dict:
        return {"name": self.name, "k": self.k, "r": self.r, "total_bits": self.total_bits,
                "index_bits": self.index_bits, "code_bits": self.code_bits, "sigma": self.sigma,
                "weighted": self.weighted, "mixture": self.mixture.to_dict() if self.mixture else None,
                "grid_cost_nats": self.grid_cost, "nats": self.nats, "adjustment_nats": self.adjustment,
                "adjustment_bits": self.adjustment / LN2}


@dataclass(frozen=True)
class KLReport:
    """An itemized KL bound: ``nats`` is the sum of ``terms``."""

    kind: str  # "occam" or "noise-robust"
    code_bits: int  # L, the length the length prior is applied to
    length_prior: str
    terms: tuple[Term, ...]
    tensors: tuple[TensorKL, ...] = ()

    @property
    def nats(self) -> float:
        """Sum of the terms, rounded up by a few ulp."""
        return math.fsum(t.nats for t in self.terms) + 4e-16 * math.fsum(abs(t.nats) for t in self.terms)

    @property
    def bits(self) -> float:
        return self.nats / LN2

    def union(self, label: str, choices: int) -> "KLReport":
        """Pay ``ln choices`` for picking one of ``choices`` options after seeing the data (a union bound)."""
        choices = count(choices, "choices", 1)
        return replace(self, terms=self.terms + (Term(f"union bound: {label}", math.log(choices),
                                                      f"best of {choices} chosen after seeing the data"),))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "nats": self.nats, "bits": self.bits, "code_bits": self.code_bits,
                "length_prior": self.length_prior, "terms": [t.to_dict() for t in self.terms],
                "tensors": [t.to_dict() for t in self.tensors]}

    def table(self) -> str:
        rows = [(t.name, f"{t.nats:.2f}", f"{t.bits:.2f}", t.note) for t in self.terms]
        rows.append((f"KL ({self.kind})", f"{self.nats:.2f}", f"{self.bits:.2f}", f"= {self.bits / 8192:.3f} KiB"))
        out = text_table(("term", "nats", "bits", "note"), rows)
        if self.tensors:
            rows = [(t.name, t.k, t.r, t.total_bits, t.index_bits, t.code_bits,
                     "-" if t.sigma is None else f"{t.sigma:.3g}",
                     "-" if t.mixture is None else f"{t.mixture.lam:.3g}",
                     "-" if t.mixture is None else f"{t.mixture.upper:.1f}",
                     "-" if t.mixture is None else f"{t.mixture.error:.2g}",
                     f"{t.grid_cost:.2f}", f"{t.adjustment / LN2:.1f}") for t in self.tensors]
            out += "\n\n" + text_table(("tensor", "k", "r", "bits", "index bits", "code bits", "sigma", "lambda",
                                    "mixture nats", "+-", "grid nats", "adjust bits"), rows)
        return out


def occam_kl_report(bits: int, prior: "str | LengthPrior" = "uniform") -> KLReport:
    """Theorem 4.1 for a ``bits``-bit code, itemized."""
    bits = count(bits, "bits")
    m = length_prior(prior)
    neg_log = m.neg_log(bits)  # first: a prior refuses lengths outside its support
    if bits.bit_length() > 1000:  # bits * ln 2 would overflow a float
        raise ConfigError(f"bits = a {bits.bit_length()}-bit number is too large for a bound (at most 2**1000)")
    return KLReport("occam", bits, str(m), (Term("code length L", bits * LN2, f"{bits} bits"),
                                            Term("length prior -ln m(L)", neg_log, f"{m}")))


def tensor_kl(name: str, k: int, total_bits: int, index_bits: int, centers, counts, sigma: float | None,
              lambdas, prior=None, resolution: int = 32) -> TensorKL:
    """One coded tensor's KL share from plain numbers.

    ``prior`` is the coder's index distribution P (weighted form: the index bits are
    replaced by the mixture term) or None (Theorem 4.3: ``k⌈log2 r⌉`` index bits are
    charged instead of the coded ones, plus the unnormalized mixture term).
    ``sigma`` None or 0 (or k = 0) means a point-mass posterior: all ``total_bits`` are charged.
    """
    k, total_bits, index_bits = count(k, "k"), count(total_bits, "total_bits"), count(index_bits, "index_bits")
    if index_bits > total_bits:
        raise ConfigError(f"index_bits = {index_bits} exceeds total_bits = {total_bits}")
    c = real_array(centers, "centers")
    n = np.asarray(counts).reshape(-1)
    if n.size != c.size:
        raise ConfigError(f"counts has {n.size} entries but centers has {c.size}; expected one count per center")
    if n.size and int(n.sum()) != k:
        raise ConfigError(f"counts sum to {int(n.sum())} but k = {k}; expected one count per kept weight")
    if n.size == 0 and k:
        raise ConfigError(f"k = {k} kept weights but the codebook is empty")
    if sigma is None or k == 0 or (isinstance(sigma, numbers.Real) and sigma == 0):
        return TensorKL(name, k, c.size, total_bits, index_bits, total_bits, None, prior is not None, None)
    sigma = positive(sigma, f"sigma of {name!r}")
    mix = mixture_kl(c, n, sigma, lambdas, prior, resolution)
    code = total_bits - index_bits + (0 if prior is not None else k * (c.size - 1).bit_length())
    return TensorKL(name, k, c.size, total_bits, index_bits, code, sigma, prior is not None, mix)


def assemble_kl(tensors: Sequence[TensorKL], other_bits: int, prior: "str | LengthPrior" = "uniform",
                noisy_choice: bool = True) -> KLReport:
    """The whole-model KL from coded tensors' shares and the ``other_bits`` (container, side information).

    ``noisy_choice``: pay ``T·ln 2`` for having chosen which tensors carry noise after seeing data.
    """
    other_bits = count(other_bits, "other_bits")
    m = length_prior(prior)
    L = other_bits + sum(t.code_bits for t in tensors)
    noisy = [t for t in tensors if t.mixture]
    grid = math.fsum(t.grid_cost for t in noisy)
    terms = [Term("code length L", L * LN2, f"{L} bits: {other_bits} container + side information, "
                                            f"{L - other_bits} in coded tensors"),
             Term("length prior -ln m(L)", m.neg_log(L), f"{m}")]
    if noisy:
        terms += [Term("mixture terms", math.fsum(t.mixture.upper for t in noisy),
                       f"{len(noisy)} tensors, certified to +-{math.fsum(t.mixture.error for t in noisy):.3g} nats"),
                  Term("lambda-grid cost", grid, f"ln G per noisy tensor ({len(noisy)} tensors)")]
    choosable = sum(1 for t in tensors if t.k)
    if noisy_choice and choosable:
        terms.append(Term("noisy-set choice", choosable * LN2,
                          f"which of {choosable} tensors carry noise, chosen after seeing data (T ln 2)"))
    return KLReport("noise-robust", L, str(m), tuple(terms), tuple(tensors))


def noise_robust_kl(report, sigma: "float | Mapping[str, float | None]", lambdas,
                    prior: "str | LengthPrior" = "uniform", noisy_choice: bool = True,
                    resolution: int = 32) -> KLReport:
    """Noise-robust KL of a :class:`~pacbits.core.codec.CodecReport`.

    ``sigma``: one σ for every coded tensor, or a mapping naming every coded tensor
    (None or 0: point mass, no noise). ``lambdas``: one grid, or a mapping from noisy tensor names to
    grids (a grid may depend on what the stream codes, e.g. its codebook, never on the data).
    ``noisy_choice``: see :func:`assemble_kl`.
    """
    coded = [t for t in report.tensors if t.coded]
    names = {t.name for t in coded}
    sig = _per_tensor(sigma, names, "sigma", names)
    grids = _per_tensor(lambdas, names, "lambdas", {t.name for t in coded if sig[t.name] and t.k})
    out = [tensor_kl(t.name, t.k, t.bits.total, t.bits.indices,
                     t.codebook if t.codebook is not None else np.zeros(0),
                     t.counts if t.counts is not None else np.zeros(0, np.int64),
                     sig[t.name], grids.get(t.name), t.prior, resolution) for t in coded]
    other = report.container_bits + sum(t.bits.total for t in report.tensors if not t.coded)
    return assemble_kl(out, other, prior, noisy_choice)


def _per_tensor(value, names: set, what: str, required: set) -> dict:
    if not isinstance(value, Mapping):
        return {n: value for n in names}
    unknown = sorted(set(value) - names)
    if unknown:
        raise ConfigError(f"{what} names tensors that are not coded: {unknown}; coded tensors: {sorted(names)}")
    missing = sorted(required - set(value))
    if missing:
        raise ConfigError(f"{what} has no entry for coded tensors {missing}")
    return dict(value)


def text_table(head: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned, a trailing note left."""
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    last = len(head) - 1 if head[-1] == "note" else None

    def fmt(r):
        return "  ".join(str(x).ljust(n) if i in (0, last) else str(x).rjust(n)
                         for i, (x, n) in enumerate(zip(r, w))).rstrip()

    return "\n".join([fmt(head), fmt(["-" * n for n in w])] + [fmt(r) for r in rows])
