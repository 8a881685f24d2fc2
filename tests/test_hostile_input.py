"""Crafted bitstreams and bad user input (issue 13): each ends in DecodeError / one line and exit 2.

Bombs are measured by memory (tracemalloc, or the peak RSS of a subprocess), never by time.
"""
import gzip
import struct
import subprocess
import sys
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from pacbits.cli import main
from pacbits.core import (Codec, CodecSpec, ConfigError, DecodeError, EncodeError, Quantizer, Triplet, decompress, hookimpl,
                          inspect, make_registry)
from pacbits.core import container, limits
from pacbits.core.bitio import pack_fields, split_fields, uvarint
from pacbits.core.container import Record
from pacbits.core.files import write_atomic
from pacbits.data.errors import DataError
from pacbits.data.idx import read_idx
from pacbits.plugins.fixed import FixedCoder

ROOT = Path(__file__).resolve().parents[1]


def stream(*records) -> bytes:
    return container.write(list(records))[0]


def fixed_payload(t: Triplet, positions: str = "auto") -> bytes:
    return FixedCoder(positions).encode(t).payload


def empty_fixed() -> bytes:
    return fixed_payload(Triplet.build((1,), [], np.zeros(0, np.float32), []))


# -- one failure type ---------------------------------------------------------------------------


@pytest.mark.parametrize("config", ["[]", "1", "null", '"x"', "true", "1e400", "NaN", '{"positions": 1e999}'])
def test_coder_config_that_is_not_an_object_of_finite_values(config):
    data = stream(Record("w", (1,), torch.float32, ("fixed", config), empty_fixed()))
    with pytest.raises(DecodeError, match="config"):
        decompress(data)


def test_deeply_nested_config_is_refused_without_recursion():
    data = stream(Record("w", (1,), torch.float32, ("fixed", "[" * 100000 + "]" * 100000), empty_fixed()))
    with pytest.raises(DecodeError, match="nests deeper"):
        decompress(data)


@pytest.mark.parametrize("config", ['{"positions": ["x"]}', '{"positions": 3}', '{"nope": 1}'])
def test_coder_config_of_the_wrong_type_is_a_decode_error(config):
    data = stream(Record("w", (1,), torch.float32, ("fixed", config), empty_fixed()))
    with pytest.raises(DecodeError, match="fixed"):
        decompress(data)


@pytest.mark.parametrize("shape", [(0, 2**28, 2**28, 2**28), (2**28, 0, 2**28), (2**15, 2**15, 0)])
def test_shape_arithmetic_counts_every_dimension(shape):
    data = stream(Record("x", shape, torch.float32, None, b""))
    with pytest.raises(DecodeError, match="max_numel"):
        decompress(data)


def test_zero_sized_tensors_still_decode():
    data = stream(Record("x", (0, 5), torch.float32, None, b""))
    assert decompress(data)["x"].shape == (0, 5)


