"""The itemized bound: KL terms, confidence split, empirical errors, each PAC-Bayes form.

Confidence split (all fixed in advance): ``δ = 1 − confidence``. When some empirical
errors are Monte Carlo estimates, ``δ′ = mc_share·δ`` is shared evenly by their
Monte Carlo bounds. The rest, ``ε = δ − δ′``, is shared evenly by the PAC-Bayes
statements, one per (error, form) pair. By a union bound every reported number then
holds simultaneously with probability >= confidence; reporting the smaller of the two
forms is covered because each form has its own share of ε.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .checks import count, open_unit, probability
from .kl import KLReport, Term, text_table
from .montecarlo import MonteCarloBound, stochastic_error_upper
from .pacbayes import ALPHA, catoni_bound, kl_bound

FORMS = ("kl", "catoni")


@dataclass(frozen=True)
class ErrorBound:
    """Bounds on one error (top-1, top-5, ...) of the posterior."""

    label: str
    empirical: float  # the given error, or the Monte Carlo mean
    used: float  # the empirical error plugged in: the Monte Carlo upper bound when sampled
    monte_carlo: MonteCarloBound | None
    eps: float  # failure probability of each PAC-Bayes statement about this error
    bounds: dict  # form -> bound on the test error
    catoni_lambda: float | None

    @property
    def form(self) -> str:
        return min(self.bounds, key=self.bounds.get)

    @property
    def reported(self) -> float:
        return self.bounds[self.form]

    @property
    def vacuous(self) -> bool:
        return self.reported >= 1.0

    def to_dict(self) -> dict:
        return {"label": self.label, "empirical": self.empirical, "used": self.used,
                "monte_carlo": self.monte_carlo.to_dict() if self.monte_carlo else None, "eps": self.eps,
                "bounds": dict(self.bounds), "catoni_lambda": self.catoni_lambda, "reported": self.reported,
                "form": self.form, "vacuous": self.vacuous}


@dataclass(frozen=True)
class BoundReport:
    kl: KLReport
    n: int
    confidence: float
    alpha: float
    forms: tuple
    pac_bayes_delta: float  # ε, shared by all PAC-Bayes statements
    monte_carlo_delta: float  # δ′, shared by all Monte Carlo bounds
    errors: tuple  # of ErrorBound

    @property
    def bound(self) -> float:
        """The reported bound on the first error given (top-1 by convention)."""
        return self.errors[0].reported

    @property
    def statement(self) -> str:
        draws = " and the Monte Carlo weight draws" if self.monte_carlo_delta else ""
        s = (f"With probability >= {self.confidence:g} over the training sample{draws}, all "
             f"{len(self.errors) * len(self.forms)} PAC-Bayes bounds below hold simultaneously "
             f"(eps = {self.pac_bayes_delta:.4g} split evenly, {self.errors[0].eps:.4g} each")
        if self.monte_carlo_delta:
            s += f"; delta' = {self.monte_carlo_delta:.4g} for the Monte Carlo error bounds"
        return s + ")."

    def to_dict(self) -> dict:
        d = {"bound": self.bound}
        top5 = [e for e in self.errors if e.label == "top-5"]
        if top5:
            d["top5_bound"] = top5[0].reported
        d.update({"vacuous": self.errors[0].vacuous, "statement": self.statement, "n": self.n,
                  "confidence": self.confidence,
                  "confidence_split": {"pac_bayes": self.pac_bayes_delta, "monte_carlo": self.monte_carlo_delta},
                  "alpha": self.alpha, "forms": list(self.forms), "kl_nats": self.kl.nats, "kl_bits": self.kl.bits,
                  "kl": self.kl.to_dict(), "errors": [e.to_dict() for e in self.errors]})
        return d

    def table(self) -> str:
        rows = []
        for e in self.errors:
            mc = f"MC mean {e.monte_carlo.mean:.4g} over {e.monte_carlo.draws} draws" if e.monte_carlo else "exact"
            rows.append((e.label, f"{e.empirical:.4%}", f"{e.used:.4%}", *(f"{e.bounds[f]:.4%}" for f in self.forms),
                         f"{e.reported:.4%}" + (" (vacuous)" if e.vacuous else ""), mc))
        errs = text_table(("error", "train", "used", *self.forms, "bound", "note"), rows)
        return f"{self.kl.table()}\n\n{errs}\n\nn = {self.n}, Catoni alpha = {self.alpha:g}. {self.statement}"


def pac_bayes_report(kl: "KLReport | float", n: int, errors: Mapping, confidence: float = 0.95,
                     forms: Sequence[str] = FORMS, alpha: float = ALPHA, mc_share: float = 0.9) -> BoundReport:
    """Bound every error in ``errors`` (label -> exact error, or a sequence of per-draw Monte Carlo rates)."""
    if not isinstance(kl, KLReport):
        kl = KLReport("given", 0, "-", (Term("KL (given)", float(kl)),))
    n = count(n, "n", 1)
    confidence = open_unit(confidence, "confidence")
    mc_share = open_unit(mc_share, "mc_share")
    forms = tuple(forms)
    if not forms or any(f not in FORMS for f in forms) or len(set(forms)) < len(forms):
        raise ConfigError(f"forms must be distinct names from {FORMS}, got {forms}")
    if not errors:
        raise ConfigError("errors is empty; give at least one empirical error")
    sampled = [k for k, v in errors.items() if np.ndim(v) > 0]
    delta = 1.0 - confidence
    mc_delta = mc_share * delta if sampled else 0.0
    eps = (delta - mc_delta) / (len(errors) * len(forms))
    out = []
    for label, value in errors.items():
        mc = stochastic_error_upper(value, mc_delta / len(sampled)) if label in sampled else None
        emp = mc.mean if mc else probability(value, f"empirical error {label!r}")
        used = mc.upper if mc else emp
        bounds, lam = {}, None
        for f in forms:
            if f == "kl":
                bounds[f] = kl_bound(used, kl.nats, n, eps)
            else:
                cat = catoni_bound(used, kl.nats, n, eps, alpha)
                bounds[f], lam = cat.bound, (cat.lam if cat.lam < float("inf") else None)
        out.append(ErrorBound(str(label), emp, used, mc, eps, bounds, lam))
    return BoundReport(kl, n, confidence, float(alpha), forms, delta - mc_delta, mc_delta, tuple(out))

