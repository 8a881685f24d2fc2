"""The stochastic network of Theorem 4.3 (paper §4.1 and §5): ``ρ = N(w, σ_t² J)`` on the kept weights.

Each named tensor ``t`` gets independent ``N(0, σ_t²)`` noise on its kept (nonzero)
weights only (``J_ii = 1`` iff ``i ∈ S``); pruned weights stay exact zeros and
tensors without a ``σ`` are left alone. Every draw is fresh noise, evaluated on the
whole data set given; :func:`sample_errors` returns the per-draw error rates, the
Monte Carlo sample the bound engine upper-bounds ``L̂(ρ)`` with.

Choosing σ: a PAC-Bayes bound holds for every posterior at once, so ``σ_t`` may be
chosen by looking at the training data (:func:`search_sigma`), provided the
stochastic error in the bound is that of the *same* ``σ``. That error must come
from draws independent of the search, or the Monte Carlo correction is biased by
the selection: pass :func:`sample_errors` a ``seed`` the search did not use. (The
prior scale λ, unlike σ, is paid for: docs/bounds.md.) Models here are plain: bake
masks and codebooks first (:func:`pacbits.core.reparam.bake` or ``detach``).
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from pacbits.core import ConfigError
from pacbits.evaluate import error_rate


def _params(model: nn.Module, names) -> dict[str, nn.Parameter]:
    params = dict(model.named_parameters())
    unknown = sorted(set(names) - set(params))
    if unknown:
        raise ConfigError(f"tensors {unknown} are not parameters of the model (a model carrying masks or "
                          f"codebooks must be baked first); parameters: {sorted(params)}")
    return {n: params[n] for n in sorted(names)}


def kept_range(w: torch.Tensor) -> float:
    """``max − min`` of the kept (nonzero) entries; 0 if none is kept."""
    kept = w[w != 0]
    return float(kept.max() - kept.min()) if kept.numel() else 0.0


def absolute_sigma(model: nn.Module, relative: Mapping[str, float]) -> dict[str, float]:
    """``σ_t = s_t · (max − min of tensor t's kept weights)``; the paper's LeNet-5 used ``s_t = 0.05``."""
    params = _params(model, relative)
    return {n: float(relative[n]) * kept_range(p.detach()) for n, p in params.items()}


@contextmanager
def perturbed(model: nn.Module, sigma: Mapping[str, float], generator: torch.Generator) -> Iterator[nn.Module]:
    """Add ``N(0, σ_t²)`` noise to the kept weights of each named tensor; restore them exactly on exit."""
    bad = {n: s for n, s in sigma.items() if not (math.isfinite(s) and s >= 0)}
    if bad:
        raise ConfigError(f"noise scales must be finite and >= 0, got {bad}")
    params = _params(model, sigma)
    saved = {n: p.detach().clone() for n, p in params.items()}
    try:
        with torch.no_grad():
            for n, p in params.items():
                noise = torch.randn(p.shape, generator=generator).to(p.device)
                p.add_(noise.mul_(sigma[n]).masked_fill_(saved[n] == 0, 0))
        yield model
    finally:
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(saved[n])


def sample_errors(model: nn.Module, x: torch.Tensor, y: torch.Tensor, sigma: Mapping[str, float], *,
                  draws: int, seed: int = 0, topk: int = 1, batch_size: int = 1000) -> np.ndarray:
    """Error rate on ``(x, y)`` of each of ``draws`` independent noisy copies of the model (float64, per draw)."""
    if draws < 1:
        raise ConfigError(f"draws must be >= 1, got {draws}")
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(draws):
        with perturbed(model, sigma, gen):
            out.append(error_rate(model, x, y, topk=topk, batch_size=batch_size))
    return np.array(out, dtype=np.float64)


def search_sigma(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, tolerance: float,
                 names: list[str] | None = None, lo: float = 1e-3, hi: float = 0.5, steps: int = 8,
                 draws: int = 2, joint: bool = True, seed: int = 0, topk: int = 1,
                 batch_size: int = 1000) -> dict[str, float]:
    """Largest ``σ_t`` per tensor whose mean error over ``draws`` is at most the noise-free error + ``tolerance``.

    Per tensor, the others noise-free: bisection on ``log s`` over ``[lo, hi]`` for ``s = σ_t / range_t``
    (:func:`kept_range`), ``steps`` halvings, the same noise seed at every trial (common random
    numbers, so the error is a smoother function of σ). ``0`` if ``s = lo`` already fails. With
    ``joint``, all ``σ_t`` are then scaled by the largest factor (bisection, ``steps`` halvings) whose
    *joint* noise stays within the tolerance. Returns absolute ``σ_t``. See the module note on
    measuring the bound's stochastic error with fresh draws.
    """
    if not (tolerance >= 0 and 0 < lo <= hi and steps >= 0):
        raise ConfigError(f"need tolerance >= 0 and 0 < lo <= hi, got tolerance={tolerance}, lo={lo}, hi={hi}")
    if names is None:
        names = [n for n, p in model.named_parameters() if p.dim() >= 2 and bool((p != 0).any())]
    ranges = {n: kept_range(p.detach()) for n, p in _params(model, names).items()}
    limit = error_rate(model, x, y, topk=topk, batch_size=batch_size) + tolerance

    def ok(sigma: dict[str, float]) -> bool:
        errs = sample_errors(model, x, y, sigma, draws=draws, seed=seed, topk=topk, batch_size=batch_size)
        return float(errs.mean()) <= limit

    best = {}
    for n, r in ranges.items():
        if ok({n: hi * r}):
            best[n] = hi * r
            continue
        good, bad = 0.0, hi
        if ok({n: lo * r}):
            good = lo
            for _ in range(steps):
                mid = math.sqrt(good * bad)
                good, bad = (mid, bad) if ok({n: mid * r}) else (good, mid)
        best[n] = good * r
    if joint and not ok(best):
        good, bad = 0.0, 1.0
        for _ in range(steps):
            mid = (good + bad) / 2
            good, bad = (mid, bad) if ok({n: mid * s for n, s in best.items()}) else (good, mid)
        best = {n: good * s for n, s in best.items()}
    return best


def batch_errors(model: nn.Module, x: torch.Tensor, y: torch.Tensor, sigma: Mapping[str, float], *,
                 batch_size: int = 10, passes: int = 1, seed: int = 0, topk: int = 1) -> np.ndarray:
    """Error rate of each mini-batch under its own fresh noise draw, over ``passes`` passes of ``(x, y)``.

    The batches of a pass partition the data into equal parts, so their rates are
    independent [0, 1] variables whose means average to the stochastic error ``L̂(ρ)``:
    the bound engine's Monte Carlo correction (Hoeffding) applies with
    ``m = passes * N / batch_size`` draws, far more than :func:`sample_errors` gives for
    the same compute, so the upper bound on ``L̂(ρ)`` is much tighter. The order of
    examples is shuffled each pass (seeded).
    """
    n = x.shape[0]
    if batch_size < 1 or n % batch_size or passes < 1:
        raise ConfigError(f"batch_size must divide the {n} examples and passes must be >= 1, "
                          f"got batch_size={batch_size}, passes={passes}")
    params = _params(model, sigma)
    gen = torch.Generator().manual_seed(seed)
    kept = {name: (p.detach().reshape(-1) != 0).nonzero().reshape(-1) for name, p in params.items()}
    saved = {name: p.detach().clone() for name, p in params.items()}
    dev = next(model.parameters(), torch.empty(0)).device
    was_training = model.training
    model.eval()
    rates = []
    try:
        with torch.no_grad():
            for _ in tqdm(range(passes), desc="noisy passes", leave=False):
                order = torch.randperm(n, generator=gen)
                for i in range(0, n, batch_size):
                    for name, p in params.items():
                        flat = p.view(-1)
                        idx = kept[name]
                        noise = torch.randn(idx.numel(), generator=gen).to(dev)
                        flat[idx] = saved[name].view(-1)[idx] + sigma[name] * noise
                    batch = order[i:i + batch_size]
                    top = model(x[batch].to(dev)).topk(topk, dim=1).indices
                    rates.append(int((top != y[batch].to(dev).unsqueeze(1)).all(dim=1).sum()) / batch_size)
    finally:
        with torch.no_grad():
            for name, p in params.items():
                p.copy_(saved[name])
        model.train(was_training)
    return np.array(rates, dtype=np.float64)