def test_float16_tensor_with_a_codebook_float16_cannot_hold():
    t = Triplet.build((2,), [0], np.array([1e30], np.float32), [0])
    data = stream(Record("w", (2,), torch.float16, ("fixed", '{"positions":"auto"}'), fixed_payload(t)))
    with pytest.raises(DecodeError, match="not exact in torch.float16"):
        decompress(data)
    t = Triplet.build((2,), [0], np.array([0.1], np.float32), [0])  # rounds: no compressor writes it
    data = stream(Record("w", (2,), torch.bfloat16, ("fixed", '{"positions":"auto"}'), fixed_payload(t)))
    with pytest.raises(DecodeError, match="not exact"):
        inspect(data)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_check_representable_agrees_with_torch_rounding(dtype):
    """The numpy-only check (inspect loads no torch) refuses exactly the values torch would round."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3000) * 10.0 ** rng.integers(-46, 40, 3000)
    x = np.concatenate([x, torch.from_numpy(x).to(dtype).double().numpy(),  # half of them exact in dtype
                        [0.0, -0.0, 65504.0, 65520.0, 2.0**-24, 2.0**-25, 2.0**-133, 2.0**-149, 3.3895313892515355e38]])
    x = x[np.isfinite(x)]
    t = torch.from_numpy(x)
    exact = (t.to(dtype).double() == t).numpy()
    assert 1000 < exact.sum() < len(x) - 1000
    for value, want in zip(x, exact):
        try:
            limits.check_representable(np.array([value]), dtype, "v")
            got = True
        except DecodeError as e:
            assert f"not exact in {dtype}" in str(e)
            got = False
        assert got == want, value


@pytest.mark.parametrize("read", [decompress, inspect])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_raw_side_tensors_must_be_finite(value, dtype, read):
    data = stream(Record("b", (2,), dtype, None, container.raw_bytes(torch.tensor([1.0, value], dtype=dtype))))
    with pytest.raises(DecodeError, match="NaN or Inf"):
        read(data)


class LaxFixed(FixedCoder):
    """Decodes either position mode, whatever its config would choose (``fixed`` itself refuses the other)."""

    id = "lax-fixed"

    def decode(self, payload, shape):
        return FixedCoder("indices" if payload[0] & 2 else "bitmask").decode(payload, shape)


class LaxPlugin:
    @staticmethod
    @hookimpl
    def register_coders():
        return [LaxFixed]


def test_decompress_rejects_a_non_canonical_stream_as_inspect_does():
    t = Triplet.build((64,), [3], np.array([0.5], np.float32), [0])  # auto codes 1 position as an index
    odd = fixed_payload(t, "bitmask")
    with pytest.raises(DecodeError, match="position mode"):
        FixedCoder("auto").decode(odd, (64,))  # the built-in decoder is canonical itself
    assert LaxFixed("auto").decode(odd, (64,)).equals(t)  # a lax one decodes it ...
    reg = make_registry(entry_points=False, plugins=[LaxPlugin()])
    data = stream(Record("w", (64,), torch.float32, ("lax-fixed", '{"positions":"auto"}'), odd))
    for fn in (decompress, inspect):  # ... but no compressor writes it
        with pytest.raises(DecodeError, match="canonical"):
            fn(data, reg)


def test_the_container_itself_must_be_canonical():
    rec = Record("w", (3,), torch.float32, None, bytes(12))
    good = stream(rec)
    assert decompress(good)["w"].shape == (3,)
    body = good[:-4]
    i = body.index(b"w") + 3  # name, dtype code, ndim: then the dimension 3
    assert body[i] == 3
    overlong = body[:i] + b"\x83\x00" + body[i + 1:]  # 3 as a two-byte varint: the varint reader refuses it
    with pytest.raises(DecodeError, match="overlong varint"):
        decompress(overlong + struct.pack(">I", zlib.crc32(overlong)))
    spaced = stream(Record("w", (1,), torch.float32, ("fixed", '{"positions": "auto"}'), empty_fixed()))
    with pytest.raises(DecodeError, match="canonical JSON"):
        decompress(spaced)
    unused = bytearray(good[:5]) + uvarint(1) + uvarint(5) + b"fixed" + uvarint(2) + b"{}" + good[6:-4]
    with pytest.raises(DecodeError, match="canonical"):
        decompress(bytes(unused) + struct.pack(">I", zlib.crc32(bytes(unused))))


# -- the decoding budget and bounded memory -----------------------------------------------------


def test_budget_is_per_file_and_checked_from_the_records():
    four = stream(*[Record(f"x{i}", (2**28,), torch.float16, ("fixed", '{"positions":"auto"}'), empty_fixed())
                    for i in range(4)])  # 2 GiB of float16 in a few dozen bytes
    assert len(four) < 120
    with pytest.raises(DecodeError, match="budget of 1 GiB.*--max-size"):
        decompress(four, max_size=1 << 30)
    with pytest.raises(DecodeError, match="budget"):
        inspect(four, max_size=1 << 30)
    small = stream(Record("x", (1000,), torch.float32, None, bytes(4000)))
    assert decompress(small, max_size=4000)["x"].shape == (1000,)
    with pytest.raises(DecodeError, match="budget of 3999 B"):
        decompress(small, max_size=3999)


BOMB_SCRIPT = """
import resource, sys
import torch
from pacbits.core import DecodeError, decompress
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    decompress(data, max_size=int(sys.argv[2]))
    outcome = "decoded"
