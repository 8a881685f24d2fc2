"""The three abstract stages of a codec (DESIGN §2): Pruner -> Quantizer -> Coder."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch

from .component import Component
from .types import Encoded, Triplet


class Pruner(Component, ABC):
    """Decides the kept positions S.

    One-shot pruners (``one_shot = True``) compute masks from trained weights and
    run inside :class:`~pacbits.core.codec.Codec`. Training-time pruners (DNS) run
    in a training loop; the codec then takes a tensor's zeros as its pruned positions.
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
        (DESIGN §5.2-5.3). That is valid only if the payload without its
        ``indices`` part is still a self-delimiting code for everything else,
        and ``P`` is a function of those other bits (e.g. a coded frequency
        table). None means uniform ``P`` with ``ceil(log2 r)`` bits an index
        (Theorem 4.3), which needs no coded table.
        """
        return None
