import struct
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacbits.core import Codec, DecodeError, EncodeError, decompress
from pacbits.core import container
from pacbits.core.container import MAGIC, Record
from pacbits.plugins.fixed import FixedCoder
from pacbits.testing import state_dicts

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def small_stream() -> bytes:
    g = torch.Generator().manual_seed(0)
    sd = {"w": torch.randn(6, 7, generator=g) * (torch.rand(6, 7, generator=g) < 0.3), "b": torch.randn(6, generator=g),
          "steps": torch.tensor([3, 4], dtype=torch.int64), "flag": torch.tensor([True, False])}
    return Codec(FixedCoder()).compress(sd).data


def reseal(body: bytes) -> bytes:
    """Give mutated bytes a valid CRC, to reach the parser behind the integrity check."""
    return body + struct.pack(">I", zlib.crc32(body))


def assert_decodes_or_decode_error(data: bytes, **kw) -> None:
    try:
        decompress(data, **kw)
    except DecodeError:
        pass


def test_records_round_trip():
    recs = [Record("a", (2, 3), torch.float32, ("fixed", "{}"), b"\x01\x02"),
            Record("b.c", (), torch.bfloat16, None, b"\x00\x40"), Record("é", (0,), torch.int8, None, b"")]
    data, layout = container.write(recs)
    assert container.read(data) == recs
    assert layout.container_bits + sum(layout.record_header_bits) + 8 * 4 == 8 * len(data)


@pytest.mark.parametrize("dtype", container.DTYPES)
def test_raw_side_information_is_exact(dtype):
    t = (torch.randn(3, 5) * 100).to(container.torch_dtype(dtype))
    assert torch.equal(container.from_raw(container.raw_bytes(t), (3, 5), dtype), t)


def test_duplicate_names_rejected():
    with pytest.raises(EncodeError, match="unique"):
        container.write([Record("a", (), torch.int8, None, b"\x00")] * 2)


@pytest.mark.parametrize(
    "data,match",
    [(b"", "too short"), (b"PBIT", "too short"), (b"NOPE\x01" + b"\x00" * 8, "magic"),
     (MAGIC + b"\x03" + b"\x00" * 8, "version 3")],
)
def test_header_errors(data, match):
    with pytest.raises(DecodeError, match=match):
        decompress(data)


def test_crc_catches_a_flip_in_a_payload():
    data = bytearray(small_stream())
    data[len(data) // 2] ^= 0x10
    with pytest.raises(DecodeError, match="CRC32"):
        decompress(bytes(data))


@SETTINGS
@given(st.data())
def test_truncated_flipped_and_random_bytes_raise_decode_error(data):
    good = small_stream()
    cut = data.draw(st.integers(0, len(good) - 1))
    with pytest.raises(DecodeError):
        decompress(good[:cut])
    i = data.draw(st.integers(0, 8 * len(good) - 1))
    flipped = bytearray(good)
    flipped[i // 8] ^= 1 << (i % 8)
    with pytest.raises(DecodeError):
        decompress(bytes(flipped))
    with pytest.raises(DecodeError):
        decompress(data.draw(st.binary(max_size=200)))


@SETTINGS
@given(st.data())
def test_mutations_behind_a_valid_crc_never_escape(data):
    body = bytearray(small_stream()[:-4])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(5, len(body) - 1))
        body[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(5, len(body)))
    assert_decodes_or_decode_error(reseal(bytes(body[:cut])))


def test_allocation_capped_by_max_numel():
    # a valid stream whose header claims a 2**40-element all-pruned tensor
    payload = FixedCoder(positions="indices").encode(
        __import__("pacbits.core", fromlist=["Triplet"]).Triplet.build((1,), [], np.zeros(0, np.float32), [])).payload
    data, _ = container.write([Record("w", (2**20, 2**20), torch.float32, ("fixed", '{"positions":"indices"}'), payload)])
    with pytest.raises(DecodeError, match="max_numel"):
        decompress(data)


def test_unknown_coder_in_stream():
    data, _ = container.write([Record("w", (1,), torch.float32, ("no-such-coder", "{}"), b"")])
    with pytest.raises(DecodeError, match="no-such-coder.*known"):
        decompress(data)


@SETTINGS
@given(state_dicts())
def test_lossless_codec_round_trips_state_dicts(sd):
    out = Codec(FixedCoder()).compress(sd)
    back = decompress(out.data)
    assert list(back) == list(sd)
    for n in sd:
        assert back[n].dtype == sd[n].dtype and torch.equal(back[n], sd[n])
    assert out.report.total_bits == 8 * len(out.data)
