"""The conformance kit as pytest tests: subclass :class:`CoderConformance` to check a coder.

::

    from pacbits.testing.conformance import CoderConformance

    class TestMyCoder(CoderConformance):
        coder = MyCoder()

gives one test per property (config, round trip with honest and deterministic
bits, injectivity, DecodeError on malformed input). To check several configs,
override the ``pacbits_coder`` fixture with ``params``. Hypothesis runs
``--pacbits-max-examples`` examples per property (the pytest plugin
:mod:`pacbits.pytest_plugin` adds that option). ``pytest --pacbits-coder ID``
runs :class:`TestInstalledCoder` below on an installed coder without a test file.
"""
from __future__ import annotations

import json

import pytest

from pacbits.core import Coder, default_registry

from . import check_config, check_injective, check_malformed, check_round_trip


class CoderConformance:
    """Base class of conformance tests; not collected itself (its name lacks ``Test``)."""

    coder: Coder | None = None

    @pytest.fixture
    def pacbits_coder(self) -> Coder:
        if self.coder is None:
            pytest.fail(f"{type(self).__name__}: set `coder = MyCoder()` or override the pacbits_coder fixture")
        return self.coder

    def test_config_round_trips(self, pacbits_coder):
        check_config(pacbits_coder)

    def test_round_trip_exact_honest_deterministic(self, pacbits_coder, pacbits_max_examples):
        check_round_trip(pacbits_coder, pacbits_max_examples)

    def test_code_is_injective(self, pacbits_coder, pacbits_max_examples):
        check_injective(pacbits_coder, pacbits_max_examples)

    def test_malformed_payload_raises_decode_error(self, pacbits_coder, pacbits_max_examples):
        check_malformed(pacbits_coder, pacbits_max_examples)


def coder_from_option(spec: str) -> Coder:
    """A registered coder from ``--pacbits-coder``: an id, or a JSON config such as ``{"id": "fixed"}``."""
    return default_registry().create("coder", json.loads(spec) if spec.lstrip().startswith("{") else spec)


class TestInstalledCoder(CoderConformance):
    """The suite for each ``--pacbits-coder``, on the registry of installed plugins."""

    def pytest_generate_tests(self, metafunc):
        specs = metafunc.config.getoption("pacbits_coder") or []
        metafunc.parametrize("pacbits_coder", [coder_from_option(s) for s in specs], ids=specs)
