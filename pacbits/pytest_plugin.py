"""pytest plugin of pacbits (entry point ``pytest11``), loaded wherever pacbits is installed.

Options:

``--pacbits-coder SPEC``
    Run the conformance suite on an installed coder, given by id or JSON config;
    repeatable. Only that suite is collected unless test paths are named too.
``--pacbits-max-examples N``
    Hypothesis examples per property (default 500).

Fixture ``pacbits_max_examples`` holds the latter; :class:`~pacbits.testing.conformance.CoderConformance`
uses it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

# Kept outside pacbits.testing so that loading this plugin, which pytest does in
# every run wherever pacbits is installed, imports neither torch nor hypothesis.
SUITE = Path(__file__).parent / "testing" / "conformance.py"


def pytest_addoption(parser):
    group = parser.getgroup("pacbits", "pacbits coder conformance")
    group.addoption("--pacbits-coder", action="append", metavar="SPEC",
                    help="run the conformance suite on this installed coder (an id or a JSON config); repeatable")
    group.addoption("--pacbits-max-examples", type=int, default=500, metavar="N",
                    help="hypothesis examples per conformance property (default 500)")


def pytest_load_initial_conftests(early_config, parser, args):
    """With ``--pacbits-coder``, collect the bundled suite (it is not a ``test_*.py`` file)."""
    if any(a == "--pacbits-coder" or a.startswith("--pacbits-coder=") for a in args):
        args.append(str(SUITE))


@pytest.fixture
def pacbits_max_examples(request) -> int:
    return request.config.getoption("pacbits_max_examples")
