"""Options and output conventions shared by every subcommand (``--json``, ``--out``, ``--seed``, ``--data``)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from pacbits.core import PacbitsError, container
from pacbits.core.limits import load_json


def add_json(p) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")


def add_seed(p) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def add_out(p, default: str = "out") -> None:
    p.add_argument("--out", type=Path, default=Path(default), help=f"output folder (default {default})")


def add_data(p) -> None:
    p.add_argument("--data", type=Path, default=None, help="folder of MNIST IDX files (default: the installed data set)")


def print_json(obj) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def parse_json_arg(text: str | None, what: str) -> dict:
    """A JSON object argument (depth and numbers limited, :func:`pacbits.core.limits.load_json`)."""
    if text is None:
        return {}
    return load_json(text, what)


def read_input(path: Path) -> bytes:
    """The bytes of an input file; a missing file or a folder is a one-line error."""
    if not path.is_file():
        raise PacbitsError(f"{path}: no such file")
    return path.read_bytes()


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load a checkpoint safely (``weights_only=True``) and check it is a state_dict."""
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
    if t.layout != torch.strided:
        raise PacbitsError(f"{what} has layout {t.layout}; only dense (strided) tensors can be coded: use .to_dense()")
    if t.device.type != "cpu":
        raise PacbitsError(f"{what} is on device {t.device.type!r} and holds no data here; save real CPU tensors")
    if t.dtype not in container.DTYPES:
        raise PacbitsError(f"{what} has dtype {t.dtype}; pacbits codes {', '.join(map(str, container.DTYPES))}")
    need = t.numel() * t.element_size()
    have = t.untyped_storage().nbytes()
    if need > have:
        raise PacbitsError(f"{what} is a view of {t.numel()} elements over {have} bytes of storage (e.g. expand); "
                           "save it with .contiguous() if you mean it")
