"""The conformance kits as pytest tests: subclass a ``*Conformance`` class to check a component.

::

    from pacbits.testing.conformance import CoderConformance, QuantizerConformance

    class TestMyCoder(CoderConformance):
        coder = MyCoder()

    class TestMyQuantizer(QuantizerConformance):
        quantizer = MyQuantizer()

gives one test per property (for a coder: config, round trip with honest and
deterministic bits, injectivity, DecodeError on malformed input, canonical
decoding). To check several configs, override the ``pacbits_coder`` (or
``pacbits_quantizer``, ``pacbits_pruner``) fixture with ``params``. Hypothesis runs
``--pacbits-max-examples`` examples per property (the pytest plugin
:mod:`pacbits.pytest_plugin` adds that option). ``pytest --pacbits-coder ID``
(``--pacbits-quantizer ID``, ``--pacbits-pruner ID``) runs the ``TestInstalled*``
classes below on installed components without a test file.
"""
from __future__ import annotations

import json

import pytest

from pacbits.core import Coder, Pruner, Quantizer, default_registry

from . import check_canonical, check_config, check_injective, check_malformed, check_pruner, check_quantizer, check_round_trip


def _component(self, attr: str):
    obj = getattr(self, attr)
    if obj is None:
        pytest.fail(f"{type(self).__name__}: set `{attr} = My{attr.capitalize()}()` or override the pacbits_{attr} fixture")
    return obj


class CoderConformance:
    """Base class of coder conformance tests; not collected itself (its name lacks ``Test``)."""

    coder: Coder | None = None

    @pytest.fixture
    def pacbits_coder(self) -> Coder:
        return _component(self, "coder")

    def test_config_round_trips(self, pacbits_coder):
        check_config(pacbits_coder)

    def test_round_trip_exact_honest_deterministic(self, pacbits_coder, pacbits_max_examples):
        check_round_trip(pacbits_coder, pacbits_max_examples)

    def test_code_is_injective(self, pacbits_coder, pacbits_max_examples):
        check_injective(pacbits_coder, pacbits_max_examples)

    def test_malformed_payload_raises_decode_error(self, pacbits_coder, pacbits_max_examples):
        check_malformed(pacbits_coder, pacbits_max_examples)

    def test_decoding_is_canonical(self, pacbits_coder, pacbits_max_examples):
        check_canonical(pacbits_coder, pacbits_max_examples)


class QuantizerConformance:
    """Base class of quantizer conformance tests (see :func:`pacbits.testing.check_quantizer`)."""

    quantizer: Quantizer | None = None

    @pytest.fixture
    def pacbits_quantizer(self) -> Quantizer:
        return _component(self, "quantizer")

    def test_quantizer_conforms(self, pacbits_quantizer, pacbits_max_examples):
        check_quantizer(pacbits_quantizer, pacbits_max_examples)


class PrunerConformance:
    """Base class of pruner conformance tests (see :func:`pacbits.testing.check_pruner`)."""

    pruner: Pruner | None = None

    @pytest.fixture
    def pacbits_pruner(self) -> Pruner:
        return _component(self, "pruner")

    def test_pruner_conforms(self, pacbits_pruner, pacbits_max_examples):
        check_pruner(pacbits_pruner, pacbits_max_examples)


def component_from_option(kind: str, spec: str):
    """A registered component from ``--pacbits-KIND``: an id, or a JSON config such as ``{"id": "fixed"}``."""
    return default_registry().create(kind, json.loads(spec) if spec.lstrip().startswith("{") else spec)


def _parametrize(metafunc, kind: str) -> None:
    specs = metafunc.config.getoption(f"pacbits_{kind}") or []
    metafunc.parametrize(f"pacbits_{kind}", [component_from_option(kind, s) for s in specs], ids=specs)


class TestInstalledCoder(CoderConformance):
    """The suite for each ``--pacbits-coder``, on the registry of installed plugins."""

    def pytest_generate_tests(self, metafunc):
        _parametrize(metafunc, "coder")


class TestInstalledQuantizer(QuantizerConformance):
    """The suite for each ``--pacbits-quantizer``."""

    def pytest_generate_tests(self, metafunc):
        _parametrize(metafunc, "quantizer")


class TestInstalledPruner(PrunerConformance):
    """The suite for each ``--pacbits-pruner``."""

    def pytest_generate_tests(self, metafunc):
        _parametrize(metafunc, "pruner")
