"""Plugin mistakes fail loudly: in the conformance kit, in the Codec, and at entry-point loading.

(Hooks that raise or return the wrong type, duplicate ids and classes missing
methods are covered in test_registry.py.)
"""
import dataclasses

import numpy as np
import pytest
import torch

from pacbits.core import Codec, DecodeError, Encoded, PluginError, Triplet, make_registry
from pacbits.core.codec import decode_triplet
from pacbits.plugins.fixed import FixedCoder
from pacbits.testing import check_coder


class FewerBits(FixedCoder):
    """Reports one bit less than it writes."""

    def encode(self, t):
        enc = super().encode(t)
        return Encoded(enc.payload, dataclasses.replace(enc.bits, header=enc.bits.header - 1))


class DropsLastWeight(FixedCoder):
    """decode(encode(t)) loses the last kept weight."""

    def decode(self, payload, shape):
        t = super().decode(payload, shape)
        return Triplet.build(shape, t.positions[:-1], t.codebook, t.indices[:-1])


class Nondeterministic(FixedCoder):
    """Appends a counter byte (counted as padding) that decode ignores: round trips, but not the same bytes twice."""

    calls = 0

    def encode(self, t):
        enc = super().encode(t)
        Nondeterministic.calls += 1
        return Encoded(enc.payload + bytes([self.calls % 256]), dataclasses.replace(enc.bits, padding=enc.bits.padding + 8))

    def decode(self, payload, shape):
        return super().decode(payload[:-1], shape)


class CrashesOnJunk(FixedCoder):
    """Raises IndexError, not DecodeError, on an empty payload."""

    def decode(self, payload, shape):
        payload[0]
        return super().decode(payload, shape)


class RefusesButCodes(FixedCoder):
    """accepts() says no to float16 codebooks, but encode() codes them anyway."""

    def accepts(self, t):
        return t.codebook.dtype != np.float16


class BooksHeaderAsIndices(FixedCoder):
    """Claims a uniform index prior but moves its header bits under ``indices``."""

    def index_prior(self, t):
        return np.full(t.r, 1 / t.r) if t.r else None

    def encode(self, t):
        enc = super().encode(t)
        return Encoded(enc.payload, dataclasses.replace(enc.bits, header=0, indices=enc.bits.indices + enc.bits.header))


class ConfigNotJson(FixedCoder):
    def __init__(self, positions="auto", scale=np.float32(0.5)):
        super().__init__(positions)
        self.scale = scale


@pytest.mark.parametrize("coder, message", [
    pytest.param(FewerBits(), r"reports \d+ bits but wrote \d+", id="fewer-bits"),
    pytest.param(DropsLastWeight(), r"decode\(encode\(t\)\) != t", id="no-round-trip"),
    pytest.param(Nondeterministic(), "encode is not deterministic", id="nondeterministic"),
    pytest.param(CrashesOnJunk(), "raised IndexError.*not DecodeError", id="crashes-on-junk"),
    pytest.param(ConfigNotJson(), "config is not JSON-safe", id="config-not-json"),
    pytest.param(BooksHeaderAsIndices(), "other bits booked as indices", id="header-as-indices"),
    pytest.param(RefusesButCodes(), r"accepts\(\) refuses a triplet that encode\(\) codes", id="accepts-lies"),
])
def test_conformance_kit_catches(coder, message):
    with pytest.raises(AssertionError, match=message):
        check_coder(coder, max_examples=100)


def state_dict():
    torch.manual_seed(0)
    return torch.nn.Linear(20, 10).state_dict()


def test_codec_refuses_fewer_bits_than_written():
    with pytest.raises(PluginError, match=r"coder 'fixed' reported \d+ bits for the \d+-bit payload of tensor 'weight'"):
        Codec(FewerBits()).compress(state_dict())


def test_codec_refuses_a_code_that_does_not_round_trip():
    with pytest.raises(PluginError, match=r"coder 'fixed' does not round-trip tensor 'weight'"):
        Codec(DropsLastWeight()).compress(state_dict())


def test_codec_refuses_a_coder_that_cannot_decode_its_own_payload():
    class Mute(FixedCoder):
        def decode(self, payload, shape):
            raise DecodeError("nothing to say")

    with pytest.raises(PluginError, match="cannot decode its own payload of tensor 'weight': nothing to say"):
        Codec(Mute()).compress(state_dict())


def test_decoder_crash_becomes_decode_error():
    with pytest.raises(DecodeError, match="failed on malformed payload: IndexError"):
        decode_triplet(CrashesOnJunk(), b"", (3,))


def test_entry_point_that_fails_to_import(tmp_path, monkeypatch):
    dist = tmp_path / "broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[pacbits]\nbroken-plugin = broken_plugin_module_that_is_missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="entry-point plugins of group 'pacbits'.*broken_plugin_module_that_is_missing"):
        make_registry()
