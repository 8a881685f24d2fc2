"""The plugin manager: collects components from pluggy hooks into id -> class tables.

``make_registry()`` builds a fresh one (tests need isolation); ``default_registry()``
is built lazily once and serves ordinary use. Built-in plugins are registered
through the same hooks a third-party plugin uses.

Third-party (entry-point) plugins are isolated (:mod:`pacbits.core.loading`): one
that fails to load, raises in a hook, returns something other than components,
or claims an id already taken is skipped with one warning and listed in
:attr:`Registry.problems`; built-in plugins and plugin objects passed in explicitly
still raise :class:`PluginError`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Iterable

import pluggy

from . import hookspecs
from .catalog import DatasetSpec, ModelSpec
from .component import origin, parameters
from .errors import ConfigError, PluginError, UnknownComponentError
from .loading import Problem, load_entry_points, one_line, report
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

    def __init__(self, pm: pluggy.PluginManager, isolated: dict[str, str] | None = None,
                 problems: list[Problem] | None = None):
        """``isolated``: plugin name -> distribution of the plugins whose failures are skipped, not raised."""
        self.pm = pm
        self.isolated = dict(isolated or {})
        self.problems: list[Problem] = list(problems or [])
        self._dropped: set[str] = set()
        self.entries: dict[str, dict[str, Entry]] = {k: {} for k in (*KINDS, *SPEC_KINDS)}
        for kind, hook in _HOOKS.items():
            for plugin, items in self._call(hook):
                for cls in items:
                    if not (isinstance(cls, type) and issubclass(cls, KINDS[kind])):
                        self._fail(plugin, f"{hook} returned {cls!r}, which is not a subclass of {KINDS[kind].__name__}")
                        break
                    if getattr(cls, "__abstractmethods__", None):
                        missing = ", ".join(sorted(cls.__abstractmethods__))
                        self._fail(plugin, f"{kind} {cls.__name__} does not implement {missing}")
                        break
                    self._add(Entry(kind, cls.id, cls, plugin, cls.__module__.split(".")[0]))
        for kind, (hook, spec_type) in _spec_hooks().items():
            for plugin, items in self._call(hook):
                for spec in items:
                    if not isinstance(spec, spec_type):
                        self._fail(plugin, f"{hook} returned {spec!r}, not a {spec_type.__name__}")
                        break
                    self._add(Entry(kind, spec.id, spec, plugin, self._package_of(plugin)))

    def _call(self, hook: str) -> Iterable[tuple[str, list]]:
        """Call each implementation on its own so a failure names its plugin."""
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin_name in self._dropped:
                continue
            try:
                result = impl.function()
            except Exception as e:
                self._fail(impl.plugin_name, f"hook {hook} raised {one_line(e)}", e)
                continue
            if result is None:
                continue
            if not isinstance(result, (list, tuple)):
                self._fail(impl.plugin_name, f"hook {hook} returned {type(result).__name__}, expected a list")
                continue
            yield impl.plugin_name, list(result)

    def _fail(self, plugin: str, message: str, cause: BaseException | None = None) -> None:
        """A plugin misbehaved: skip an isolated one (all its components, one warning), else raise."""
        if plugin not in self.isolated:
            raise PluginError(f"plugin {plugin!r}: {message}") from cause
        if plugin not in self._dropped:
            self._dropped.add(plugin)
            for table in self.entries.values():
                for id in [i for i, e in table.items() if e.plugin == plugin]:
                    del table[id]
            report(Problem(plugin, self.isolated[plugin], "broken", f"{message}; skipped"), self.problems)

    def _package_of(self, plugin: str) -> str:
        obj = self.pm.get_plugin(plugin)
        return getattr(obj, "__name__", type(obj).__module__).split(".")[0]

    def _add(self, entry: Entry) -> None:
        if not isinstance(entry.id, str) or not entry.id:
            raise PluginError(f"plugin {entry.plugin!r}: {entry.kind} {entry.obj!r} has no string id")
        if entry.plugin in self._dropped:
            return
        table = self.entries[entry.kind]
        if entry.id in table:
            other = table[entry.id]
            loser, winner = (entry, other) if entry.plugin in self.isolated else (other, entry)
            if loser.plugin not in self.isolated:
                raise PluginError(
                    f"{entry.kind} id {entry.id!r} is claimed twice: by plugin {other.plugin!r} "
                    f"({other.package}) and by plugin {entry.plugin!r} ({entry.package})"
                )
            report(Problem(loser.plugin, self.isolated[loser.plugin], "conflict",
                           f"its {entry.kind} {entry.id!r} is already registered by plugin {winner.plugin!r} "
                           f"({winner.package}); that {entry.kind} is skipped"), self.problems)
            entry = winner
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

    def codec(self, id: str):
        """The codec preset ``id``; for a coder id, the lossless codec with that coder (no pruner or quantizer)."""
        if id in self.entries["codec"] or id not in self.entries["coder"]:
            try:
                return self.get("codec", id)
            except UnknownComponentError:
                raise UnknownComponentError(
                    f"unknown codec id {id!r}; known codecs: {', '.join(self.ids('codec'))}; or a coder id for the "
                    f"lossless codec with that coder: {', '.join(self.ids('coder'))}") from None
        from .codec import CodecSpec

        return CodecSpec(id=id, coder={"id": id}, description=f"lossless: zeros pruned, the exact distinct values, coder {id}")

    def create(self, kind: str, config: dict | str):
        """Instantiate a component from ``{"id": ..., **settings}`` or a bare id."""
        if isinstance(config, str):
            config = {"id": config}
        if not isinstance(config, dict) or not isinstance(config.get("id"), str):
            raise ConfigError(f"a {kind} config must be a dict with a string 'id', got {config!r}")
        return self.get(kind, config["id"]).from_config(config)

    def listing(self, verbose: bool = False) -> list[dict]:
        """Every component as ``{"kind", "id", "package"}``, sorted; ``verbose`` adds its
        ``distribution`` ("name version") and ``parameters`` (settings and defaults, or a preset's config)."""
        rows = []
        for kind in self.entries:
            for e in sorted(self.entries[kind].values(), key=lambda e: e.id):
                row = {"kind": e.kind, "id": e.id, "package": e.package}
                if verbose:
                    if isinstance(e.obj, type):
                        row["distribution"], row["parameters"] = origin(e.obj), parameters(e.obj)
                    else:
                        row["distribution"] = origin(e.package)
                        row["parameters"] = _json_safe({k: v for k, v in vars(e.obj).items() if k != "id"})
                rows.append(row)
        return rows


def _json_safe(obj):
    """``obj`` with anything JSON cannot hold (a function, say) replaced by its repr."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj if obj is None or isinstance(obj, (bool, int, float, str)) else repr(obj)


def make_plugin_manager(builtins: bool = True, plugins: Iterable = ()) -> pluggy.PluginManager:
    """A plugin manager holding the built-in plugins (if ``builtins``) and ``plugins``."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if builtins:
        for mod in builtin_plugins():
            pm.register(mod, name=mod.__name__)
    for p in plugins:
        pm.register(p)
    return pm


def make_registry(builtins: bool = True, entry_points: bool = True, plugins: Iterable = (),
                  disable: Iterable[str] | None = None) -> Registry:
    """A fresh registry; ``plugins`` are extra plugin objects or modules to register.

    ``entry_points``: also the installed (entry-point) plugins, each isolated, except
    those ``disable`` or ``$PACBITS_DISABLE_PLUGINS`` name (``"*"``: all of them).
    """
    pm = make_plugin_manager(builtins, plugins)
    loaded, problems = load_entry_points(pm, hookspecs.PROJECT, disable) if entry_points else ({}, [])
    return Registry(pm, loaded, problems)


_default: Registry | None = None
_default_disable: tuple[str, ...] = ()


def default_registry(disable: Iterable[str] | None = None) -> Registry:
    """The registry of built-in and installed (entry-point) plugins, built on first use.

    ``disable``: plugins to skip, as :func:`make_registry`; giving a different set
    rebuilds it (the command line's ``--disable-plugin`` and ``--no-plugins``).
    """
    global _default, _default_disable
    if _default is None or (disable is not None and tuple(sorted(disable)) != _default_disable):
        _default_disable = tuple(sorted(disable or ()))
        _default = make_registry(disable=_default_disable)
    return _default
