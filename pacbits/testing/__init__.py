"""The conformance kit any coder, built-in or third-party, can run.

``check_coder(coder)`` asserts, over hypothesis-generated triplets (codebooks with
-0.0, subnormals, float16/float32 extremes and repeated entries): bit-exact round
trip; an honest bit count (``bits.total == 8 * len(payload)``, every part >= 0);
determinism (same bytes every time, and from a coder rebuilt from its config);
injectivity (distinct triplets of one shape, near-collisions and fixed
adversarial pairs included, give distinct payloads); that corrupted, truncated,
extended or random payloads either raise :class:`~pacbits.core.DecodeError` or
decode to a valid triplet; and canonical decoding: a payload that decodes
re-encodes to exactly its own bytes. Each property is also a function of its own
(``check_round_trip`` ...), and :class:`pacbits.testing.conformance.CoderConformance`
runs them as one pytest test each. Every failure names the coder, its class and
distribution (:func:`pacbits.core.component.describe`) and the property.

``check_quantizer`` and ``check_pruner`` do the same for the other two stages.
"""
from __future__ import annotations

import json

import numpy as np

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacbits.core import Coder, DecodeError, Encoded, EncodeError, Triplet
from pacbits.core.component import describe

from .components import check_pruner, check_quantizer
from .strategies import mutated_triplets, special_values, state_dicts, triplets

__all__ = ["check_coder", "check_config", "check_round_trip", "check_injective", "check_malformed",
           "check_canonical", "check_quantizer", "check_pruner", "adversarial_pairs",
           "triplets", "mutated_triplets", "special_values", "state_dicts"]


