"""``pacbits compress | decompress | inspect``."""
from __future__ import annotations

from pathlib import Path

import torch

from pacbits.codecs.presets import DEFAULT_CODEC
from pacbits.core import Codec, CodecSpec, decompress, default_registry, inspect

from ._common import add_json, load_state_dict, parse_json_arg, print_json


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
    p.add_argument("--prior", type=Path, default=None, metavar="FILE",
                   help="the transfer prior (a state_dict) a subspace stream names by its SHA-256")
    p.set_defaults(func=run_decompress)

    p = sub.add_parser("inspect", help="print the per-tensor bit breakdown of a .pbits bitstream")
    p.add_argument("bitstream", type=Path)
    add_json(p)
    p.set_defaults(func=run_inspect)


def codec_from_args(codec_id: str, config: str | None) -> Codec:
    reg = default_registry()
    spec = reg.get("codec", codec_id).to_dict()
    spec.update(parse_json_arg(config, "--config"))
    return Codec.from_spec(CodecSpec.from_dict(spec), reg)


def _show(report, as_json: bool) -> None:
    print_json(report.to_dict()) if as_json else print(report.table())


def run_compress(args) -> int:
    codec = codec_from_args(args.codec, args.config)
    out = codec.compress(load_state_dict(args.state_dict))
    args.output.write_bytes(out.data)
    _show(out.report, args.json)
    return 0


def run_decompress(args) -> int:
    prior = load_state_dict(args.prior) if args.prior is not None else None
    torch.save(decompress(args.bitstream.read_bytes(), prior=prior), args.output)
    return 0


def run_inspect(args) -> int:
    _show(inspect(args.bitstream.read_bytes()), args.json)
    return 0
