"""Evaluation split across ``torch.distributed`` processes, with exactly the counts of one process.

Launched by ``torchrun``, each process evaluates every ``world``-th batch of a fixed
batching (batch ``i`` on rank ``i mod world``) and the counts are summed by
all-reduce. Batch boundaries do not depend on the number of processes, and each
noisy batch draws its noise from its own seed ``(seed, pass, batch)``, so one
process and N processes compute the same numbers. Without an initialized process
group everything runs in this process.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import torch
from torch import distributed as dist
from torch import nn

from pacbits.core import ConfigError


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialized process group, else ``(0, 1)``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_env(device: torch.device) -> bool:
    """Join the process group ``torchrun`` describes (``WORLD_SIZE`` > 1): gloo on CPU, NCCL on CUDA."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available() or dist.is_initialized():
        return False
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return True


def all_sum(t: torch.Tensor) -> torch.Tensor:
    """``t`` summed over all processes (``t`` itself without a process group)."""
    rank, size = world()
    if size > 1:
        backend_device = torch.device("cuda", torch.cuda.current_device()) \
            if dist.get_backend() == "nccl" else torch.device("cpu")
        buf = t.to(backend_device)
        dist.all_reduce(buf)
        return buf.to(t.device)
    return t


def broadcast(obj):
    """Rank 0's ``obj`` on every process."""
    if world()[1] > 1:
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]
    return obj


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters(), torch.empty(0)).device


def error_count(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1000, topk: int = 1) -> int:
    """Examples of ``(x, y)`` whose label is not among the ``topk`` largest logits, over all processes."""
    if batch_size < 1 or x.shape[0] != y.shape[0] or not x.shape[0]:
        raise ConfigError(f"need batch_size >= 1 and N > 0 inputs with N labels, got {tuple(x.shape)}, "
                          f"{tuple(y.shape)}, batch_size={batch_size}")
    rank, size = world()
    dev = _device(model)
    was_training = model.training
    model.eval()
    wrong = 0
    try:
        with torch.no_grad():
            for i in range(rank, -(-x.shape[0] // batch_size), size):
                sl = slice(i * batch_size, (i + 1) * batch_size)
                top = model(x[sl].to(dev)).topk(topk, dim=1).indices
                wrong += int((top != y[sl].to(dev).unsqueeze(1)).all(dim=1).sum())
    finally:
        model.train(was_training)
    return int(all_sum(torch.tensor([wrong], dtype=torch.int64))[0])


def derived_seed(*words: int) -> int:
    """A 63-bit torch seed from ``words`` (e.g. ``(seed, pass, batch)``), independent of the process layout."""
    return int(np.random.SeedSequence(list(words)).generate_state(1, np.uint64)[0] >> 1)


def noisy_batch_errors(model: nn.Module, x: torch.Tensor, y: torch.Tensor, sigma: Mapping[str, float], *,
                       batch_size: int = 50, passes: int = 1, seed: int = 0, topk: int = 1) -> np.ndarray:
    """Error rate of each mini-batch under its own fresh noise draw, ``passes`` passes, over all processes.

    As :func:`pacbits.stochastic.batch_errors` (the Monte Carlo sample of ``L̂(ρ)``, ``m = passes·N/batch_size``
    independent draws) with per-batch seeds, so the sample does not depend on the number of processes.
    """
    n = x.shape[0]
    if batch_size < 1 or n % batch_size or passes < 1:
        raise ConfigError(f"batch_size must divide the {n} examples and passes must be >= 1, "
                          f"got batch_size={batch_size}, passes={passes}")
    params = dict(model.named_parameters())
    unknown = sorted(set(sigma) - set(params))
    if unknown:
        raise ConfigError(f"tensors {unknown} are not parameters of the model")
    params = {k: params[k] for k in sorted(sigma) if sigma[k]}
    rank, size = world()
    dev = _device(model)
    nb = n // batch_size
    kept = {k: (p.detach().reshape(-1) != 0).nonzero().reshape(-1) for k, p in params.items()}
    saved = {k: p.detach().clone() for k, p in params.items()}
    wrong = torch.zeros(passes * nb, dtype=torch.int64)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for p_ in range(passes):
                order = torch.randperm(n, generator=torch.Generator().manual_seed(derived_seed(seed, p_)))
                for i in range(rank, nb, size):
                    gen = torch.Generator().manual_seed(derived_seed(seed, p_, i))
                    for k, p in params.items():
                        flat, idx = p.view(-1), kept[k]
                        noise = torch.randn(idx.numel(), generator=gen).to(dev)
                        flat[idx] = saved[k].view(-1)[idx] + sigma[k] * noise
                    batch = order[i * batch_size:(i + 1) * batch_size]
                    top = model(x[batch].to(dev)).topk(topk, dim=1).indices
                    wrong[p_ * nb + i] = int((top != y[batch].to(dev).unsqueeze(1)).all(dim=1).sum())
    finally:
        with torch.no_grad():
            for k, p in params.items():
                p.copy_(saved[k])
        model.train(was_training)
    return all_sum(wrong).numpy().astype(np.float64) / batch_size
