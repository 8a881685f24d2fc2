"""A small training loop for the pruning and center fine-tuning phases.

Pruners and quantizers do not need it: a :class:`~pacbits.core.TrainingTime`
component is driven from any loop by ``attach(model, steps)`` once,
``update(model, step)`` each step and ``detach(model)`` at the end
(``quantizer.attach`` returns the centers to optimize). :func:`train` is that loop
with a progress bar (loss, accuracy, density); ``callbacks`` run before each step,
e.g. ``lambda step: pruner.update(model, step)``. Batches move to the model's device.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset
from tqdm.auto import tqdm

from pacbits.core import reparam


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int = 0) -> DataLoader:
    """Shuffled mini-batches of in-memory tensors, each batch gathered by one index (no per-example collate)."""
    data = TensorDataset(x, y)
    order = RandomSampler(data, generator=torch.Generator().manual_seed(seed))
    return DataLoader(data, sampler=BatchSampler(order, batch_size, drop_last=False), batch_size=None)


def train(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer, steps: int, *,
          scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
          callbacks: Sequence[Callable[[int], object]] = (),
          loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
          desc: str = "train", progress: bool = True) -> dict[str, float]:
    """Run ``steps`` optimizer steps, cycling through ``loader``'s ``(x, y)`` batches.

    Step ``t``: each ``callback(t)``, forward, ``loss_fn``, backward, ``optimizer.step()``,
    ``scheduler.step()``. Returns the running (mean over the first 50 steps, then
    exponential average at rate 0.02) loss and accuracy, the density of installed masks/codebooks, and the wall time.
    """
    model.train()
    device = next(model.parameters(), torch.empty(0)).device
    loss_avg = acc_avg = 0.0
    start = time.perf_counter()
    it = iter(loader)
    bar = tqdm(range(steps), desc=desc, disable=not progress, mininterval=1.0)
    for step in bar:
        for cb in callbacks:
            cb(step)
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(loader)
            x, y = next(it)
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        rate = max(0.02, 1 / (step + 1))  # the plain mean over the first 50 steps
        loss_avg += rate * (loss.item() - loss_avg)
        acc_avg += rate * (float((out.argmax(1) == y).float().mean()) - acc_avg)
        if progress and step % 20 == 0:
            d = reparam.density(model)
            bar.set_postfix(loss=f"{loss_avg:.4f}", acc=f"{acc_avg:.4f}", **({} if d is None else {"density": f"{d:.4f}"}),
                            refresh=False)
    return {"loss": loss_avg, "accuracy": acc_avg, "density": reparam.density(model),
            "seconds": time.perf_counter() - start}
