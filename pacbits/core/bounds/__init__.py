"""The bound engine: exact bit counts and codebooks in, itemized PAC-Bayes bounds out (docs/bounds.md).

* :mod:`.occam` — length priors m and Theorem 4.1's ``L·ln 2 − ln m(L)``;
* :mod:`.mixture` — the certified mixture term of Theorem 4.3 / docs/bounds.md;
* :mod:`.kl` — per-tensor and whole-model KL from a ``CodecReport`` or plain numbers;
* :mod:`.pacbayes` — kl-inverse and Catoni bounds;
* :mod:`.montecarlo` — upper bound on the stochastic training error from weight draws;
* :mod:`.limits` — Theorem 6.1's entropy lower bound;
* :mod:`.report` — :class:`BoundReport`, the itemized result.
"""
from .kl import KLReport, TensorKL, Term, assemble_kl, noise_robust_kl, occam_kl_report, tensor_kl
from .limits import EntropyLowerBound, entropy_lower_bound
from .mixture import MixtureKL, mixture_kl
from .montecarlo import MonteCarloBound, stochastic_error_upper
from .occam import EliasDeltaPrior, LengthPrior, UniformLengthPrior, length_prior, occam_kl
from .pacbayes import ALPHA, Catoni, binary_kl, catoni_bound, catoni_objective, kl_bound, kl_inverse_upper
from .report import BoundReport, ErrorBound, pac_bayes_report

__all__ = [
    "ALPHA", "BoundReport", "Catoni", "EliasDeltaPrior", "EntropyLowerBound", "ErrorBound", "KLReport", "LengthPrior",
    "MixtureKL", "MonteCarloBound", "TensorKL", "Term", "UniformLengthPrior", "assemble_kl", "binary_kl",
    "catoni_bound", "catoni_objective", "entropy_lower_bound", "kl_bound", "kl_inverse_upper", "length_prior",
    "mixture_kl", "noise_robust_kl", "occam_kl", "occam_kl_report", "pac_bayes_report", "stochastic_error_upper",
    "tensor_kl",
]
