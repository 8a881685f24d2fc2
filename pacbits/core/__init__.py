"""Interfaces, pipeline, container, plugin manager and bound engine of pacbits.

Names are imported on first use (PEP 562), so that ``import pacbits.core.bounds``,
which needs no torch, does not load torch through this package.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "codec": ("Codec", "CodecReport", "CodecSpec", "Compressed", "TensorReport", "decompress", "inspect"),
    "errors": ("ConfigError", "DecodeError", "EncodeError", "PacbitsError", "PluginError", "UnknownComponentError"),
    "hookspecs": ("hookimpl",),
    "interfaces": ("Coder", "Pruner", "Quantizer", "TrainingTime", "training_time"),
    "catalog": ("DatasetSpec", "ModelSpec"),
    "registry": ("Registry", "default_registry", "make_registry"),
    "types": ("BitBreakdown", "Encoded", "Triplet"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
