"""``certify``: the bound on the test error of any trained network, from its real bitstream.

Compress the model's ``state_dict`` with a codec, decode the bitstream into a copy of
the model, evaluate the *decoded* network on the training set, optionally search the
posterior noise σ and estimate the stochastic training error by Monte Carlo, and
bound (docs/architecture.md, "certify"):

* Occam (Theorem 4.1): ``KL = L ln 2 − ln m(L)`` for the ``L``-bit stream, the decoded network's error;
* with ``noise``: also the noise-robust bound (Theorem 4.3) on the stochastic network,
  with the confidence split evenly between the two (union bound) and the smaller reported.

Evaluation is sharded over ``torch.distributed`` processes when a process group is
initialized (:mod:`pacbits.shards`), with exactly the counts of one process.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from pacbits import shards
from pacbits.codecs import DEFAULT_CODEC
from pacbits.core import Codec, CodecReport, CodecSpec, ConfigError, Registry, decompress, default_registry
from pacbits.core.bounds import BoundReport, noise_robust_kl, occam_kl_report, pac_bayes_report
from pacbits.data import Dataset
from pacbits.loading import as_dataset
from pacbits.loading import device as as_device

#: σ search and Monte Carlo settings of ``noise=True`` (those of ``reproduce lenet5 --quick``)
NOISE = {"tolerance": 0.005, "search_examples": 2000, "search_steps": 3, "batch_size": 50, "passes": 1}
LAMBDA_GRID = (1e-3, 1.0, 32)  # geomspace(lo, hi, G) x each coded codebook's range
SEEDS = {"search": 4, "draws": 5}


def lambda_grids(report: CodecReport, lambda_grid: Sequence = LAMBDA_GRID) -> dict[str, np.ndarray]:
    """Prior scales per coded tensor, fixed in advance relative to its coded codebook's range (docs/bounds.md)."""
    lo, hi, g = lambda_grid
    grid = np.geomspace(lo, hi, int(g))
    return {t.name: max(float(np.ptp(t.codebook.astype(np.float64))), 1e-12) * grid
            for t in report.tensors if t.coded and t.r}


def certified_bounds(report: CodecReport, sigma: Mapping[str, float] | None, train_error: float,
                     draws: Sequence[float] | None, n: int, *, confidence: float = 0.95,
                     lambda_grid: Sequence = LAMBDA_GRID) -> dict:
    """Occam bound of the decoded network; with ``sigma`` and ``draws`` also the noise-robust one.

    With both, each is computed at confidence ``1 − (1 − confidence)/2`` so that both hold together
    with probability ``>= confidence`` (union bound), and the smaller is reported.
    """
    if sigma is None:
        occam = pac_bayes_report(occam_kl_report(report.total_bits), n, {"top-1": train_error}, confidence=confidence)
        return {"occam": occam, "robust": None, "bound": occam.bound, "reported": "Occam (Theorem 4.1)",
                "statement": f"The bound holds with probability >= {confidence:g} over the training sample."}
    half = 1 - (1 - confidence) / 2
    occam = pac_bayes_report(occam_kl_report(report.total_bits), n, {"top-1": train_error}, confidence=half)
    sig = {t.name: sigma.get(t.name) for t in report.tensors if t.coded}
    robust_kl = noise_robust_kl(report, sig, lambda_grids(report, lambda_grid))
    robust = pac_bayes_report(robust_kl, n, {"top-1": np.asarray(draws)}, confidence=half)
    best = min((occam, robust), key=lambda r: r.bound)
    return {"occam": occam, "robust": robust, "bound": best.bound,
            "reported": "noise-robust (Theorem 4.3)" if best is robust else "Occam (Theorem 4.1)",
            "statement": f"Both bounds hold together with probability >= {confidence:g}: each was computed "
                         f"at confidence {half:g} (union bound), and the smaller is reported."}


