"""``magnitude``: keep the largest ``|w|``, per tensor or globally.

One-shot, in the codec (:meth:`MagnitudePruner.masks`), or gradually during
training (:meth:`attach` then :meth:`update` each step) on the cubic schedule of
Zhu and Gupta (2017, eq. 1), pruning every ``frequency`` steps from ``begin``::

    d_t = d + (1 − d)(1 − (t − begin)/(end − begin))³,   d_t = d from ``end`` on

``begin = end`` prunes at once (then retrain). Masks act in the forward pass
(:class:`~pacbits.core.reparam.Mask`): pruned weights are exact zeros, get no
gradient and are never kept again. Steps count optimizer steps of a run of
``schedule_steps`` steps; a training phase of another length stretches them
(``schedule_steps = 0``: used as they are).
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pacbits.core import ConfigError, Pruner, TrainingTime, hookimpl
from pacbits.core import schedules

if TYPE_CHECKING:
    import torch


def keep_largest(scores: torch.Tensor, density: float) -> torch.Tensor:
    """Mask keeping the ``round(density * numel)`` largest scores (ties broken by position)."""
    import torch

    k = int(round(density * scores.numel()))
    mask = torch.zeros(scores.numel(), dtype=torch.bool)
    if k:
        mask[torch.topk(scores.reshape(-1), k, sorted=False).indices] = True
    return mask.reshape(scores.shape)


class MagnitudePruner(Pruner, TrainingTime):
    id = "magnitude"

    def __init__(self, density: float = 0.1, scope: str = "layer", begin: int = 0, end: int = 0,
                 frequency: int = 100, targets: str = "weights", schedule_steps: int = 0):
        if isinstance(density, bool) or not isinstance(density, (int, float)) or not 0.0 < float(density) <= 1.0:
            raise ConfigError(f"density must lie in (0, 1], got {density!r}")
        if scope not in ("layer", "global"):
            raise ConfigError(f"scope must be 'layer' or 'global', got {scope!r}")
        if isinstance(frequency, bool) or not isinstance(frequency, numbers.Integral) or frequency < 1:
            raise ConfigError(f"frequency must be an integer >= 1, got {frequency!r}")
        self.density, self.scope = float(density), scope
        self.begin, self.end = schedules.check_steps(begin, end)
        self.frequency = int(frequency)
        self.targets = schedules.check_targets(targets)
        self.schedule_steps = schedules.check_steps(0, schedule_steps)[1]

    def masks(self, weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return self.keep({n: w.detach().abs().float() for n, w in weights.items()}, self.density)

    def keep(self, scores: Mapping[str, torch.Tensor], density: float) -> dict[str, torch.Tensor]:
        """Keep the largest scores, per tensor or over all tensors together (``scope``)."""
        if self.scope == "layer":
            return {n: keep_largest(s, density) for n, s in scores.items()}
        import torch

        flat = torch.cat([s.reshape(-1) for s in scores.values()]) if scores else torch.zeros(0)
        mask = keep_largest(flat, density)
        out, start = {}, 0
        for n, s in scores.items():
            out[n] = mask[start : start + s.numel()].reshape(s.shape)
            start += s.numel()
        return out

    def scheduled_density(self, step: int) -> float:
        """``d_t`` held constant between pruning steps ``begin, begin + frequency, ...`` and ``end``."""
        if self.begin <= step < self.end:
            step = self.begin + (step - self.begin) // self.frequency * self.frequency
        return schedules.cubic_density(step, self.density, self.begin, self.end)

    def stretched(self, steps: int | None) -> "MagnitudePruner":
        """This pruner with ``begin``, ``end`` and ``frequency`` stretched from ``schedule_steps`` to ``steps``."""
        if steps is None or not self.schedule_steps or steps == self.schedule_steps:
            return self
        fit = lambda s: schedules.stretch(s, steps, self.schedule_steps)
        return MagnitudePruner.from_config({**self.get_config(), "begin": fit(self.begin), "end": fit(self.end),
                                            "frequency": max(1, fit(self.frequency)), "schedule_steps": 0})

    def attach(self, model: torch.nn.Module, steps: int | None = None) -> None:
        """Install a :class:`~pacbits.core.reparam.Mask` (all kept) on each target tensor."""
        from pacbits.core import reparam

        self.phase = self.stretched(steps)
        reparam.install(model, reparam.target_tensors(model, self.targets), lambda name, w: reparam.Mask(w.shape))

    def update(self, model: torch.nn.Module, step: int) -> bool:
        """Prune to ``scheduled_density(step)`` if the masks keep more; returns whether they changed."""
        import torch

        from pacbits.core import reparam

        masks = {n: (m, a, p) for n, (m, a, p) in reparam.installed(model, reparam.Mask).items() if type(p) is reparam.Mask}
        d = getattr(self, "phase", self).scheduled_density(step)
        kept = {n: int(p.mask.sum()) for n, (_, _, p) in masks.items()}
        numel = {n: p.mask.numel() for n, (_, _, p) in masks.items()}
        if self.scope == "layer":
            todo = [n for n in masks if kept[n] > round(d * numel[n])]
        else:
            todo = list(masks) if sum(kept.values()) > round(d * sum(numel.values())) else []
        if not todo:
            return False
        with torch.no_grad():
            # pruned weights score -1, below any kept |w|: masks only shrink
            scores = {n: reparam.original(masks[n][0], masks[n][1]).abs().float().masked_fill(~masks[n][2].mask, -1)
                      for n in todo}
            for n, new in self.keep(scores, d).items():
                masks[n][2].mask.copy_(new)
        return True


@hookimpl
def register_pruners():
    return [MagnitudePruner]
