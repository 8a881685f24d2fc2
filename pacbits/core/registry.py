"""The plugin manager: collects components from pluggy hooks into id -> class tables.

``make_registry()`` builds a fresh one (tests need isolation); ``default_registry()``
is built lazily once and serves ordinary use. Built-in plugins are registered
through the same hooks a third-party plugin uses.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Iterable

import pluggy

from . import hookspecs
from .catalog import DatasetSpec, ModelSpec
from .errors import ConfigError, PluginError, UnknownComponentError
from .interfaces import Coder, Pruner, Quantizer

KINDS = {"pruner": Pruner, "quantizer": Quantizer, "coder": Coder}
_HOOKS = {"pruner": "register_pruners", "quantizer": "register_quantizers", "coder": "register_coders"}
SPEC_KINDS = ("codec", "model", "dataset")


def _spec_hooks() -> dict[str, tuple[str, type]]:
    """Kinds registered as spec objects rather than classes: kind -> (hook, spec type)."""
    from .codec import CodecSpec  # codec imports registry

    return {"codec": ("register_codecs", CodecSpec), "model": ("register_models", ModelSpec),
            "dataset": ("register_datasets", DatasetSpec)}


@dataclass(frozen=True)
class Entry:
    kind: str
    id: str
    obj: Any  # a component class, or a CodecSpec / ModelSpec / DatasetSpec
    plugin: str  # name under which the plugin was registered
    package: str  # top-level package that defines it


#: The modules that hold pacbits' own hook implementations, registered like third-party plugins.
#: Helper modules (bit fields, gap coding, histograms) are not plugins and are not listed.
BUILTIN_PLUGINS = (
    "pacbits.plugins.csr_arithmetic",
    "pacbits.plugins.dns",
    "pacbits.plugins.fixed",
    "pacbits.plugins.huffman",
    "pacbits.plugins.kmeans",
    "pacbits.plugins.magnitude",
    "pacbits.plugins.paper2019",
    "pacbits.plugins.structured",
    "pacbits.codecs.presets",
    "pacbits.plugins.models",
    "pacbits.plugins.datasets",
)


def builtin_plugins() -> list:
    """The modules of :data:`BUILTIN_PLUGINS`, imported."""
    return [importlib.import_module(name) for name in BUILTIN_PLUGINS]


class Registry:
    """Components by kind and id, collected from a pluggy plugin manager."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm
        self.entries: dict[str, dict[str, Entry]] = {k: {} for k in (*KINDS, *SPEC_KINDS)}
        for kind, hook in _HOOKS.items():
            for plugin, items in self._call(hook):
                for cls in items:
                    if not (isinstance(cls, type) and issubclass(cls, KINDS[kind])):
                        raise PluginError(
                            f"plugin {plugin!r}: {hook} returned {cls!r}, which is not a subclass of {KINDS[kind].__name__}"
                        )
                    if getattr(cls, "__abstractmethods__", None):
                        missing = ", ".join(sorted(cls.__abstractmethods__))
                        raise PluginError(f"plugin {plugin!r}: {kind} {cls.__name__} does not implement {missing}")
                    self._add(Entry(kind, cls.id, cls, plugin, cls.__module__.split(".")[0]))
        for kind, (hook, spec_type) in _spec_hooks().items():
            for plugin, items in self._call(hook):
                for spec in items:
                    if not isinstance(spec, spec_type):
                        raise PluginError(f"plugin {plugin!r}: {hook} returned {spec!r}, not a {spec_type.__name__}")
                    self._add(Entry(kind, spec.id, spec, plugin, self._package_of(plugin)))

    def _call(self, hook: str) -> Iterable[tuple[str, list]]:
        """Call each implementation on its own so a failure names its plugin."""
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            try:
                result = impl.function()
            except Exception as e:
                raise PluginError(f"plugin {impl.plugin_name!r}: hook {hook} raised {type(e).__name__}: {e}") from e
            if result is None:
                continue
            if not isinstance(result, (list, tuple)):
                raise PluginError(f"plugin {impl.plugin_name!r}: hook {hook} returned {type(result).__name__}, expected a list")
            yield impl.plugin_name, list(result)

    def _package_of(self, plugin: str) -> str:
        obj = self.pm.get_plugin(plugin)
        return getattr(obj, "__name__", type(obj).__module__).split(".")[0]

    def _add(self, entry: Entry) -> None:
        if not isinstance(entry.id, str) or not entry.id:
            raise PluginError(f"plugin {entry.plugin!r}: {entry.kind} {entry.obj!r} has no string id")
        table = self.entries[entry.kind]
        if entry.id in table:
            other = table[entry.id]
            raise PluginError(
                f"{entry.kind} id {entry.id!r} is claimed twice: by plugin {other.plugin!r} "
                f"({other.package}) and by plugin {entry.plugin!r} ({entry.package})"
            )
        table[entry.id] = entry

    def ids(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def get(self, kind: str, id: str):
        """The class (or spec, for codecs, models and data sets) registered under ``id``."""
        if kind not in self.entries:
            raise ConfigError(f"unknown component kind {kind!r}; expected one of {sorted(self.entries)}")
        try:
            return self.entries[kind][id].obj
        except KeyError:
            known = ", ".join(self.ids(kind)) or "none"
            raise UnknownComponentError(f"unknown {kind} id {id!r}; known: {known}") from None

    def create(self, kind: str, config: dict | str):
        """Instantiate a component from ``{"id": ..., **settings}`` or a bare id."""
        if isinstance(config, str):
            config = {"id": config}
        if not isinstance(config, dict) or not isinstance(config.get("id"), str):
            raise ConfigError(f"a {kind} config must be a dict with a string 'id', got {config!r}")
        return self.get(kind, config["id"]).from_config(config)

    def listing(self) -> list[dict[str, str]]:
        """Every component as ``{"kind", "id", "package"}``, sorted."""
        return [
            {"kind": e.kind, "id": e.id, "package": e.package}
            for kind in self.entries
            for e in sorted(self.entries[kind].values(), key=lambda e: e.id)
        ]


def make_plugin_manager(builtins: bool = True, entry_points: bool = True, plugins: Iterable = ()) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if builtins:
        for mod in builtin_plugins():
            pm.register(mod, name=mod.__name__)
    if entry_points:
        try:
            pm.load_setuptools_entrypoints(hookspecs.PROJECT)
        except Exception as e:
            raise PluginError(f"loading entry-point plugins of group 'pacbits' failed: {type(e).__name__}: {e}") from e
    for p in plugins:
        pm.register(p)
    return pm


def make_registry(builtins: bool = True, entry_points: bool = True, plugins: Iterable = ()) -> Registry:
    """A fresh registry; ``plugins`` are extra plugin objects or modules to register."""
    return Registry(make_plugin_manager(builtins, entry_points, plugins))


_default: Registry | None = None


def default_registry() -> Registry:
    """The registry of built-in and installed (entry-point) plugins, built on first use."""
    global _default
    if _default is None:
        _default = make_registry()
    return _default