@dataclass
class CertifyReport:
    """What :func:`certify` measured and proved; ``data`` is the bitstream the bound is about."""

    codec: CodecSpec
    n: int
    train_errors: int  # misclassified training examples of the decoded network
    bits: CodecReport
    occam: BoundReport
    robust: BoundReport | None
    bound: float
    reported: str
    statement: str
    data: bytes = field(repr=False)
    test_error: float | None = None
    sigma: dict | None = None
    draws: np.ndarray | None = field(default=None, repr=False)
    processes: int = 1
    device: str = "cpu"

    @property
    def train_error(self) -> float:
        return self.train_errors / self.n

    def to_dict(self) -> dict:
        d = {"codec": self.codec.to_dict(), "n": self.n, "train_errors": self.train_errors,
             "train_error": self.train_error, "test_error": self.test_error,
             "compressed_bits": self.bits.total_bits, "bound": self.bound, "bound_reported": self.reported,
             "statement": self.statement, "occam_bound": self.occam.bound,
             "noise_robust_bound": self.robust.bound if self.robust else None,
             "effective_bits": self.robust.kl.bits if self.robust else None,
             "sigma": self.sigma, "monte_carlo_draws": None if self.draws is None else len(self.draws),
             "stochastic_train_error": None if self.draws is None else float(np.mean(self.draws)),
             "processes": self.processes, "device": self.device,
             "bits": self.bits.to_dict(), "occam_report": self.occam.to_dict(),
             "noise_robust_report": self.robust.to_dict() if self.robust else None}
        return d

    def table(self) -> str:
        lines = [self.bits.table(), "", (self.robust or self.occam).table(), ""]
        test = "" if self.test_error is None else f", test error {100 * self.test_error:.2f} %"
        lines.append(f"decoded network: train error {100 * self.train_error:.4f} % "
                     f"({self.train_errors} of {self.n}){test}")
        if self.draws is not None:
            lines.append(f"stochastic network: train error {100 * float(np.mean(self.draws)):.4f} % "
                         f"(mean of {len(self.draws)} Monte Carlo draws)")
        lines.append(f"bound {100 * self.bound:.2f} % ({self.reported}; Occam {100 * self.occam.bound:.2f} %). "
                     f"{self.statement}")
        return "\n".join(lines)


def certify(model: nn.Module, train_data: "Dataset | tuple", codec: "str | CodecSpec | Mapping | Codec" = DEFAULT_CODEC,
            *, noise: bool = False, confidence: float = 0.95, seed: int = 0, device: str = "cpu",
            passes: int = NOISE["passes"], registry: Registry | None = None) -> CertifyReport:
    """Code ``model`` with ``codec``, evaluate the decoded network on ``train_data``, and bound its test error.

    ``train_data``: a :class:`~pacbits.data.Dataset` (its training split is the sample; its test
    split gives ``test_error``) or tensors ``(x, y)``. ``codec``: a preset id, a spec or a
    :class:`Codec`. ``noise``: also search σ and bound the stochastic network (Theorem 4.3);
    ``passes`` noisy passes over the training set give ``passes·N/50`` Monte Carlo draws.
    """
    reg = registry or default_registry()
    codec = codec if isinstance(codec, Codec) else Codec.from_spec(codec, reg)
    if not isinstance(model, nn.Module):
        raise ConfigError(f"certify needs a torch.nn.Module, got {type(model).__name__}")
    data = train_data if isinstance(train_data, Dataset) else as_dataset(train_data, "train_data")
    has_test = isinstance(train_data, Dataset)
    dev = as_device(device)
    rank, size = shards.world()

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    packed = codec.compress(state)
    decoded = copy.deepcopy(model).cpu()
    try:
        decoded.load_state_dict(decompress(packed.data, reg))
    except RuntimeError as e:
        raise ConfigError(f"the decoded state_dict does not fit the model: {' '.join(str(e).split())}") from None
    decoded.to(dev)
    n = len(data.train_y)
    wrong = shards.error_count(decoded, data.train_x, data.train_y)
    test_error = shards.error_count(decoded, data.test_x, data.test_y) / len(data.test_y) if has_test else None
    sigma = draws = None
    if noise:
        from pacbits.stochastic import search_sigma

        if n % NOISE["batch_size"]:
            raise ConfigError(f"noise needs a training set that splits into Monte Carlo batches of "
                              f"{NOISE['batch_size']}; it has {n} examples")
        k = min(NOISE["search_examples"], n)
        sigma = shards.broadcast(search_sigma(decoded, data.train_x[:k], data.train_y[:k],
                                              tolerance=NOISE["tolerance"], steps=NOISE["search_steps"],
                                              seed=seed + SEEDS["search"]) if rank == 0 else None)
        draws = shards.noisy_batch_errors(decoded, data.train_x, data.train_y, sigma, batch_size=NOISE["batch_size"],
                                          passes=passes, seed=seed + SEEDS["draws"])
    b = certified_bounds(packed.report, sigma, wrong / n, draws, n, confidence=confidence)
    return CertifyReport(codec.spec(), n, wrong, packed.report, b["occam"], b["robust"], b["bound"], b["reported"],
                         b["statement"], packed.data, test_error, sigma, draws, size, str(dev))
