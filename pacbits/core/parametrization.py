"""The model-level stage before the pruner: a map between a model's tensors and coded coordinates.

A :class:`Parametrization` turns the ``state_dict`` a codec is given into the
*coordinate* tensors that are pruned, quantized and coded, and turns decoded
coordinates back into the model's ``state_dict``::

    compress:   state_dict --coordinates()--> coords --prune/quantize/code--> bytes
    decompress: bytes --decode--> coords --expand()--> state_dict

The identity (the default, no bytes in the stream: format version 1) codes the
tensors themselves. Others, such as ``subspace`` (θ = θ₀ + P·w), write their id and
:meth:`~Parametrization.to_bytes` into the stream (format version 2) so that the
decoder rebuilds the same map; those bytes are counted like every other bit.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from .component import Component

if TYPE_CHECKING:  # the bound engine and `pacbits bound` load no torch
    import torch


class Parametrization(Component, ABC):
    """Maps a model's ``state_dict`` to coordinate tensors and back, deterministically."""

    kind: ClassVar[str] = "parametrization"

    @abstractmethod
    def coordinates(self, state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The tensors to code for this ``state_dict``."""

    @abstractmethod
    def expand(self, coords: Mapping[str, torch.Tensor], prior: Mapping[str, torch.Tensor] | None = None
               ) -> dict[str, torch.Tensor]:
        """The model's ``state_dict`` from decoded coordinates; ``prior`` is a state_dict supplied at
        decode time (a transfer prior), for parametrizations that name one."""

    @abstractmethod
    def to_bytes(self) -> bytes:
        """The configuration as compact bytes, written into the stream."""

    @classmethod
    @abstractmethod
    def from_bytes(cls, data: bytes) -> "Parametrization":
        """Inverse of :meth:`to_bytes`; malformed bytes raise :class:`~pacbits.core.errors.DecodeError`."""


class Identity(Parametrization):
    """Code the model's tensors themselves (today's behaviour; streams stay format version 1)."""

    id = "identity"

    def coordinates(self, state_dict):
        return dict(state_dict)

    def expand(self, coords, prior=None):
        return dict(coords)

    def to_bytes(self) -> bytes:
        return b""

    @classmethod
    def from_bytes(cls, data: bytes) -> "Identity":
        return cls()


def state_dict_sha256(state_dict: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 (hex) of a state_dict: for each name in sorted order, ``name:dtype:shape:`` and its bytes."""
    import torch

    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}:".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()
