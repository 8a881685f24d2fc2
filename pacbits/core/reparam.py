"""Forward-pass reparametrizations installed by training-time pruners and quantizers (docs/pruning.md).

Each is a :mod:`torch.nn.utils.parametrize` parametrization of one parameter: the
module computes with ``f(W)`` while the optimizer updates the dense ``W``
(``module.parametrizations.<name>.original``).

- :class:`Mask`: ``W ⊙ m``; gradient ``∂L/∂W = m ⊙ ∂L/∂(W⊙m)``, so pruned weights get none.
- :class:`SurgeryMask`: ``W ⊙ m`` forward, identity backward (Dynamic Network Surgery,
  Guo et al. 2016): ``∂L/∂W = ∂L/∂(W⊙m)``, so pruned weights keep learning and can be spliced back.
- :class:`Codebook`: ``w_i = c_{q_i}`` (paper eq. 7) with trainable centers ``c`` and frozen
  indices ``q``; by autograd of the gather, ``∂L/∂c_j = Σ_{i: q_i = j} ∂L/∂w_i``.

:func:`bake` turns a model carrying any of these into a plain ``state_dict`` holding
exactly the weights the model computes with (exact zeros where pruned), which the
:class:`~pacbits.core.codec.Codec` then codes without loss. Schedules and settings checks,
which need no torch, are in :mod:`pacbits.core.schedules`.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize

from .errors import ConfigError
from .schedules import check_targets


class Mask(nn.Module):
    """``W ↦ W ⊙ m``: pruned entries are exact zeros and receive no gradient."""

    def __init__(self, shape: Sequence[int]):
        super().__init__()
        self.register_buffer("mask", torch.ones(tuple(shape), dtype=torch.bool))

    def kept(self) -> torch.Tensor:
        return self.mask

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w.masked_fill(~self.mask, 0)


class SurgeryMask(Mask):
    """``W ↦ W ⊙ m`` in the forward pass, identity in the backward pass (straight-through)."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w - w.masked_fill(self.mask, 0).detach()


class Codebook(nn.Module):
    """``w_i = [0, c_1, ..., c_r][q_i]``: slot 0 is exact zero (pruned weights, and the zero code).

    ``centers`` train in float32 and are evaluated rounded to ``dtype`` (the coded
    codebook's dtype), so the model computes with exactly the values that are coded.
    """

    def __init__(self, centers: torch.Tensor, index: torch.Tensor, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.centers = nn.Parameter(centers.detach().to(torch.float32).clone())
        self.register_buffer("index", index.to(torch.int64))
        self.dtype = dtype

    def values(self) -> torch.Tensor:
        """The evaluated table ``[0, c_1, ..., c_r]`` (float32 holding ``dtype`` values)."""
        c = self.centers.to(self.dtype).to(torch.float32)
        return torch.cat([c.new_zeros(1), c])

    def kept(self) -> torch.Tensor:
        return self.index != 0

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.values().to(w.dtype)[self.index]


REPARAMS = (Mask, Codebook)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def target_tensors(model: nn.Module, targets: str = "weights") -> dict[str, tuple[nn.Module, str]]:
    """``state_dict`` name -> (owning module, attribute) of the parameters a pruner/quantizer acts on.

    ``"weights"``: floating parameters with ``ndim >= 2`` (conv and linear weights);
    ``"floating"``: every floating parameter, biases included (the codec's ``targets``).
    """
    check_targets(targets)
    out = {}
    for mname, m in model.named_modules():
        if isinstance(m, parametrize.ParametrizationList):
            continue
        names = [n for n, _ in m.named_parameters(recurse=False)]
        if parametrize.is_parametrized(m):
            names += list(m.parametrizations)
        for pname in names:
            t = getattr(m, pname)
            if t.is_floating_point() and (targets == "floating" or t.dim() >= 2):
                out[_join(mname, pname)] = (m, pname)
    return out


def install(model: nn.Module, tensors: dict[str, tuple[nn.Module, str]],
            make: Callable[[str, torch.Tensor], nn.Module]) -> dict[str, nn.Module]:
    """Register ``make(name, current_value)`` as a parametrization of each tensor."""
    if not tensors:
        raise ConfigError(f"model {type(model).__name__} has no tensor to prune or quantize "
                          "(targets are floating parameters; 'weights' needs ndim >= 2)")
    out = {}
    for name, (m, pname) in tensors.items():
        with torch.no_grad():
            out[name] = make(name, getattr(m, pname).detach())
        parametrize.register_parametrization(m, pname, out[name])
    return out


def installed(model: nn.Module, kind: type | tuple[type, ...] = REPARAMS) -> dict[str, tuple[nn.Module, str, nn.Module]]:
    """``state_dict`` name -> (module, attribute, parametrization) for each installed ``kind``."""
    out = {}
    for mname, m in model.named_modules():
        if parametrize.is_parametrized(m):
            for pname, plist in m.parametrizations.items():
                for p in plist:
                    if isinstance(p, kind):
                        out[_join(mname, pname)] = (m, pname, p)
    return out


def original(module: nn.Module, attr: str) -> nn.Parameter:
    """The dense tensor a parametrization acts on."""
    return module.parametrizations[attr].original


def detach(model: nn.Module) -> nn.Module:
    """Remove every pacbits parametrization in place, leaving the evaluated values as plain parameters."""
    for _, (m, pname, _) in installed(model).items():
        if parametrize.is_parametrized(m, pname):
            parametrize.remove_parametrizations(m, pname, leave_parametrized=True)
    return model


def bake(model: nn.Module) -> dict[str, torch.Tensor]:
    """A plain ``state_dict`` (no ``parametrizations`` keys) of the weights the model computes with.

    Masked entries are exact zeros and codebook weights are exactly ``c_{q_i}``, so
    ``Codec(quantizer=None)`` codes the evaluated network without loss. A module's
    reparametrized tensors come before its other entries, which for layers that
    register ``weight`` before ``bias`` is the plain model's order. The model is unchanged.
    """
    baked = {}  # module prefix -> {name: value}
    with torch.no_grad():
        for mname, m in model.named_modules():
            if parametrize.is_parametrized(m):
                prefix = f"{mname}." if mname else ""
                baked[prefix] = {prefix + p: getattr(m, p).detach().clone() for p in m.parametrizations}
    out = {}
    for k, v in model.state_dict().items():
        owner = next((p for p in baked if k.startswith(p) and ("." not in k[len(p):] or
                                                                k.startswith(p + "parametrizations."))), None)
        if owner is not None:
            out.update(baked[owner])
            if k.startswith(owner + "parametrizations."):
                continue
        out[k] = v.detach().clone()
    return out


def density(model: nn.Module) -> float | None:
    """Kept fraction over all masked or codebook tensors (None if none is installed)."""
    parts = [p.kept() for _, _, p in installed(model).values()]
    if not parts:
        return None
    return sum(int(k.sum()) for k in parts) / sum(k.numel() for k in parts)
