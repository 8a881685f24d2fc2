"""Options and output conventions shared by the subcommands (``--json``, ``--out``, ``--seed``, ``--data``, ``--device``).

Nothing here imports torch: the parser is built without it, so ``pacbits bound`` starts fast.
"""
from __future__ import annotations

import json
from pathlib import Path

from pacbits.core import PacbitsError
from pacbits.core.limits import load_json

from ._output import json_stream


def add_json(p) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")


def add_seed(p) -> None:
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def add_out(p, default: str = "out") -> None:
    p.add_argument("--out", type=Path, default=Path(default), help=f"output folder (default {default})")


def add_data(p, default: str | None = None) -> None:
    p.add_argument("--data", default=default, metavar="ID|DIR|ID:DIR|module:factory",
                   help="data set: a registered id (pacbits plugins), a folder of IDX files, or module:factory "
                        f"(default {default or 'mnist, the installed data set'})")


def add_device(p) -> None:
    p.add_argument("--device", default="cpu", metavar="cpu|cuda|auto",
                   help="where to train and evaluate (auto: CUDA when torch sees it; default cpu)")


def print_json(obj) -> None:
    """The command's one JSON document, on the real stdout (see :mod:`pacbits.cli._output`)."""
    out = json_stream()
    json.dump(obj, out, indent=2, sort_keys=False)
    out.write("\n")


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


def codec_spec(codec_id: str, config: str | None):
    """The registered preset ``codec_id`` (or, for a coder id, the lossless codec with that coder)
    with ``--config`` JSON keys overriding it."""
    from pacbits.core import CodecSpec, default_registry

    spec = default_registry().codec(codec_id).to_dict()
    spec.update(parse_json_arg(config, "--config"))
    return CodecSpec.from_dict(spec)
