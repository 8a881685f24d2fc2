"""pacbits: compress trained networks into real bitstreams and bound their test error.

The library's front door (imported on first use, PEP 562): :func:`certify`,
:class:`Codec`, :func:`decompress`, :func:`inspect`.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_WHERE = {"certify": "pacbits.certification", "CertifyReport": "pacbits.certification", "Codec": "pacbits.core.codec",
          "decompress": "pacbits.core.codec", "inspect": "pacbits.core.codec"}
__all__ = ["__version__", *sorted(_WHERE)]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
