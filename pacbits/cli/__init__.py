"""The ``pacbits`` command line.

Each public module of this package defines ``register(subparsers)``, which adds one
or more subcommands whose ``func(args)`` returns an exit code. User errors print
one line and exit 2; no traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from pacbits.core import PacbitsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pacbits", description="Compress trained networks into real bitstreams and bound their test error.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (PacbitsError, OSError) as e:
        msg = " ".join(str(e).split())  # one line, whatever the exception held
        print(f"pacbits {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pacbits: interrupted", file=sys.stderr)
        return 130
