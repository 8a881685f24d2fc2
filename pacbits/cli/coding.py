"""``pacbits compress | decompress | inspect``."""
from __future__ import annotations

import argparse
from pathlib import Path

from pacbits.codecs import DEFAULT_CODEC
from pacbits.core import ConfigError
from pacbits.core.files import check_output, write_atomic
from pacbits.core.limits import MAX_SIZE, format_size, parse_size

from ._common import add_json, codec_spec, print_json, read_input


def add_force(p) -> None:
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output file")


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_max_size(p) -> None:
    p.add_argument("--max-size", type=_size, default=MAX_SIZE, metavar="SIZE",
                   help=f"decoding budget: refuse a stream whose tensors take more than SIZE bytes in all "
                        f"(default {format_size(MAX_SIZE)}; e.g. 16GiB)")


def register(sub) -> None:
    p = sub.add_parser("compress", help="compress a state_dict checkpoint into a .pbits bitstream")
    p.add_argument("state_dict", type=Path, help="a PyTorch checkpoint (.pt) holding a state_dict")
    p.add_argument("--codec", default=DEFAULT_CODEC, metavar="ID",
                   help=f"codec preset id, or a coder id for the lossless codec with that coder (pacbits plugins; "
                        f"default {DEFAULT_CODEC})")
    p.add_argument("--config", help="JSON codec config overriding the preset, e.g. '{\"coder\": {\"id\": \"fixed\"}}'")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .pbits bitstream to write")
    add_force(p)
    add_json(p)
    p.set_defaults(func=run_compress)

    p = sub.add_parser("decompress", help="decode a .pbits bitstream into a state_dict checkpoint")
    p.add_argument("bitstream", type=Path, help="the .pbits bitstream to decode")
    p.add_argument("-o", "--output", type=Path, required=True, help="the PyTorch checkpoint (.pt) to write")
    add_force(p)
    add_max_size(p)
    p.add_argument("--json", action="store_true", help="print what was written (tensors, shapes, dtypes, bytes) as JSON")
    p.set_defaults(func=run_decompress)

    p = sub.add_parser("inspect", help="print the per-tensor bit breakdown of a .pbits bitstream")
    p.add_argument("bitstream", type=Path, help="the .pbits bitstream to inspect")
    add_max_size(p)
    add_json(p)
    p.set_defaults(func=run_inspect)


def _show(report, as_json: bool) -> None:
    print_json(report.to_dict()) if as_json else print(report.table())


def run_compress(args) -> int:
    from pacbits.core import Codec
    from pacbits.loading import load_state_dict

    check_output(args.output, args.force, [args.state_dict])  # before the work, and again when writing
    codec = Codec.from_spec(codec_spec(args.codec, args.config))
    out = codec.compress(load_state_dict(args.state_dict))
    write_atomic(args.output, out.data, args.force, [args.state_dict])
    _show(out.report, args.json)
    return 0


def run_decompress(args) -> int:
    import torch

    from pacbits.core import decompress

    check_output(args.output, args.force, [args.bitstream])
    data = read_input(args.bitstream)
    state_dict = decompress(data, max_size=args.max_size)
    write_atomic(args.output, lambda f: torch.save(state_dict, f), args.force, [args.bitstream])
    if args.json:
        print_json({"bitstream": str(args.bitstream), "output": str(args.output), "bits": 8 * len(data),
                    "tensors": [{"name": n, "shape": list(t.shape), "dtype": str(t.dtype).removeprefix("torch."),
                                 "nonzero": int(t.count_nonzero())} for n, t in state_dict.items()]})
    return 0


def run_inspect(args) -> int:
    from pacbits.core import inspect

    _show(inspect(read_input(args.bitstream), max_size=args.max_size), args.json)
    return 0
