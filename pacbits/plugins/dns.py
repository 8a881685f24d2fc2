"""``dns``: Dynamic Network Surgery (Guo, Yao and Chen 2016), a training-time pruner.

Per tensor, with a threshold ``t`` and hysteresis ``h``, ``a = (1 − h)·t < b = (1 + h)·t``
(DNS eq. 3)::

    m ← 0 where |W| < a,   1 where |W| > b,   unchanged where a <= |W| <= b

``t = mean|W| + c·std|W|`` with ``c`` a piecewise-constant schedule (the paper's
LeNet-5 run: 0 rising to 4, Appendix B.1), or, when a target ``density`` is set,
``t`` is the ``(1 − d_t)``-quantile of ``|W|`` (between the k-th and (k+1)-th largest) with ``d_t`` ramping from 1 to the
target on Zhu and Gupta's cubic schedule (Appendix B.2). With ``hysteresis=0``
the quantile rule keeps exactly ``round(d_t·numel)`` weights (ties aside).

Masks act in the forward pass (:class:`~pacbits.core.reparam.SurgeryMask`); the
gradient reaches the dense weights unmasked, so pruned weights keep learning and
are spliced back when they grow past ``b``. Masks are updated with probability
``p(step)``, a piecewise-constant schedule (the paper's decays from 1 to 1e-3).

Steps (``begin``, ``end``, ``prob``) count optimizer steps of a run of
``schedule_steps`` steps; a training phase of another length stretches them to fit
(``schedule_steps = 0``: they are used as they are).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from pacbits.core import ConfigError, Pruner, TrainingTime, hookimpl
from pacbits.core import schedules

if TYPE_CHECKING:
    import torch

NO_END = 2**62


def check_density(density: float | Mapping | None):
    """A density in (0, 1], a dict of them by tensor name, or None."""
    if density is None:
        return None
    items = density.items() if isinstance(density, Mapping) else [("density", density)]
    for name, d in items:
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0.0 < float(d) <= 1.0:
            raise ConfigError(f"density for {name!r} must lie in (0, 1], got {d!r}")
    return {str(n): float(d) for n, d in density.items()} if isinstance(density, Mapping) else float(density)


def dns_rule(w_abs: torch.Tensor, mask: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """DNS eq. 3: drop where ``|W| < a``, splice where ``|W| > b``, keep the mask in between."""
    return (w_abs > b) | (mask & (w_abs >= a))


def quantile_threshold(w_abs: torch.Tensor, k: int) -> float:
    """Midpoint between the k-th and (k+1)-th largest entries: exactly k entries exceed it (no ties)."""
    if k >= w_abs.numel():
        return float("-inf")
    if k <= 0:
        return float("inf")
    import torch

    top = torch.topk(w_abs.reshape(-1), k + 1).values
    return float((top[k - 1] + top[k]) / 2)


class DNSPruner(Pruner, TrainingTime):
    id = "dns"
    one_shot = False

    def __init__(self, density: float | dict | None = None, std_multiple=((0, 0.0),), hysteresis: float = 0.1,
                 prob=((0, 1.0),), begin: int = 0, end: int = 0, targets: str = "weights", seed: int = 0,
                 schedule_steps: int = 0):
        self.density = check_density(density)
        self.std_multiple = schedules.check_schedule("std_multiple", std_multiple, -1e9, 1e9)
        if not 0.0 <= float(hysteresis) < 1.0:
            raise ConfigError(f"hysteresis must lie in [0, 1), got {hysteresis}")
        self.hysteresis = float(hysteresis)
        self.prob = schedules.check_schedule("prob", prob, 0.0, 1.0)
        self.begin, self.end = schedules.check_steps(begin, end)
        self.targets = schedules.check_targets(targets)
        self.seed = int(seed)
        self.schedule_steps = schedules.check_steps(0, schedule_steps)[1]

    def density_of(self, name: str) -> float | None:
        """Target density of a tensor (None: std rule; 1.0: a tensor a density dict leaves out)."""
        if isinstance(self.density, dict):
            return self.density.get(name, 1.0)
        return self.density

    def thresholds(self, name: str, w_abs: torch.Tensor, step: int) -> tuple[float, float]:
        """``(a, b)`` for one tensor at ``step``."""
        d = self.density_of(name)
        if d is None:
            t = float(w_abs.mean() + schedules.piecewise(self.std_multiple, step) * w_abs.std(correction=0))
        else:
            t = quantile_threshold(w_abs, round(schedules.cubic_density(step, d, self.begin, self.end) * w_abs.numel()))
        return (1 - self.hysteresis) * t, (1 + self.hysteresis) * t

    def masks(self, weights: Mapping[str, torch.Tensor], current: Mapping[str, torch.Tensor] | None = None,
              step: int = NO_END) -> dict[str, torch.Tensor]:
        """The DNS rule applied to ``current`` masks (default: all kept) at ``step`` (default: schedule end)."""
        import torch

        out = {}
        for name, w in weights.items():
            w_abs = w.detach().abs().float()
            mask = torch.ones_like(w_abs, dtype=torch.bool) if current is None else current[name]
            out[name] = dns_rule(w_abs, mask, *self.thresholds(name, w_abs, step))
        return out

    def stretched(self, steps: int | None) -> "DNSPruner":
        """This pruner with ``begin``, ``end`` and ``prob`` stretched from ``schedule_steps`` to ``steps``."""
        if steps is None or not self.schedule_steps or steps == self.schedule_steps:
            return self
        fit = lambda s: schedules.stretch(s, steps, self.schedule_steps)
        return DNSPruner.from_config({**self.get_config(), "begin": fit(self.begin), "end": fit(self.end),
                                      "prob": schedules.stretch_schedule(self.prob, steps, self.schedule_steps),
                                      "schedule_steps": 0})

    def attach(self, model: torch.nn.Module, steps: int | None = None) -> None:
        """Install a :class:`~pacbits.core.reparam.SurgeryMask` (all kept) on each target tensor."""
        from pacbits.core import reparam

        self.phase = self.stretched(steps)
        tensors = reparam.target_tensors(model, self.targets)
        if isinstance(self.density, dict):
            unknown = sorted(set(self.density) - set(tensors))
            if unknown:
                raise ConfigError(f"density names {unknown} are not target tensors of the model; "
                                  f"targets ({self.targets!r}): {sorted(tensors)}")
            tensors = {n: t for n, t in tensors.items() if n in self.density}
        reparam.install(model, tensors, lambda name, w: reparam.SurgeryMask(w.shape))

    def update(self, model: torch.nn.Module, step: int) -> bool:
        """With probability ``p(step)`` (one coin per step, seeded by ``(seed, step)``), apply the rule.

        Returns whether the masks were updated.
        """
        import torch

        from pacbits.core import reparam

        phase = getattr(self, "phase", self)
        prob = schedules.piecewise(phase.prob, step)
        if prob < 1.0 and np.random.default_rng([self.seed, step]).random() >= prob:
            return False
        masks = reparam.installed(model, reparam.SurgeryMask)
        with torch.no_grad():
            weights = {n: reparam.original(m, a) for n, (m, a, _) in masks.items()}
            new = phase.masks(weights, {n: p.mask for n, (_, _, p) in masks.items()}, step)
            for n, (_, _, p) in masks.items():
                p.mask.copy_(new[n])
        return True


@hookimpl
def register_pruners():
    return [DNSPruner]
