"""Plugin mistakes fail loudly: in the conformance kit, in the Codec, and at entry-point loading.

(Hooks that raise or return the wrong type, duplicate ids and classes missing
methods are covered in test_registry.py; broken entry points in test_plugin_loading.py.)
"""
import dataclasses

import numpy as np
import pytest
import torch

from pacbits.core import Codec, DecodeError, Encoded, EncodeError, PluginError, Triplet
from pacbits.core.codec import decode_triplet
from pacbits.core.component import describe
from pacbits.plugins.fixed import FixedCoder
from pacbits.plugins.kmeans import KMeansQuantizer
from pacbits.plugins.magnitude import MagnitudePruner
from pacbits.testing import check_coder, check_injective, check_pruner, check_quantizer


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


class SaltedPerInstance(FixedCoder):
    """Each instance appends its own salt byte, which the config leaves out: deterministic per instance only."""

    salt = 0

    def __init__(self, positions="auto"):
        super().__init__(positions)
        SaltedPerInstance.salt += 1
        self._salt = SaltedPerInstance.salt % 256

    def encode(self, t):
        enc = super().encode(t)
        return Encoded(enc.payload + bytes([self._salt]), dataclasses.replace(enc.bits, padding=enc.bits.padding + 8))

    def decode(self, payload, shape):
        return super().decode(payload[:-1], shape)


class SignlessZero(FixedCoder):
    """Stores -0.0 as +0.0 and decodes a zero center as whatever the encoder was given (issue 15 (b))."""

    def encode(self, t):
        cb = np.where(t.codebook == 0, np.zeros_like(t.codebook), t.codebook).astype(t.codebook.dtype)
        return super().encode(Triplet.build(t.shape, t.positions, cb, t.indices))


class IgnoresTrailingBytes(FixedCoder):
    """Decodes the longest prefix that decodes: extra bytes are ignored (issue 15 (e))."""

    def decode(self, payload, shape):
        for cut in range(len(payload), max(len(payload) - 80, -1), -1):
            try:
                return super().decode(payload[:cut], shape)
            except DecodeError:
                continue
        raise DecodeError("nothing decodes")


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
    pytest.param(FewerBits(), r"honest bit count: reports \d+ bits but wrote \d+", id="fewer-bits"),
    pytest.param(DropsLastWeight(), r"round trip: decode\(encode\(t\)\) != t", id="no-round-trip"),
    pytest.param(Nondeterministic(), "encode is not deterministic: one triplet, one coder, different bytes",
                 id="nondeterministic"),
    pytest.param(SaltedPerInstance(), "encode is not deterministic: a coder rebuilt from its config codes "
                 "differently; it is self-consistent, so the config leaves out state", id="state-outside-config"),
    pytest.param(SignlessZero(), r"round trip|not injective", id="signless-zero"),
    pytest.param(IgnoresTrailingBytes(), "decoding is not canonical: a (extended|zero-extended) payload",
                 id="ignores-trailing-bytes"),
    pytest.param(CrashesOnJunk(), "malformed input: a .* payload raised IndexError.*not DecodeError", id="crashes-on-junk"),
    pytest.param(ConfigNotJson(), "config is not JSON-safe", id="config-not-json"),
    pytest.param(BooksHeaderAsIndices(), "index bits: .* other bits booked as indices", id="header-as-indices"),
    pytest.param(RefusesButCodes(), r"accepts\(\) refuses a triplet that encode\(\) codes", id="accepts-lies"),
])
def test_conformance_kit_catches(coder, message):
    """Each broken coder fails with a message that names it (class and origin) and the property."""
    with pytest.raises(AssertionError, match=message) as err:
        check_coder(coder, max_examples=100)
    assert str(err.value).startswith(f"coder 'fixed' ({type(coder).__name__}, module ")


def test_injectivity_sees_the_sign_of_zero():
    """(b): a code blind to the sign of a zero center is not injective, whatever hypothesis draws."""
    with pytest.raises(AssertionError, match=r"not injective: two different triplets \(codebooks array\(\[0.\]"):
        check_injective(SignlessZero(), max_examples=1)


def test_built_in_names_its_distribution():
    assert describe(FixedCoder()) == "coder 'fixed' (FixedCoder, pacbits 0.1.0)"


class OutOfRange(KMeansQuantizer):
    def quantize(self, name, values):
        cb, idx = super().quantize(name, values)
        return cb, idx + 1


class Float64Codebook(KMeansQuantizer):
    def quantize(self, name, values):
        cb, idx = super().quantize(name, values)
        return cb.astype(np.float64), idx


