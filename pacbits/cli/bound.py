"""``pacbits bound``: turn a known compressed size and training error into a PAC-Bayes bound (Theorem 4.1)."""
from __future__ import annotations

import math
import re
from fractions import Fraction

from pacbits.core import ConfigError
from pacbits.core.bounds import ALPHA, occam_kl_report, pac_bayes_report
from pacbits.core.bounds.checks import count, open_unit, positive, probability
from pacbits.core.bounds.occam import LENGTH_PRIORS

from ._common import add_json, print_json

#: bits per unit; "B" is a byte, and a bare "b" is refused as ambiguous
UNITS = {"bits": 1, "bit": 1, "B": 8, "KiB": 8 * 1024, "MiB": 8 * 1024**2}
MAX_EXPONENT = 400  # larger sizes overflow a bound's floats anyway; refused before any big-number work
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?\s*([A-Za-z]*)\s*")


def parse_size(text: str) -> int:
    """``6.23KiB`` -> 51037: a size with unit (bits, B, KiB, MiB) in bits, rounded up to an integer."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise ConfigError(f"--size {text!r} is not a number with a unit, e.g. 6.23KiB")
    unit = m.group(3)
    factor = UNITS.get(unit) or {u.lower(): f for u, f in UNITS.items() if u != "B"}.get(unit.lower())
    if factor is None:
        raise ConfigError(f"--size unit {unit!r} is not one of {', '.join(UNITS)}" if unit else
                          f"--size {text!r} needs a unit: one of {', '.join(UNITS)}")
    exponent = int(m.group(2) or 0)
    if abs(exponent) > MAX_EXPONENT:
        raise ConfigError(f"--size {text!r}: exponent {exponent} is out of range (|e| <= {MAX_EXPONENT})")
    value = Fraction(m.group(1)) * Fraction(10) ** exponent * factor
    return math.ceil(value)


def register(sub) -> None:
    p = sub.add_parser("bound", help="PAC-Bayes bound on the test error from a compressed size and a training error",
                       description="Occam bound (Theorem 4.1): KL = L ln 2 - ln m(L) for an L-bit code, "
                                   "then the smaller of the kl-inverse and Catoni bounds.")
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--bits", help="compressed size in bits (an integer)")
    size.add_argument("--size", help="compressed size with a unit: bits, B, KiB or MiB "
                                     "(e.g. 6.23KiB; rounded up to whole bits)")
    p.add_argument("--n", required=True, help="number of training examples")
    p.add_argument("--train-error", required=True, help="training error of the compressed model, a fraction in [0, 1]")
    p.add_argument("--top5-error", help="top-5 training error, a fraction in [0, 1]")
    p.add_argument("--confidence", default="0.95",
                   help="confidence 1 - delta, shared by all bounds printed (default 0.95)")
    p.add_argument("--alpha", default=str(ALPHA), help=f"Catoni's alpha > 1, fixed in advance (default {ALPHA})")
    p.add_argument("--length-prior", default="uniform", choices=sorted(LENGTH_PRIORS),
                   help="distribution m on code lengths (default uniform over lengths < 2^72 bits)")
    add_json(p)
    p.set_defaults(func=run)


def _number(text: str, flag: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{flag} must be a number, got {text!r}") from None


def _integer(text: str, flag: str, minimum: int) -> int:
    if not re.fullmatch(r"\s*[0-9]+\s*", text):
        raise ConfigError(f"{flag} must be an integer >= {minimum}, got {text!r}")
    return count(int(text), flag, minimum)


def run(args) -> int:
    bits = _integer(args.bits, "--bits", 0) if args.bits is not None else parse_size(args.size)
    n = _integer(args.n, "--n", 1)
    errors = {"top-1": probability(_number(args.train_error, "--train-error"), "--train-error")}
    if args.top5_error is not None:
        errors["top-5"] = probability(_number(args.top5_error, "--top5-error"), "--top5-error")
    confidence = open_unit(_number(args.confidence, "--confidence"), "--confidence")
    alpha = positive(_number(args.alpha, "--alpha"), "--alpha")
    if alpha <= 1:
        raise ConfigError(f"--alpha must be > 1, got {args.alpha}")
    report = pac_bayes_report(occam_kl_report(bits, args.length_prior), n, errors, confidence, alpha=alpha)
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.table())
    return 0