except DecodeError as e:
    outcome = "DecodeError: " + str(e)
print(outcome)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def peak_rss_of_decoding(tmp_path, data: bytes, max_size: int = limits.MAX_SIZE) -> tuple[str, int]:
    """Decode in a fresh interpreter; (outcome, growth of its peak RSS in bytes)."""
    path = tmp_path / "bomb.pbits"
    path.write_bytes(data)
    out = subprocess.run([sys.executable, "-c", BOMB_SCRIPT, str(path), str(max_size)], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    return out[0], int(out[1])


def test_budget_bomb_refused_with_bounded_memory(tmp_path):
    four = stream(*[Record(f"x{i}", (2**28,), torch.float16, ("fixed", '{"positions":"auto"}'), empty_fixed())
                    for i in range(4)])
    outcome, grew = peak_rss_of_decoding(tmp_path, four)
    assert outcome.startswith("DecodeError") and "budget" in outcome
    assert grew < 20 << 20  # 2 GiB declared, less than 20 MiB touched


def csr_single_symbol_bomb(k: int, gap_symbol: int) -> bytes:
    """csr-arithmetic: k weights, r = 1, every gap the symbol ``gap_symbol`` (t = 0); a few dozen bytes."""
    m = gap_symbol + 1
    table, _ = pack_fields(*split_fields(np.array([gap_symbol]), np.array([k]), m))
    return bytes([0]) + uvarint(k) + uvarint(1) + struct.pack("<f", 0.5) + uvarint(m) + table + b"\x00"


def test_gap_coder_bomb_refused_before_allocating(tmp_path):
    k = 2**26  # 2**26 gaps of 1 need 2**27 positions; the tensor has 2**26
    payload = csr_single_symbol_bomb(k, 1)
    data = stream(Record("w", (k,), torch.float32, ("csr-arithmetic", "{}"), payload))
    assert len(data) < 80
    outcome, grew = peak_rss_of_decoding(tmp_path, data)
    assert outcome.startswith("DecodeError") and "past the end" in outcome
    assert grew < 20 << 20


def test_the_same_payload_is_a_valid_dense_tensor_when_it_fits():
    k = 4096
    data = stream(Record("w", (2 * k,), torch.float32, ("csr-arithmetic", "{}"), csr_single_symbol_bomb(k, 1)))
    w = decompress(data)["w"]
    assert torch.equal(w[1::2], torch.full((k,), 0.5)) and not w[0::2].any()


@pytest.mark.parametrize("coder", ["fixed", "csr-arithmetic", "huffman"])
def test_decoder_memory_is_a_small_multiple_of_the_output(coder):
    """A dense one-value tensor codes to a few bytes: decoding it may take memory for its output, no more."""
    n = 1 << 20
    sd = {"w": torch.full((n // 1024, 1024), 0.25)}
    data = Codec.from_spec({"coder": {"id": coder}}).compress(sd).data
    assert len(data) < n // 4
    tracemalloc.start()
    try:
        decompress(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 4 * n  # 16 x the float32 output (measured 6 x fixed, 14 x gap coders, re-encoding check included)


# -- no silent loss on compress -----------------------------------------------------------------


@pytest.mark.parametrize("wdtype,cbdtype", [(torch.float16, "float32"), (torch.bfloat16, "float32"),
                                            (torch.float32, "float16")])
def test_compressed_report_is_what_decompress_returns(wdtype, cbdtype):
    torch.manual_seed(0)
    sd = {"w": (torch.randn(40, 50) * 3).to(wdtype)}
    codec = Codec.from_spec({"coder": {"id": "csr-arithmetic"}, "quantizer": {"id": "kmeans", "bits": 4, "dtype": cbdtype}})
    out = codec.compress(sd)
    back = decompress(out.data)["w"]
    t = codec.triplets(sd)["w"]
    assert back.dtype == wdtype and torch.equal(back, torch.from_numpy(t.dense()).to(wdtype))
    assert torch.equal(torch.from_numpy(t.dense()), back.float())  # the triplet (report, bound) is the model


class Float16Max(Quantizer):
    """Every kept weight to one float16 center, 65504, whose bfloat16 rounding (65536) float16 cannot hold."""

    id = "test-float16-max"

    def quantize(self, name, values):
        return np.array([65504.0], np.float16), np.zeros(values.numel(), np.int64)


def test_a_codebook_that_cannot_hold_the_rounded_weights_is_refused():
    sd = {"w": torch.tensor([[65280.0, 1.0], [2.0, 3.0]], dtype=torch.bfloat16)}
    with pytest.raises(EncodeError, match="float32 codebook"):
        Codec(FixedCoder(), quantizer=Float16Max()).compress(sd)
    out = Codec(FixedCoder(), quantizer=Float16Max()).compress({"w": sd["w"].float()})  # float32 weights: exact
    assert torch.equal(decompress(out.data)["w"], torch.full((2, 2), 65504.0))


# -- config validation --------------------------------------------------------------------------


@pytest.mark.parametrize("config", [
    {"coder": {"id": ["x"]}}, {"coder": {"id": "fixed", "positions": 1}},
    {"coder": "fixed", "quantizer": {"id": "kmeans", "iters": "abc"}},
    {"coder": "fixed", "quantizer": {"id": "kmeans", "seed": "x"}},
    {"coder": "fixed", "quantizer": {"id": "kmeans", "seed": -1}},
    {"coder": "fixed", "quantizer": {"id": "kmeans", "zero_code": "no"}},
    {"coder": "fixed", "quantizer": {"id": "kmeans", "bits": 4.0}},
    {"coder": "fixed", "pruner": {"id": "magnitude", "density": "0.5"}},
])
def test_config_values_are_type_checked(config):
    with pytest.raises(ConfigError):
        Codec.from_spec(CodecSpec.from_dict(config))


def test_json_loader_limits():
    assert limits.load_json('{"a": [1, 2.5, {"b": "[[["}]}', "x") == {"a": [1, 2.5, {"b": "[[["}]}
    for bad in ("[]", "1e400", '{"a": Infinity}', '{"a": -1e400}', "{" * 40 + "}" * 40, "{"):
        with pytest.raises(ConfigError):
            limits.load_json(bad, "x")
    assert limits.json_depth('{"a": "{{{{\\"{{"}') == 1


# -- the command line ---------------------------------------------------------------------------


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_exit_2(capsys, *argv) -> str:
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def model(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "m.pt"
    torch.save(torch.nn.Linear(8, 4).state_dict(), path)
    return path


def test_existing_output_needs_force_and_input_is_never_the_output(tmp_path, capsys, model):
    out = tmp_path / "m.pbits"
    assert run(capsys, "compress", model, "-o", out)[0] == 0
    first = out.read_bytes()
    assert "--force" in one_line_exit_2(capsys, "compress", model, "-o", out, "--codec", "lenet5-paper")
    assert out.read_bytes() == first
    assert run(capsys, "compress", model, "-o", out, "--force")[0] == 0
    before = model.read_bytes()
    assert "is the input" in one_line_exit_2(capsys, "compress", model, "-o", model, "--force")
    assert "is the input" in one_line_exit_2(capsys, "compress", model, "-o", tmp_path / "." / "m.pt", "--force")
    assert model.read_bytes() == before
    dec = tmp_path / "d.pt"
    assert run(capsys, "decompress", out, "-o", dec)[0] == 0
    assert "--force" in one_line_exit_2(capsys, "decompress", out, "-o", dec)
    assert "is the input" in one_line_exit_2(capsys, "decompress", out, "-o", out, "--force")
    assert out.read_bytes() != b"" and "already exists" not in one_line_exit_2(capsys, "decompress", out, "-o",
                                                                                tmp_path / "no" / "x.pt")
    assert "folder" in one_line_exit_2(capsys, "decompress", out, "-o", tmp_path, "--force")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.pt", "m.pbits", "m.pt"]  # no temporary left


def test_a_failing_write_leaves_the_old_file_intact(tmp_path):
    path = tmp_path / "out.pt"
    path.write_bytes(b"old contents")

    def half_then_fail(f):
        f.write(b"partial new")
        raise RuntimeError("PytorchStreamWriter failed writing file: file write failed")

    with pytest.raises(Exception, match="write failed.*old file is unchanged") as e:
        write_atomic(path, half_then_fail, force=True)
    assert "\n" not in str(e.value)
    assert path.read_bytes() == b"old contents" and [p.name for p in tmp_path.iterdir()] == ["out.pt"]
    write_atomic(path, b"new", force=True)
    assert path.read_bytes() == b"new"


def test_decompress_max_size_option(tmp_path, capsys, model):
    out = tmp_path / "m.pbits"
    run(capsys, "compress", model, "-o", out)
    assert "--max-size" in one_line_exit_2(capsys, "decompress", out, "-o", tmp_path / "d.pt", "--max-size", "100B")
    assert "--max-size" in one_line_exit_2(capsys, "inspect", out, "--max-size", "100")
    assert run(capsys, "decompress", out, "-o", tmp_path / "d.pt", "--max-size", "1MiB")[0] == 0
    assert limits.parse_size("8GiB") == 8 << 30 and limits.parse_size("12") == 12
    for bad in ("1.5GiB", "-1", "GiB", "1GB", ""):
        with pytest.raises(ConfigError):
            limits.parse_size(bad)


@pytest.mark.parametrize("config", ['{"coder":{"id":["x"]}}', '{"quantizer":{"id":"kmeans","iters":"abc"}}',
                                    '{"quantizer":{"id":"kmeans","iters":1e400}}', '{"quantizer":{"id":"kmeans","seed":"x"}}',
                                    '{"quantizer":{"id":"kmeans","seed":-1}}', '{"quantizer":{"id":"kmeans","zero_code":"no"}}',
                                    '{"coder": 7}', '{"targets": ["x"]}', "[" * 5000])
def test_bad_config_is_one_line(tmp_path, capsys, model, config):
    one_line_exit_2(capsys, "compress", model, "--config", config, "-o", tmp_path / "x.pbits")


def expanded():
    return torch.zeros(1).expand(2**36)


@pytest.mark.parametrize("make,match", [
    (lambda: torch.zeros(3, 3).to(torch.float8_e4m3fn), "dtype"),
    (lambda: torch.zeros(3, 3).to_sparse(), "layout"),
    (lambda: torch.empty(3, 3, device="meta"), "device"),
    (expanded, "view"),
    (lambda: torch.zeros(2, dtype=torch.complex64), "dtype"),
])
def test_unusual_tensor_kinds_in_a_checkpoint(tmp_path, capsys, make, match):
    path = tmp_path / "odd.pt"
    torch.save({"w": make()}, path)
    assert path.stat().st_size < 4096
    assert match in one_line_exit_2(capsys, "compress", path, "-o", tmp_path / "x.pbits")


@pytest.mark.parametrize("size", ["1e400KiB", "1e400bits", "99999999999999999999999999999999999e9999MiB"])
def test_bound_with_an_absurd_size(capsys, size):
    one_line_exit_2(capsys, "bound", "--size", size, "--n", "100", "--train-error", "0", "--length-prior",
                    "elias-delta")
    one_line_exit_2(capsys, "bound", "--size", size, "--n", "100", "--train-error", "0")


# -- data files ---------------------------------------------------------------------------------


def test_idx_header_with_impossible_dimensions(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 0, 2**32 - 1, 2**32 - 1))
    with pytest.raises(DataError, match="too large"):
        read_idx(path)


def test_gzip_idx_claiming_more_than_it_holds_is_refused_before_inflating(tmp_path):
    path = tmp_path / "x.idx.gz"
    body = bytes([0, 0, 8, 1]) + struct.pack(">I", 2**31) + bytes(1 << 20)
    path.write_bytes(gzip.compress(body))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="gzip"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    good = tmp_path / "g.idx.gz"
    good.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + b"abc"))
    assert read_idx(good).tolist() == [97, 98, 99]