class WrongDtype(KMeansQuantizer):
    """Its config says float16; it returns float32."""

    def quantize(self, name, values):
        cb, idx = super().quantize(name, values)
        return cb.astype(np.float32), idx


class RandomQuantizer(KMeansQuantizer):
    """Shifts its codebook by a call counter: a different result every call."""

    calls = 0

    def quantize(self, name, values):
        cb, idx = super().quantize(name, values)
        RandomQuantizer.calls += 1
        return (cb + np.float32(self.calls % 7)).astype(cb.dtype), idx


@pytest.mark.parametrize("quantizer, message", [
    pytest.param(OutOfRange(), r"indices out of range", id="out-of-range"),
    pytest.param(Float64Codebook(), "codebook dtype float64 is not float32 or float16", id="float64"),
    pytest.param(WrongDtype(dtype="float16"), "codebook dtype not honoured: its config says float16", id="dtype"),
    pytest.param(RandomQuantizer(), "quantize is not deterministic", id="random"),
])
def test_quantizer_kit_catches(quantizer, message):
    with pytest.raises(AssertionError, match=message) as err:
        check_quantizer(quantizer, max_examples=50)
    assert str(err.value).startswith(f"quantizer 'kmeans' ({type(quantizer).__name__}, module ")


class FlatMasks(MagnitudePruner):
    def masks(self, weights):
        return {n: m.reshape(-1) for n, m in super().masks(weights).items()}


class FloatMasks(MagnitudePruner):
    def masks(self, weights):
        return {n: m.float() for n, m in super().masks(weights).items()}


class ForgetsOne(MagnitudePruner):
    def masks(self, weights):
        return dict(list(super().masks(weights).items())[1:])


class RandomMasks(MagnitudePruner):
    """Keeps everything on odd calls, nothing on even ones."""

    calls = 0

    def masks(self, weights):
        RandomMasks.calls += 1
        return {n: torch.full(w.shape, bool(self.calls % 2)) for n, w in weights.items()}


@pytest.mark.parametrize("pruner, message", [
    pytest.param(FlatMasks(), "has shape", id="shape"),
    pytest.param(FloatMasks(), "not a bool tensor", id="dtype"),
    pytest.param(ForgetsOne(), "one mask per tensor", id="missing"),
    pytest.param(RandomMasks(), "masks is not deterministic", id="random"),
])
def test_pruner_kit_catches(pruner, message):
    with pytest.raises(AssertionError, match=message) as err:
        check_pruner(pruner, max_examples=50)
    assert str(err.value).startswith(f"pruner 'magnitude' ({type(pruner).__name__}, module ")


def state_dict():
    torch.manual_seed(0)
    return torch.nn.Linear(20, 10).state_dict()


def test_codec_refuses_fewer_bits_than_written():
    with pytest.raises(PluginError, match=r"coder 'fixed' \(FewerBits, module .*\) reported \d+ bits for the \d+-bit payload of tensor 'weight'"):
        Codec(FewerBits()).compress(state_dict())


def test_codec_refuses_a_code_that_does_not_round_trip():
    with pytest.raises(PluginError, match=r"coder 'fixed' \(DropsLastWeight, .*\) does not round-trip tensor 'weight'"):
        Codec(DropsLastWeight()).compress(state_dict())


def test_codec_refuses_a_nondeterministic_encoder():
    with pytest.raises(PluginError, match=r"coder 'fixed' \(Nondeterministic, .*\): encode is not deterministic: tensor 'weight'"):
        Codec(Nondeterministic()).compress(state_dict())


def test_codec_errors_name_the_quantizer_and_pruner():
    with pytest.raises(PluginError, match=r"quantizer 'kmeans' \(OutOfRange, module .*\) returned an invalid codebook or indices for tensor 'weight': indices must lie in"):
        Codec(FixedCoder(), quantizer=OutOfRange()).compress(state_dict())

    class Raises(MagnitudePruner):
        def masks(self, weights):
            raise RuntimeError("boom")

    with pytest.raises(PluginError, match=r"pruner 'magnitude' \(.*Raises, module .*\): masks failed: boom"):
        Codec(FixedCoder(), pruner=Raises()).compress(state_dict())


def test_codec_refuses_a_coder_that_cannot_decode_its_own_payload():
    class Mute(FixedCoder):
        def decode(self, payload, shape):
            raise DecodeError("nothing to say")

    with pytest.raises(PluginError, match="cannot decode its own payload of tensor 'weight': nothing to say"):
        Codec(Mute()).compress(state_dict())


def test_decoder_crash_becomes_decode_error():
    with pytest.raises(DecodeError, match="failed on malformed payload: IndexError"):
        decode_triplet(CrashesOnJunk(), b"", (3,))
