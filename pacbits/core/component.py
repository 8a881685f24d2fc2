"""Base of every plugin component: a stable id and a JSON-safe config (numcodecs convention).

``get_config()`` returns ``{"id": ..., **init_kwargs}``; ``from_config(cfg)`` rebuilds
the component. A subclass keeps each ``__init__`` argument as an attribute of the
same name, so the base class can read the config back.

``from_config`` checks each setting against the type of its ``__init__``
default before the constructor sees it (a bool default takes only ``true`` or
``false``, an int default only integers, a float default finite numbers, a str
default strings, a tuple default lists), so a config from a command line or a
bitstream fails with :class:`ConfigError`, not inside the component.
"""
from __future__ import annotations

import functools
import importlib.metadata
import inspect
import json
import math
from typing import Any, ClassVar

from .errors import ConfigError


class Component:
    id: ClassVar[str] = ""
    kind: ClassVar[str] = ""

    def get_config(self) -> dict[str, Any]:
        params = inspect.signature(type(self).__init__).parameters
        cfg = {"id": self.id}
        for name, p in params.items():
            if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            cfg[name] = getattr(self, name)
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        cfg = dict(config)
        cid = cfg.pop("id", cls.id)
        if cid != cls.id:
            raise ConfigError(f"config is for {cid!r}, not {cls.id!r}")
        params = inspect.signature(cls.__init__).parameters
        for name, value in cfg.items():
            if name in params:
                _check_type(cls, name, value, params[name].default)
        try:
            return cls(**cfg)
        except (TypeError, ValueError, OverflowError) as e:  # ConfigError is a ValueError
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(f"bad config for {cls.kind} {cls.id!r}: {e}") from None

    def config_json(self) -> str:
        """Canonical JSON of the config: the same component always gives the same bytes."""
        return json.dumps(self.get_config(), sort_keys=True, separators=(",", ":"))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "id")
        return f"{type(self).__name__}({args})"


@functools.lru_cache(maxsize=None)
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def origin(obj) -> str:
    """Where a class (or module name) comes from: ``"pacbits 0.1.0"`` (its distribution), else its module."""
    module = obj if isinstance(obj, str) else obj.__module__
    for dist in _distributions().get(module.split(".")[0], []):
        try:
            return f"{dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return f"module {module}"


def describe(component) -> str:
    """A component (or its class) for error messages: ``coder 'huffman' (HuffmanCoder, pacbits 0.1.0)``."""
    cls = component if isinstance(component, type) else type(component)
    return f"{cls.kind or 'component'} {cls.id!r} ({cls.__qualname__}, {origin(cls)})"


def _check_type(cls, name: str, value, default) -> None:
    """Refuse ``value`` unless it has the JSON type of ``default`` (None and dict defaults: anything)."""
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, want = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        want = "a finite number"
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "a string"
    elif isinstance(default, (tuple, list)):
        ok, want = isinstance(value, (tuple, list)), "a list"
    else:
        return
    if not ok:
        raise ConfigError(f"{cls.kind} {cls.id!r}: {name} must be {want}, got {value!r}")


def parameters(cls: type) -> dict[str, Any]:
    """A component class's settings and their defaults (``None`` where there is no default)."""
    params = inspect.signature(cls.__init__).parameters
    return {n: (None if p.default is p.empty else p.default) for n, p in params.items()
            if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
