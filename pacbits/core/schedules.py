"""Schedules and settings checks of training-time pruners and quantizers (docs/pruning.md).

Plain Python, no torch: a component checks its settings when it is built, and listing
or building components loads no torch; :mod:`pacbits.core.reparam` holds what needs it.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence

from .errors import ConfigError

TARGETS = ("weights", "floating")


def check_targets(targets: str) -> str:
    if targets not in TARGETS:
        raise ConfigError(f"targets must be one of {TARGETS}, got {targets!r}")
    return targets


def check_schedule(name: str, schedule, lo: float, hi: float) -> list[list]:
    """Validate a piecewise-constant schedule ``[[start_step, value], ...]`` (starts strictly increasing)."""
    try:
        pairs = [[int(s), float(v)] for s, v in schedule]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a list of [step, value] pairs, got {schedule!r}") from None
    if not pairs:
        raise ConfigError(f"{name} needs at least one [step, value] pair")
    starts = [s for s, _ in pairs]
    if starts[0] < 0 or any(b <= a for a, b in zip(starts, starts[1:])):
        raise ConfigError(f"{name}: steps must be >= 0 and strictly increasing, got {starts}")
    bad = [v for _, v in pairs if not lo <= v <= hi]
    if bad:
        raise ConfigError(f"{name}: values must lie in [{lo}, {hi}], got {bad}")
    return pairs


def piecewise(schedule: Sequence[Sequence], step: int) -> float:
    """Value of the last ``[start, value]`` pair with ``start <= step`` (the first value before it)."""
    value = schedule[0][1]
    for start, v in schedule:
        if start > step:
            break
        value = v
    return float(value)


def check_steps(begin, end) -> tuple[int, int]:
    """Integers ``0 <= begin <= end`` (a schedule's first and last step)."""
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in (begin, end)) or not 0 <= begin <= end:
        raise ConfigError(f"need integers 0 <= begin <= end, got begin={begin!r}, end={end!r}")
    return int(begin), int(end)


def cubic_density(step: int, final: float, begin: int, end: int) -> float:
    """Zhu & Gupta (2017) eq. 1 as a density: ``d_t = d + (1 − d)(1 − (t − t₀)/(t₁ − t₀))³``.

    1 before ``begin``, ``final`` from ``end`` on (at once if ``end <= begin``).
    """
    if step < begin:
        return 1.0
    if step >= end:
        return float(final)
    return final + (1.0 - final) * (1.0 - (step - begin) / (end - begin)) ** 3


def stretch(step: int, steps: int, schedule_steps: int) -> int:
    """A schedule's ``step``, written for a run of ``schedule_steps`` steps, in a phase of ``steps`` (0: as is)."""
    return int(step) if not schedule_steps else int(step) * int(steps) // int(schedule_steps)


def stretch_schedule(schedule: Sequence[Sequence], steps: int, schedule_steps: int) -> list[list]:
    """A piecewise-constant schedule with :func:`stretch`-ed starts; of pairs that land on one step the last wins."""
    out: dict[int, float] = {}
    for start, value in schedule:
        out[stretch(start, steps, schedule_steps)] = value
    return [[s, v] for s, v in sorted(out.items())]
