"""Interfaces, pipeline, container, plugin manager and bound engine of pacbits."""
from .codec import Codec, CodecReport, CodecSpec, Compressed, TensorReport, decompress, inspect
from .errors import ConfigError, DecodeError, EncodeError, PacbitsError, PluginError, UnknownComponentError
from .hookspecs import hookimpl
from .interfaces import Coder, Pruner, Quantizer
from .registry import Registry, default_registry, make_registry
from .types import BitBreakdown, Encoded, Triplet

__all__ = [
    "BitBreakdown", "Codec", "CodecReport", "CodecSpec", "Coder", "Compressed", "ConfigError", "DecodeError",
    "EncodeError", "Encoded", "PacbitsError", "PluginError", "Pruner", "Quantizer", "Registry", "TensorReport",
    "Triplet", "UnknownComponentError", "decompress", "default_registry", "inspect", "hookimpl", "make_registry",
]
