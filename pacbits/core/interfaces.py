"""The three abstract stages of a codec, Pruner -> Quantizer -> Coder, and the training-time protocol.

See docs/architecture.md ("Components" and "Training-time components").
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .component import Component
from .errors import ConfigError
from .types import Encoded, Triplet

if TYPE_CHECKING:  # annotations only: listing plugins and inspecting a stream load no torch
    import torch


class TrainingTime(ABC):
    """Capability of a pruner or quantizer that works *during* training.

    A training loop calls ``params = c.attach(model, steps)`` once before a phase of
    ``steps`` optimizer steps, ``c.update(model, step)`` before each step, and
    ``c.detach(model)`` at the end, which leaves plain parameters holding exactly
    the weights the model computed with (pruned weights exact zeros, codebook
    values exact), ready for :meth:`~pacbits.core.codec.Codec.compress`.
    """

    @abstractmethod
    def attach(self, model: torch.nn.Module, steps: int | None = None) -> list[torch.nn.Parameter] | None:
        """Install on ``model`` for a phase of ``steps`` steps; return the parameters to optimize.

        None: optimize ``model.parameters()`` as usual (a pruner); a list: only these
        (a quantizer's codebook centers; empty: nothing to fine-tune). A component
        whose schedule was written for another length stretches it to ``steps``
        (None: the schedule as written).
        """

    def update(self, model: torch.nn.Module, step: int) -> bool:
        """Called before optimizer step ``step`` (0-based); returns whether anything changed."""
        return False

    def detach(self, model: torch.nn.Module) -> torch.nn.Module:
        """Remove what :meth:`attach` installed, baking its effect into plain parameters."""
        from . import reparam

        return reparam.detach(model)


def training_time(component, where: str) -> TrainingTime:
    """``component`` if it implements :class:`TrainingTime`, else a one-line ConfigError naming ``where``."""
    if isinstance(component, TrainingTime):
        return component
    raise ConfigError(f"{component.kind} {component.id!r} works only one-shot (it does not implement "
                      f"pacbits.core.TrainingTime), but {where} prunes and quantizes during training; "
                      "use a codec whose pruner and quantizer work during training")


class Pruner(Component, ABC):
    """Decides the kept positions S.

    One-shot pruners (``one_shot = True``) compute masks from trained weights and
    run inside :class:`~pacbits.core.codec.Codec`. A pruner that also implements
    :class:`TrainingTime` can run in a training loop; one that *only* works there
    (``one_shot = False``, e.g. DNS) makes the codec take a tensor's zeros as its
    pruned positions, and refuse a state_dict with no zeros at all.
    """

    kind: ClassVar[str] = "pruner"
    one_shot: ClassVar[bool] = True

    @abstractmethod
    def masks(self, weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Boolean keep-masks, one per given tensor, with the tensor's shape."""


class Quantizer(Component, ABC):
    """Maps the kept weights of one tensor to a codebook C and indices Q."""

    kind: ClassVar[str] = "quantizer"

    @abstractmethod
    def quantize(self, name: str, values: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Given the 1-D kept weights, return ``(codebook, indices)``.

        ``codebook`` is float32 or float16 (exactly the values the decoded model
        uses); ``indices`` are int64 in ``[0, len(codebook))``, one per value.
        """


class Coder(Component, ABC):
    """Turns a triplet into bytes and back, exactly, and says where every bit went.

    Contract (checked by :func:`pacbits.testing.check_coder`): ``decode(encode(t).payload,
    t.shape)`` equals ``t`` bit for bit; ``encode`` is deterministic; the breakdown's
    ``total`` equals ``8 * len(payload)``; malformed payloads raise
    :class:`~pacbits.core.errors.DecodeError`.
    """

    kind: ClassVar[str] = "coder"

    @abstractmethod
    def encode(self, triplet: Triplet) -> Encoded:
        """Code ``(S, C, Q)``; the shape travels in the container, not the payload."""

    @abstractmethod
    def decode(self, payload: bytes, shape: tuple[int, ...]) -> Triplet:
        """Inverse of :meth:`encode` for a tensor of the given shape."""

    def accepts(self, triplet: Triplet) -> bool:
        """Whether this coder can code ``triplet``; for one it refuses, ``encode`` raises EncodeError.

        A coder with a restricted format (e.g. float16-only codebooks) says so
        here, and the conformance kit checks the refusal instead of a round trip.
        """
        return True

    def index_prior(self, triplet: Triplet) -> np.ndarray | None:
        """Mixture weights ``P`` (length r) for the noise-robust bound, or None.

        The bound engine replaces the ``indices`` bits by a mixture term
        (docs/bounds.md). That is valid only if the payload without its
        ``indices`` part is still a self-delimiting code for everything else,
        and ``P`` is a function of those other bits (e.g. a coded frequency
        table). None means uniform ``P`` with ``ceil(log2 r)`` bits an index
        (Theorem 4.3), which needs no coded table.
        """
        return None
