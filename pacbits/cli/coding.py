"""``pacbits compress | decompress | inspect``."""
from __future__ import annotations

from pathlib import Path

from pacbits.codecs import DEFAULT_CODEC

from ._common import add_json, codec_spec, print_json


def register(sub) -> None:
    p = sub.add_parser("compress", help="compress a state_dict checkpoint into a .pbits bitstream")
    p.add_argument("state_dict", type=Path)
    p.add_argument("--codec", default=DEFAULT_CODEC, help=f"codec preset id (default {DEFAULT_CODEC})")
    p.add_argument("--config", help="JSON codec config overriding the preset, e.g. '{\"coder\": {\"id\": \"fixed\"}}'")
    p.add_argument("-o", "--output", type=Path, required=True)
    add_json(p)
    p.set_defaults(func=run_compress)

    p = sub.add_parser("decompress", help="decode a .pbits bitstream into a state_dict checkpoint")
    p.add_argument("bitstream", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.set_defaults(func=run_decompress)

    p = sub.add_parser("inspect", help="print the per-tensor bit breakdown of a .pbits bitstream")
    p.add_argument("bitstream", type=Path)
    add_json(p)
    p.set_defaults(func=run_inspect)


def _show(report, as_json: bool) -> None:
    print_json(report.to_dict()) if as_json else print(report.table())


def run_compress(args) -> int:
    from pacbits.core import Codec
    from pacbits.loading import load_state_dict

    out = Codec.from_spec(codec_spec(args.codec, args.config)).compress(load_state_dict(args.state_dict))
    args.output.write_bytes(out.data)
    _show(out.report, args.json)
    return 0


def run_decompress(args) -> int:
    import torch

    from pacbits.core import decompress

    torch.save(decompress(args.bitstream.read_bytes()), args.output)
    return 0


def run_inspect(args) -> int:
    from pacbits.core import inspect

    _show(inspect(args.bitstream.read_bytes()), args.json)
    return 0
