"""``magnitude``: one-shot magnitude pruning to a target density, per tensor or global."""
from __future__ import annotations

from collections.abc import Mapping

import torch

from pacbits.core import ConfigError, Pruner, hookimpl


def keep_largest(scores: torch.Tensor, density: float) -> torch.Tensor:
    """Mask keeping the ``round(density * numel)`` largest scores (ties broken by position)."""
    k = int(round(density * scores.numel()))
    mask = torch.zeros(scores.numel(), dtype=torch.bool)
    if k:
        mask[torch.topk(scores.reshape(-1), k, sorted=False).indices] = True
    return mask.reshape(scores.shape)


class MagnitudePruner(Pruner):
    id = "magnitude"

    def __init__(self, density: float = 0.1, scope: str = "layer"):
        if not 0.0 <= float(density) <= 1.0:
            raise ConfigError(f"density must lie in [0, 1], got {density}")
        if scope not in ("layer", "global"):
            raise ConfigError(f"scope must be 'layer' or 'global', got {scope!r}")
        self.density, self.scope = float(density), scope

    def masks(self, weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.scope == "layer":
            return {n: keep_largest(w.detach().abs().float(), self.density) for n, w in weights.items()}
        flat = torch.cat([w.detach().abs().float().reshape(-1) for w in weights.values()]) if weights else torch.zeros(0)
        mask = keep_largest(flat, self.density)
        out, start = {}, 0
        for n, w in weights.items():
            out[n] = mask[start : start + w.numel()].reshape(w.shape)
            start += w.numel()
        return out


@hookimpl
def register_pruners():
    return [MagnitudePruner]
