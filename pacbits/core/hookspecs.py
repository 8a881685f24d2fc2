"""The pluggy hooks of project ``pacbits`` (docs/architecture.md, "Plugins").

A plugin is any module or object with functions marked ``@hookimpl``; third-party
packages expose one through the entry-point group ``pacbits``::

    [project.entry-points.pacbits]
    myplugin = "mypackage.pacbits_plugin"
"""
from __future__ import annotations

import pluggy

PROJECT = "pacbits"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_pruners() -> list[type]:
    """Return :class:`~pacbits.core.interfaces.Pruner` subclasses, each with a unique ``id``."""


@hookspec
def register_quantizers() -> list[type]:
    """Return :class:`~pacbits.core.interfaces.Quantizer` subclasses."""


@hookspec
def register_coders() -> list[type]:
    """Return :class:`~pacbits.core.interfaces.Coder` subclasses."""


@hookspec
def register_codecs() -> list:
    """Return :class:`~pacbits.core.codec.CodecSpec` presets naming components by id."""


@hookspec
def register_models() -> list:
    """Return :class:`~pacbits.core.catalog.ModelSpec` entries: an id and a factory building an ``nn.Module``."""


@hookspec
def register_datasets() -> list:
    """Return :class:`~pacbits.core.catalog.DatasetSpec` entries: an id and a loader returning a ``Dataset``."""
