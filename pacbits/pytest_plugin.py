"""pytest plugin of pacbits (entry point ``pytest11``), loaded wherever pacbits is installed.

Options:

``--pacbits-coder SPEC``, ``--pacbits-quantizer SPEC``, ``--pacbits-pruner SPEC``
    Run the conformance suite on an installed coder (quantizer, pruner), given by
    id or JSON config; repeatable. Only those suites are collected unless test
    paths are named too.
``--pacbits-max-examples N``
    Hypothesis examples per property (default 500).

Fixture ``pacbits_max_examples`` holds the latter; the ``*Conformance`` classes of
:mod:`pacbits.testing.conformance` use it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

# Kept outside pacbits.testing so that loading this plugin, which pytest does in
# every run wherever pacbits is installed, imports neither torch nor hypothesis.
SUITE = Path(__file__).parent / "testing" / "conformance.py"
KINDS = ("coder", "quantizer", "pruner")


def pytest_addoption(parser):
    group = parser.getgroup("pacbits", "pacbits conformance kits")
    for kind in KINDS:
        group.addoption(f"--pacbits-{kind}", action="append", metavar="SPEC",
                        help=f"run the conformance suite on this installed {kind} (an id or a JSON config); repeatable")
    group.addoption("--pacbits-max-examples", type=int, default=500, metavar="N",
                    help="hypothesis examples per conformance property (default 500)")


def pytest_load_initial_conftests(early_config, parser, args):
    """With ``--pacbits-KIND``, collect the bundled suite (it is not a ``test_*.py`` file)."""
    opts = tuple(f"--pacbits-{kind}" for kind in KINDS)
    if any(a in opts or a.startswith(tuple(o + "=" for o in opts)) for a in args):
        args.append(str(SUITE))


@pytest.fixture
def pacbits_max_examples(request) -> int:
    return request.config.getoption("pacbits_max_examples")
