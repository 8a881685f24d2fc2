"""Models and data sets as plugins: what ``register_models`` and ``register_datasets`` return.

A plugin lists them with the same hooks and entry points as coders::

    @hookimpl
    def register_models():
        return [ModelSpec("my-net", build_my_net, "a 3-layer MLP for 28x28 inputs")]

    @hookimpl
    def register_datasets():
        return [DatasetSpec("my-data", load_my_data, "my images")]

``ModelSpec.factory()`` returns a freshly initialized ``torch.nn.Module``;
``DatasetSpec.load(path)`` returns a :class:`pacbits.data.Dataset` (``path`` is
the folder the user named, or None for the data set's own default location).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class ModelSpec:
    """A named network: ``factory()`` builds it freshly initialized."""

    id: str
    factory: Callable[[], Any]
    description: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """A named data set: ``load(path)`` returns a :class:`pacbits.data.Dataset`; ``path`` may be None."""

    id: str
    load: Callable[[Any], Any]
    description: str = ""
