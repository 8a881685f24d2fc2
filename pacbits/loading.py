"""Models, weights, data sets and devices from the names a user types.

* a model: a registered id (``lenet5``) or ``module:factory``, a callable returning an ``nn.Module``;
* a data set: a registered id (``mnist``), ``id:PATH`` (the data set read from PATH), a
  folder (the ``idx`` data set of that folder) or ``module:factory``, a callable returning a
  :class:`~pacbits.data.Dataset` or the tensors ``(train_x, train_y[, test_x, test_y])``;
* a device: ``cpu``, ``cuda`` (``cuda:N``) or ``auto`` (CUDA when torch sees it).
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import torch
from torch import nn

from pacbits.core import ConfigError, PacbitsError, Registry, default_registry
from pacbits.data import Dataset, check_dataset

_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def import_object(ref: str):
    """The object ``module:name`` names (``name`` may be dotted); ConfigError in one line if it is not there."""
    if not _REF.fullmatch(ref):
        raise ConfigError(f"{ref!r} is not of the form module:name")
    module_name, attr = ref.split(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"cannot import {module_name!r} for {ref!r}: {e}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"module {module_name!r} has no {attr!r} (from {ref!r})")
        obj = getattr(obj, part)
    return obj


def load_model(ref: str, registry: Registry | None = None) -> nn.Module:
    """A freshly built model: a registered model id or ``module:factory``."""
    reg = registry or default_registry()
    if ref in reg.entries["model"]:
        model, what = reg.get("model", ref).factory(), f"model {ref!r}"
    elif ":" in ref:
        factory, what = import_object(ref), ref
        if not callable(factory):
            raise ConfigError(f"{ref} is not callable; expected a function returning an nn.Module")
        model = factory()
    else:
        raise ConfigError(f"unknown model {ref!r}: not a registered model ({', '.join(reg.ids('model'))}) "
                          "nor module:factory")
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{what} built a {type(model).__name__}, not a torch.nn.Module")
    return model


def load_data(ref: str | Path | None = None, registry: Registry | None = None) -> Dataset:
    """A data set from a registered id, ``id:PATH``, a folder of IDX files, or ``module:factory`` (None: ``mnist``)."""
    reg = registry or default_registry()
    ref = "mnist" if ref is None else str(ref)
    known = reg.entries["dataset"]
    head, _, tail = ref.partition(":")
    if ref in known:
        return as_dataset(reg.get("dataset", ref).load(None), ref)
    if head in known and tail:
        return as_dataset(reg.get("dataset", head).load(Path(tail)), head)
    if Path(ref).is_dir():
        return as_dataset(reg.get("dataset", "idx").load(Path(ref)), "idx")
    if _REF.fullmatch(ref):
        factory = import_object(ref)
        if not callable(factory):
            raise ConfigError(f"{ref} is not callable; expected a function returning a Dataset")
        return as_dataset(factory(), ref)
    raise ConfigError(f"unknown data set {ref!r}: not a registered data set ({', '.join(reg.ids('dataset'))}), "
                      "a folder, ID:PATH nor module:factory")


def as_dataset(obj, name: str = "custom") -> Dataset:
    """A :class:`Dataset` as is, or one built from ``(train_x, train_y)`` (test split = train split) or four tensors."""
    if isinstance(obj, Dataset):
        return check_dataset(obj, name)
    if isinstance(obj, (tuple, list)) and len(obj) in (2, 4) and all(isinstance(t, torch.Tensor) for t in obj):
        train_x, train_y, test_x, test_y = (*obj, *obj) if len(obj) == 2 else obj
        return check_dataset(Dataset(train_x, train_y, test_x, test_y, name=name, source=name), name)
    raise ConfigError(f"{name}: expected a pacbits.data.Dataset or tensors (train_x, train_y[, test_x, test_y]), "
                      f"got {type(obj).__name__}")


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a checkpoint safely (``weights_only=True``) and check it is a state_dict."""
    path = Path(path)
    if not path.is_file():
        raise PacbitsError(f"{path}: no such file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a bad file
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise PacbitsError(f"{path}: not a loadable PyTorch checkpoint ({type(e).__name__}: {first})") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise PacbitsError(f"{path}: expected a state_dict (a dict of names to tensors)")
    for name, t in obj.items():
        check_tensor(t, f"{path}: tensor {name!r}")
    return obj


def check_tensor(t: torch.Tensor, what: str) -> None:
    """Refuse tensor kinds pacbits cannot code, and views that claim more elements than their storage holds."""
    from pacbits.core import container

    if t.layout != torch.strided:
        raise PacbitsError(f"{what} has layout {t.layout}; only dense (strided) tensors can be coded: use .to_dense()")
    if t.device.type != "cpu":
        raise PacbitsError(f"{what} is on device {t.device.type!r} and holds no data here; save real CPU tensors")
    if str(t.dtype) not in container.DTYPES:
        raise PacbitsError(f"{what} has dtype {t.dtype}; pacbits codes {', '.join(container.DTYPES)}")
    need = t.numel() * t.element_size()
    have = t.untyped_storage().nbytes()
    if need > have:
        raise PacbitsError(f"{what} is a view of {t.numel()} elements over {have} bytes of storage (e.g. expand); "
                           "save it with .contiguous() if you mean it")


def load_weights(model: nn.Module, path: str | Path, what: str = "the model") -> nn.Module:
    """``model`` with the state_dict at ``path`` loaded (strictly); ConfigError in one line if it does not fit."""
    state = load_state_dict(path)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise ConfigError(f"{path}: not a state_dict of {what} ({' '.join(str(e).split())})") from None
    return model


DEVICES = ("auto", "cpu", "cuda")


def device(name: str = "cpu") -> torch.device:
    """``cpu``, ``cuda`` / ``cuda:N``, or ``auto`` (``cuda`` when ``torch.cuda.is_available()``, else ``cpu``)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu" or re.fullmatch(r"cuda(:[0-9]+)?", name):
        if name != "cpu" and not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: torch sees no CUDA device here (use cpu or auto)")
        return torch.device(name)
    raise ConfigError(f"--device must be cpu, cuda, cuda:N or auto, got {name!r}")