def _settings(max_examples: int):
    return settings(max_examples=max_examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _encode(coder: Coder, t: Triplet) -> Encoded:
    name = describe(coder)
    enc = coder.encode(t)
    assert isinstance(enc, Encoded), f"{name}: encode returned {type(enc).__name__}, not Encoded"
    assert isinstance(enc.payload, bytes), f"{name}: payload is {type(enc.payload).__name__}, not bytes"
    bits = enc.bits.to_dict()
    assert all(v >= 0 for v in bits.values()), f"{name}: honest bit count: negative bit count in {bits}"
    assert enc.bits.total == 8 * len(enc.payload), (
        f"{name}: honest bit count: reports {enc.bits.total} bits but wrote {8 * len(enc.payload)} ({bits})")
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
    name = describe(coder)
    p = np.asarray(prior, dtype=np.float64)
    assert p.shape == (t.r,) and np.all(p >= 0) and p.sum() <= 1 + 1e-9, (
        f"{name}: index_prior is not a distribution over the {t.r} codebook entries")
    with np.errstate(divide="ignore"):
        limit = float(-np.log2(p[t.indices]).sum()) + INDEX_SLACK_BITS
    assert enc.bits.indices <= limit, (
        f"{name}: index bits: reports {enc.bits.indices} index bits, more than Q's code length {limit:.1f} under its "
        "index_prior: other bits booked as indices would escape the bound")


def _decode(coder: Coder, payload: bytes, shape, how: str) -> Triplet | None:
    """Decode a (possibly malformed) payload: a valid triplet of that shape, or None on DecodeError."""
    try:
        t = coder.decode(payload, shape)
    except DecodeError:
        return None
    except BaseException as e:  # noqa: BLE001 - a Rust panic is a BaseException
        if isinstance(e, KeyboardInterrupt):
            raise
        raise AssertionError(f"{describe(coder)}: malformed input: a {how} payload raised {type(e).__name__}: {e}, "
                             "not DecodeError") from e
    assert isinstance(t, Triplet) and t.shape == tuple(shape), f"{describe(coder)}: a {how} payload gave {t!r}"
    try:
        t.validate()
    except EncodeError as e:
        raise AssertionError(f"{describe(coder)}: malformed input: a {how} payload decodes to an invalid triplet: {e}")
    return t


def _check_canonical(coder: Coder, payload: bytes, shape, how: str) -> None:
    """If ``payload`` decodes, it must be the code of what it decodes to."""
    t = _decode(coder, payload, shape, how)
    if t is None:
        return
    try:
        again = coder.encode(t).payload
    except EncodeError as e:
        again = f"an EncodeError ({e})"
    assert again == payload, (
        f"{describe(coder)}: decoding is not canonical: a {how} payload of {len(payload)} bytes decodes to a triplet "
        f"whose code is {again if isinstance(again, str) else f'{len(again)} other bytes'}; the decoder must reject "
        "every payload encode() does not write (trailing bytes, nonzero padding, overlong fields), else two "
        "bitstreams decode to one network")


def check_config(coder) -> None:
    """The config is JSON-safe and ``from_config(get_config())`` gives the same config (any component)."""
    name = describe(coder)
    cfg = coder.get_config()
    try:
        text = json.dumps(cfg)
    except (TypeError, ValueError) as e:
        raise AssertionError(f"{name}: config is not JSON-safe: {cfg!r} ({e})") from None
    assert json.loads(text) == cfg, f"{name}: config is not JSON-safe: {cfg!r}"
    rebuilt = type(coder).from_config(cfg)
    assert rebuilt.get_config() == cfg, f"{name}: config: from_config(get_config()) changed the config"


def check_round_trip(coder: Coder, max_examples: int = 500, max_numel: int = 3000) -> None:
    """Bit-exact round trip, an honest bit count, and the same bytes every time and from a rebuilt coder."""
    name = describe(coder)
    rebuilt = type(coder).from_config(coder.get_config())

    @_settings(max_examples)
    @given(triplets(max_numel=max_numel))
    def prop(t):
        if not coder.accepts(t):
            try:
                coder.encode(t)
            except EncodeError:
                return
            raise AssertionError(f"{name}: accepts() refuses a triplet that encode() codes")
        enc = _encode(coder, t)
        _check_index_bits(coder, t, enc)
        back = coder.decode(enc.payload, t.shape)
        assert isinstance(back, Triplet) and back.equals(t), f"{name}: round trip: decode(encode(t)) != t"
        again = [coder.encode(t).payload for _ in range(2)]
        assert all(p == enc.payload for p in again), (
            f"{name}: encode is not deterministic: one triplet, one coder, different bytes")
        other = rebuilt.encode(t).payload
        if other != enc.payload:
            same = rebuilt.encode(t).payload == other
            raise AssertionError(
                f"{name}: encode is not deterministic: a coder rebuilt from its config codes differently"
                + ("; it is self-consistent, so the config leaves out state encode() uses" if same else ""))

    prop()


def adversarial_pairs() -> list[tuple[Triplet, Triplet]]:
    """Fixed pairs of distinct triplets that careless codes confuse: the sign of zero, a
    subnormal against zero, one value in float16 and float32, a repeated entry."""
    pairs = []
    for dt in (np.float16, np.float32):
        sub = np.finfo(dt).smallest_subnormal
        cb = lambda *v: np.array(v, dtype=dt)
        pairs += [
            (Triplet.build((4,), [1], cb(0.0), [0]), Triplet.build((4,), [1], cb(-0.0), [0])),
            (Triplet.build((4,), [1, 2], cb(0.0, -0.0), [0, 1]), Triplet.build((4,), [1, 2], cb(-0.0, 0.0), [0, 1])),
            (Triplet.build((4,), [], cb(-0.0), []), Triplet.build((4,), [], cb(0.0), [])),
            (Triplet.build((4,), [3], cb(0.0), [0]), Triplet.build((4,), [3], cb(sub), [0])),
            (Triplet.build((4,), [0], cb(1.0), [0]), Triplet.build((4,), [0], cb(1.0, 1.0), [0])),
        ]
    pairs.append((Triplet.build((4,), [2], np.array([1.0], np.float16), [0]),
                  Triplet.build((4,), [2], np.array([1.0], np.float32), [0])))
    return pairs


def check_injective(coder: Coder, max_examples: int = 500, max_numel: int = 3000) -> None:
    """Distinct triplets of one shape (adversarial pairs, near-collisions) get distinct payloads."""
    name = describe(coder)

    def distinct(a: Triplet, b: Triplet, how: str) -> None:
        if not a.equals(b) and coder.accepts(a) and coder.accepts(b):
            assert coder.encode(a).payload != coder.encode(b).payload, (
                f"{name}: not injective: two different triplets ({how}) share one code")

    for a, b in adversarial_pairs():
        distinct(a, b, f"codebooks {a.codebook!r} and {b.codebook!r}")

    @_settings(max_examples)
    @given(mutated_triplets(max_numel=max_numel))
    def prop(pair):
        distinct(*pair, "a near-collision")

    prop()


def _mutants(data, payload: bytes) -> list[tuple[str, bytes]]:
    """Truncated, bit-flipped (anywhere, and in the last byte), extended and random payloads."""
    out = [("truncated", payload[: data.draw(st.integers(0, max(len(payload) - 1, 0)), label="truncate at")])]
    if payload:
        for how, lo in (("bit-flipped", 0), ("last-byte-flipped", 8 * len(payload) - 8)):
            i = data.draw(st.integers(lo, 8 * len(payload) - 1), label=how)
            flipped = bytearray(payload)
            flipped[i // 8] ^= 1 << (i % 8)
            out.append((how, bytes(flipped)))
    junk = data.draw(st.binary(max_size=64), label="random bytes")
    out += [("random", junk), ("extended", payload + junk), ("zero-extended", payload + b"\0")]
    return out


def check_malformed(coder: Coder, max_examples: int = 500, max_numel: int = 3000) -> None:
    """Truncated, bit-flipped, random or extended payloads raise DecodeError or decode to a valid triplet."""

    @_settings(max_examples)
    @given(triplets(max_numel=max_numel), st.data())
    def prop(t, data):
        if coder.accepts(t):
            for how, payload in _mutants(data, coder.encode(t).payload):
                _decode(coder, payload, t.shape, how)

    prop()


def check_canonical(coder: Coder, max_examples: int = 500, max_numel: int = 3000) -> None:
    """Any payload that decodes (a mutated valid one, random bytes) re-encodes to exactly itself.

    With a deterministic encoder this makes the code injective on *payloads*: no
    two bitstreams decode to one network, so a stream's length is the length of the
    network's code (what ``pacbits inspect`` and the bound rely on).
    """

    @_settings(max_examples)
    @given(triplets(max_numel=max_numel), st.data())
    def prop(t, data):
        if coder.accepts(t):
            for how, payload in _mutants(data, coder.encode(t).payload):
                _check_canonical(coder, payload, t.shape, how)

    prop()


def check_coder(coder: Coder, max_examples: int = 500, max_numel: int = 3000) -> None:
    """Run every conformance property on ``coder``; raises AssertionError on the first failure."""
    check_config(coder)
    check_round_trip(coder, max_examples, max_numel)
    check_injective(coder, max_examples, max_numel)
    check_malformed(coder, max_examples, max_numel)
    check_canonical(coder, max_examples, max_numel)
