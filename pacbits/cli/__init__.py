"""The ``pacbits`` command line.

Each public module of this package defines ``register(subparsers)``, which adds one
or more subcommands whose ``func(args)`` returns an exit code. User errors print
one line and exit 2; no traceback. Every command takes ``--json`` (exactly one JSON
document on stdout) and ``-q/--quiet``; ``pacbits --version``; ``--disable-plugin
NAME`` and ``--no-plugins`` skip installed plugins (see :mod:`pacbits.core.loading`).
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from pacbits import __version__
from pacbits.core import PacbitsError

from ._output import routed


def _common_options(p, default) -> None:
    """``-q/--quiet`` and the plugin switches, on the main parser (``default``) and each command (unset)."""
    p.add_argument("-q", "--quiet", action="store_true", default=default,
                   help="no status lines or progress bars (results, warnings and errors still print)")
    p.add_argument("--disable-plugin", action="append", metavar="NAME", default=default,
                   help="skip the installed plugin of this entry-point or distribution name; repeatable "
                        "(also $PACBITS_DISABLE_PLUGINS, comma-separated)")
    p.add_argument("--no-plugins", action="store_true", default=default,
                   help="skip every installed third-party plugin (built-ins stay)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pacbits", description="Compress trained networks into real bitstreams and bound their test error.")
    parser.add_argument("--version", action="version", version=f"pacbits {__version__}")
    _common_options(parser, None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}").register(sub)
    for p in sub.choices.values():
        _common_options(p, argparse.SUPPRESS)  # given after the command; the main parser's value otherwise
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with routed(getattr(args, "json", False), bool(args.quiet)) as err:
        try:
            if args.disable_plugin or args.no_plugins:
                from pacbits.core import default_registry

                default_registry(disable=["*"] if args.no_plugins else args.disable_plugin)
            return int(args.func(args) or 0)
        except (PacbitsError, OSError) as e:
            msg = " ".join(str(e).split())  # one line, whatever the exception held
            print(f"pacbits {args.command}: error: {msg}", file=err)
            return 2
        except KeyboardInterrupt:
            print("pacbits: interrupted", file=err)
            return 130
