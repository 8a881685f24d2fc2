"""The conformance kit any coder, built-in or third-party, can run.

``check_coder(coder)`` asserts, over hypothesis-generated triplets: bit-exact round
trip; injectivity (distinct triplets of one shape give distinct payloads); an
honest bit count (``bits.total == 8 * len(payload)``, every part >= 0);
determinism (same bytes twice, and from a coder rebuilt from its config); and
that corrupted, truncated, random or empty payloads either raise
:class:`~pacbits.core.DecodeError` or decode to a valid triplet, never anything else.
Each property is also a function of its own (``check_round_trip`` ...), and
:class:`pacbits.testing.conformance.CoderConformance` runs them as one pytest test each.
"""
from __future__ import annotations

import json

import numpy as np

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacbits.core import Coder, DecodeError, Encoded, EncodeError, Triplet

from .strategies import mutated_triplets, state_dicts, triplets

__all__ = ["check_coder", "check_config", "check_round_trip", "check_injective", "check_malformed",
           "triplets", "mutated_triplets", "state_dicts"]


def _settings(max_examples: int):
    return settings(max_examples=max_examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _encode(coder: Coder, t: Triplet) -> Encoded:
    enc = coder.encode(t)
    assert isinstance(enc, Encoded), f"{coder.id}: encode returned {type(enc).__name__}, not Encoded"
    assert isinstance(enc.payload, bytes), f"{coder.id}: payload is {type(enc.payload).__name__}, not bytes"
    bits = enc.bits.to_dict()
    assert all(v >= 0 for v in bits.values()), f"{coder.id}: negative bit count in {bits}"
    assert enc.bits.total == 8 * len(enc.payload), (
        f"{coder.id}: reports {enc.bits.total} bits but wrote {8 * len(enc.payload)} ({bits})")
    return enc


#: Slack for an entropy coder's index stream over its ideal length: termination and word padding.
INDEX_SLACK_BITS = 64


def _check_index_bits(coder: Coder, t: Triplet, enc: Encoded) -> None:
    """With an ``index_prior`` P, the ``indices`` bits must hold Q and nothing else.

    The bound engine swaps them for a mixture term under P, so they may not exceed
    Q's code length under P (``sum -log2 P[q]``) plus :data:`INDEX_SLACK_BITS`.
    Without P the engine charges ``k * ceil(log2 r)`` whatever Q cost (Theorem 4.3),
    and nothing here can tell Q's bits from others: the contract is on the coder.
    """
    prior = coder.index_prior(t)
    if prior is None:
        return
    p = np.asarray(prior, dtype=np.float64)
    assert p.shape == (t.r,) and np.all(p >= 0) and p.sum() <= 1 + 1e-9, (
        f"{coder.id}: index_prior is not a distribution over the {t.r} codebook entries")
    with np.errstate(divide="ignore"):
        limit = float(-np.log2(p[t.indices]).sum()) + INDEX_SLACK_BITS
    assert enc.bits.indices <= limit, (
        f"{coder.id}: reports {enc.bits.indices} index bits, more than Q's code length {limit:.1f} under its "
        "index_prior: other bits booked as indices would escape the bound")


def _decode_or_error(coder: Coder, payload: bytes, shape) -> None:
    """A malformed payload must raise DecodeError or decode to a valid triplet of that shape."""
    try:
        t = coder.decode(payload, shape)
    except DecodeError:
        return
    except BaseException as e:  # noqa: BLE001 - a Rust panic is a BaseException
        if isinstance(e, KeyboardInterrupt):
            raise
        raise AssertionError(f"{coder.id}: malformed payload raised {type(e).__name__}: {e}, not DecodeError") from e
    assert isinstance(t, Triplet) and t.shape == tuple(shape), f"{coder.id}: malformed payload gave {t!r}"
    t.validate()


def check_config(coder: Coder) -> None:
    """The config is JSON-safe and ``from_config(get_config())`` gives the same config."""
    cfg = coder.get_config()
    try:
        text = json.dumps(cfg)
    except (TypeError, ValueError) as e:
        raise AssertionError(f"{coder.id}: config is not JSON-safe: {cfg!r} ({e})") from None
    assert json.loads(text) == cfg, f"{coder.id}: config is not JSON-safe: {cfg!r}"
    rebuilt = type(coder).from_config(cfg)
    assert rebuilt.get_config() == cfg, f"{coder.id}: from_config(get_config()) changed the config"


def check_round_trip(coder: Coder, max_examples: int = 500, max_numel: int = 3000) -> None:
    """Bit-exact round trip, an honest bit count, and the same bytes twice and from a rebuilt coder."""
    rebuilt = type(coder).from_config(coder.get_config())

    @_settings(max_examples)
    @given(triplets(max_numel=max_numel))
    def prop(t):
        if not coder.accepts(t):
            try:
                coder.encode(t)
            except EncodeError:
                return
            raise AssertionError(f"{coder.id}: accepts() refuses a triplet that encode() codes")
        enc = _encode(coder, t)
        _check_index_bits(coder, t, enc)
        back = coder.decode(enc.payload, t.shape)
        assert isinstance(back, Triplet) and back.equals(t), f"{coder.id}: decode(encode(t)) != t"
        assert coder.encode(t).payload == enc.payload, f"{coder.id}: encode is not deterministic"
        assert rebuilt.encode(t).payload == enc.payload, f"{coder.id}: a coder rebuilt from its config codes differently"

    prop()


def check_injective(coder: Coder, max_examples: int = 500, max_numel: int = 3000) -> None:
    """Distinct triplets of one shape, including near-collisions, get distinct payloads."""

    @_settings(max_examples)
    @given(mutated_triplets(max_numel=max_numel))
    def prop(pair):
        a, b = pair
        if not a.equals(b) and coder.accepts(a) and coder.accepts(b):
            assert coder.encode(a).payload != coder.encode(b).payload, f"{coder.id}: two triplets share one code"

    prop()


def check_malformed(coder: Coder, max_examples: int = 500, max_numel: int = 3000) -> None:
    """Truncated, bit-flipped, random or extended payloads raise DecodeError or decode to a valid triplet."""

    @_settings(max_examples)
    @given(triplets(max_numel=max_numel), st.data())
    def prop(t, data):
        if not coder.accepts(t):
            return
        payload = coder.encode(t).payload
        cut = data.draw(st.integers(0, max(len(payload) - 1, 0)), label="truncate at")
        _decode_or_error(coder, payload[:cut], t.shape)
        if payload:
            i = data.draw(st.integers(0, 8 * len(payload) - 1), label="flip bit")
            flipped = bytearray(payload)
            flipped[i // 8] ^= 1 << (i % 8)
            _decode_or_error(coder, bytes(flipped), t.shape)
        junk = data.draw(st.binary(max_size=64), label="random bytes")
        _decode_or_error(coder, junk, t.shape)
        _decode_or_error(coder, payload + junk, t.shape)

    prop()


def check_coder(coder: Coder, max_examples: int = 500, max_numel: int = 3000) -> None:
    """Run every conformance property on ``coder``; raises AssertionError on the first failure."""
    check_config(coder)
    check_round_trip(coder, max_examples, max_numel)
    check_injective(coder, max_examples, max_numel)
    check_malformed(coder, max_examples, max_numel)
