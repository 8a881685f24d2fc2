"""Label randomization (paper §6, after Zhang et al. 2017)."""
from __future__ import annotations

import torch

from pacbits.core import ConfigError


def randomize_labels(labels: torch.Tensor, fraction: float, num_classes: int, seed: int) -> torch.Tensor:
    """Replace exactly ``round(fraction * n)`` labels, chosen at random, by classes drawn uniformly from all ``num_classes``.

    As in Zhang et al. (2017) and the paper's section 6, a replaced label may by chance
    equal the true one (probability ``1/num_classes``), so 100 % random labels carry no
    information about the true class. Deterministic given ``seed``; the input is not modified.
    """
    if not isinstance(fraction, (int, float)) or not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"fraction must be a number in [0, 1], got {fraction!r}")
    if num_classes < 2:
        raise ConfigError(f"num_classes must be >= 2, got {num_classes}")
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise ConfigError(f"labels must be a 1-D integer tensor, got {labels.dtype} of shape {tuple(labels.shape)}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ConfigError(f"labels must lie in [0, {num_classes})")
    g = torch.Generator().manual_seed(seed)
    n = labels.numel()
    chosen = torch.randperm(n, generator=g)[: round(fraction * n)]
    out = labels.clone().long()
    out[chosen] = torch.randint(0, num_classes, (chosen.numel(),), generator=g)
    return out.to(labels.dtype)
