"""Error rate of a classifier on tensors, the number every experiment reports."""

from __future__ import annotations

import torch
from torch import nn

from pacbits.core.errors import ConfigError


def error_rate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
               topk: int = 1, batch_size: int = 1000) -> float:
    """Fraction of examples whose label is not among the model's ``topk`` highest logits.

    Runs in eval mode under ``torch.no_grad()`` on the model's device, batch by
    batch, and restores the model's previous train/eval mode.
    """
    if x.shape[0] != y.shape[0] or y.ndim != 1:
        raise ConfigError(f"expected x of N examples and labels of shape (N,), "
                          f"got x {tuple(x.shape)} and y {tuple(y.shape)}")
    if x.shape[0] == 0:
        raise ConfigError("cannot measure an error rate on 0 examples")
    if topk < 1 or batch_size < 1:
        raise ConfigError(f"topk and batch_size must be >= 1, got topk={topk}, batch_size={batch_size}")
    device = next(model.parameters(), torch.empty(0)).device
    was_training = model.training
    model.eval()
    wrong = 0
    try:
        with torch.no_grad():
            for i in range(0, x.shape[0], batch_size):
                logits = model(x[i:i + batch_size].to(device))
                if topk > logits.shape[1]:
                    raise ConfigError(f"topk={topk} exceeds the model's {logits.shape[1]} classes")
                top = logits.topk(topk, dim=1).indices
                labels = y[i:i + batch_size].to(device).unsqueeze(1)
                wrong += int((top != labels).all(dim=1).sum())
    finally:
        model.train(was_training)
    return wrong / x.shape[0]
