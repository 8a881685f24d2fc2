"""The conformance kit as a pytest plugin: a subclass of CoderConformance gets one test per property."""
pytest_plugins = ["pytester"]

SUITE = '''
from pacbits.core import Encoded
from pacbits.plugins.fixed import FixedCoder
from pacbits.testing.conformance import CoderConformance


class Drops(FixedCoder):
    def decode(self, payload, shape):
        t = super().decode(payload, shape)
        return type(t).build(shape, t.positions[:-1], t.codebook, t.indices[:-1])


class TestFixed(CoderConformance):
    coder = FixedCoder()


class TestDrops(CoderConformance):
    coder = Drops()


class TestForgotTheCoder(CoderConformance):
    pass
'''


def test_each_property_is_a_test_and_failures_name_it(pytester):
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("--pacbits-max-examples", "30", "-q")
    outcomes = {r.nodeid.split("::", 1)[1]: r.outcome for r in result.reprec.getreports("pytest_runtest_logreport")
                if r.when == "call" or r.outcome == "failed"}
    for prop in ("config_round_trips", "round_trip_exact_honest_deterministic", "code_is_injective",
                 "malformed_payload_raises_decode_error", "decoding_is_canonical"):
        assert outcomes[f"TestFixed::test_{prop}"] == "passed"
        assert outcomes[f"TestForgotTheCoder::test_{prop}"] == "failed"
    assert outcomes["TestDrops::test_round_trip_exact_honest_deterministic"] == "failed"
    assert outcomes["TestDrops::test_config_round_trips"] == "passed"
    result.stdout.fnmatch_lines(["*set `coder = MyCoder()`*", "*decode(encode(t)) != t*"])  # errors, then failures


def test_pacbits_coder_option_runs_the_suite_on_a_registered_coder(pytester):
    result = pytester.runpytest("--pacbits-coder", "fixed",
                                "--pacbits-coder", '{"id": "fixed", "positions": "bitmask"}', "--pacbits-max-examples", "20")
    result.assert_outcomes(passed=10, skipped=2)  # no quantizer or pruner named: their suites skip


def test_quantizer_and_pruner_options_run_their_kits(pytester):
    result = pytester.runpytest("--pacbits-quantizer", "kmeans", "--pacbits-quantizer", '{"id": "kmeans", "dtype": "float16"}',
                                "--pacbits-pruner", "magnitude", "--pacbits-max-examples", "10")
    result.assert_outcomes(passed=3, skipped=5)  # no coder named: its five properties skip
