"""Loading third-party plugins in isolation, and switching them off.

Each entry point of group ``pacbits`` is loaded on its own. One that fails to
import, repeats another's name, or (see :class:`~pacbits.core.registry.Registry`)
raises in a hook or claims an id already taken, is skipped with one
:class:`PluginWarning` naming the entry point, its distribution and the error,
and recorded as a :class:`Problem` (``pacbits plugins`` lists it as broken);
everything else keeps working.

Disabling, as pytest's ``-p no:NAME`` and ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``:
the environment variable ``PACBITS_DISABLE_PLUGINS`` (comma-separated entry-point
or distribution names, or ``*`` for every third-party plugin) and the
``disable`` argument of :func:`~pacbits.core.registry.make_registry` (the CLI's
``--disable-plugin NAME`` and ``--no-plugins``) skip plugins without importing
them. Built-in plugins cannot be disabled.
"""
from __future__ import annotations

import importlib.metadata
import os
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pluggy

ENV_DISABLE = "PACBITS_DISABLE_PLUGINS"
ALL = "*"


class PluginWarning(UserWarning):
    """A third-party plugin was skipped (it is broken or conflicts with another)."""


@dataclass(frozen=True)
class Problem:
    """A plugin that was skipped: ``status`` is "broken", "duplicate", "conflict" or "disabled"."""

    plugin: str  # entry-point (or registration) name
    distribution: str  # "name version", or "" if unknown
    status: str
    error: str

    def to_dict(self) -> dict:
        return asdict(self)

    def message(self) -> str:
        dist = f" ({self.distribution})" if self.distribution else ""
        return f"plugin {self.plugin!r}{dist}: {self.error}"


def one_line(e: BaseException) -> str:
    """An exception as ``Type: message`` on one line."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def report(problem: Problem, problems: list[Problem]) -> None:
    """Record a problem; warn unless the plugin was merely disabled."""
    problems.append(problem)
    if problem.status != "disabled":
        warnings.warn(problem.message(), PluginWarning, stacklevel=3)


def disabled(disable: Iterable[str] | None = None) -> set[str]:
    """Names to skip: from ``disable`` and ``$PACBITS_DISABLE_PLUGINS`` (``*`` stands for all)."""
    names = {n.strip() for n in os.environ.get(ENV_DISABLE, "").split(",") if n.strip()}
    return names | set(disable or ())


def _dist(ep) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else ""


def load_entry_points(pm: pluggy.PluginManager, group: str,
                      disable: Iterable[str] | None = None) -> tuple[dict[str, str], list[Problem]]:
    """Register every entry point of ``group`` that loads: (their names -> distributions, the others' problems)."""
    off = disabled(disable)
    loaded: dict[str, str] = {}
    problems: list[Problem] = []
    seen: dict[str, tuple[str, str]] = {}  # entry-point name -> (distribution, value)
    for ep in importlib.metadata.entry_points(group=group):
        dist = _dist(ep)
        dist_name = dist.split(" ")[0]
        if ep.name in seen:
            if seen[ep.name] != (dist, ep.value):  # the same distribution found twice on sys.path is one plugin
                report(Problem(ep.name, dist, "duplicate", f"entry point {ep.name!r} = {ep.value!r} repeats the name "
                               f"of {seen[ep.name][1]!r} ({seen[ep.name][0] or 'unknown distribution'}), loaded "
                               "first; skipped"), problems)
            continue
        seen[ep.name] = (dist, ep.value)
        if ALL in off or ep.name in off or dist_name in off:
            report(Problem(ep.name, dist, "disabled", f"disabled (${ENV_DISABLE} or --disable-plugin); skipped"), problems)
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except Exception as e:  # an import error, or anything the module raises on import
            report(Problem(ep.name, dist, "broken", f"entry point {ep.name!r} = {ep.value!r} failed to load "
                           f"({one_line(e)}); skipped"), problems)
            continue
        loaded[ep.name] = dist
    return loaded, problems
