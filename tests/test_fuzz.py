"""The short, hypothesis-driven version of benchmarks/fuzz.py: mutated real streams of every coder."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacbits.core import default_registry, make_registry
from pacbits.testing.fuzz import MUTATORS, mutate, run_one, seed_streams

REG = default_registry()
SEEDS = seed_streams(REG)


def test_every_registered_coder_has_seed_streams():
    assert {c for c, _ in SEEDS} == set(REG.ids("coder"))


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(SEEDS) - 1), st.sampled_from(MUTATORS), st.integers(0, 2**32 - 1))
def test_mutated_streams_decode_or_raise_decode_error(index, kind, seed):
    _, data = SEEDS[index]
    _, bad = mutate(data, np.random.default_rng(seed), REG.ids("coder"), kind)
    outcome, detail = run_one(bad, REG, max_size=16 << 20)
    assert outcome in ("ok", "DecodeError"), detail


def test_a_plugin_coder_is_fuzzed_too():
    """A coder registered by a plugin gets seed streams and the same checks, with no code of its own."""
    from test_plugins_doc import guide_plugin

    reg = make_registry(entry_points=False, plugins=[guide_plugin()])
    seeds = [s for c, s in seed_streams(reg) if c == "raw32"]
    assert seeds
    rng = np.random.default_rng(0)
    outcomes = {run_one(mutate(s, rng, reg.ids("coder"), "payload")[1], reg, 16 << 20)[0] for s in seeds * 5}
    assert outcomes <= {"ok", "DecodeError"} and "DecodeError" in outcomes
