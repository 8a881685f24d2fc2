"""The subspace parametrization θ = θ₀ + P·w: regeneration, round trip, determinism, fixtures, errors."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from pacbits.cli import main
from pacbits.core import Codec, ConfigError, DecodeError, PluginError, decompress, hookimpl, inspect, make_registry
from pacbits.core import regen
from pacbits.core.parametrization import Identity, Parametrization, state_dict_sha256
from pacbits.models import lenet5_small
from pacbits.plugins.subspace import PROJECTIONS, TEMPLATES, Subspace, model_factories
from pacbits.subspace import SubspaceNet

FIXTURES = Path(__file__).parent / "fixtures"
#: SHA-256 of the state_dicts the committed v2 fixtures decode to (written by this version, d = 50, seed 7)
PINNED = {
    "sparse": "6dbaae61e64343b37ceb5b1c500f0ecfa0fb183e9b730a583bc95bba11d49f81",
    "kronecker": "1a7892f7365db6f2314bc8ee71d849662f55d7db6c0ebc9718abe1876fb0e003",
    "dense": "f94800f0ec0ee1b818770996dd125978c193bbfeac0d258a29de90c96a16801e",
}


@pytest.mark.parametrize("model", sorted(model_factories()))
def test_templates_are_the_models_floating_tensors(model):
    """A stream's parametrization is checked from TEMPLATES (no torch): they must be the models' tensors."""
    sd = model_factories()[model]().state_dict()
    assert set(TEMPLATES) == set(model_factories())
    assert TEMPLATES[model] == [(n, tuple(t.shape)) for n, t in sd.items() if t.is_floating_point()]
    assert {t.dtype for t in sd.values()} == {torch.float32}


def codec(param, registry=None):
    reg = registry or make_registry(entry_points=False)
    return Codec(reg.create("coder", "csr-arithmetic"), targets="floating", parametrization=param)


def quantized(d, seed=0, levels=5):
    rng = np.random.default_rng(seed)
    centers = np.linspace(-1, 1, levels).astype(np.float32) + np.float32(0.01)
    return torch.from_numpy(centers[rng.integers(0, levels, d)])


def test_philox_raw_stream_and_transforms_are_pinned():
    # numpy promises Philox's raw words; the transforms are integer or exactly rounded float operations
    w = regen.raw(5, 1, 3)
    assert [hex(int(x)) for x in w] == ["0xb7ba3d0ae9c66485", "0x6981b2c7238a07a7", "0xc304055d1adb46ec"]
    assert regen.uniform(w).tolist() == [(int(x) >> 11) * 2.0 ** -53 for x in w]
    assert regen.below(w, 1000).tolist() == [((int(x) >> 32) * 1000) >> 32 for x in w] == [717, 412, 761]
    assert regen.signs(w).tolist() == [-1.0, -1.0, 1.0]
    bits = regen.sign_bits(5, 1, 130)
    assert bits.tolist() == [1.0 - 2.0 * ((int(w[i // 64]) >> (i % 64)) & 1) for i in range(130)]


@pytest.mark.parametrize("projection", PROJECTIONS)
def test_fixture_decodes_to_its_pinned_hash(projection):
    data = (FIXTURES / f"subspace-{projection}-v2.pbits").read_bytes()
    assert data[4] == 2  # format version 2: names a parametrization
    sd = decompress(data)
    assert state_dict_sha256(sd) == PINNED[projection]
    lenet5_small().load_state_dict(sd)
    assert inspect(data).total_bits == 8 * len(data)


@pytest.mark.parametrize("projection", PROJECTIONS)
def test_round_trip_decodes_twice_to_identical_bytes(projection):
    param = Subspace("lenet5-small", 40, seed=3, projection=projection)
    w = quantized(40)
    out = codec(param).compress({"w": w})
    assert out.report.total_bits == 8 * len(out.data)
    a, b = decompress(out.data), decompress(out.data)
    assert state_dict_sha256(a) == state_dict_sha256(b) == state_dict_sha256(param.expand({"w": w}))
    # a fresh object from the stream's bytes regenerates the same θ₀ and P
    again = Subspace.from_bytes(param.to_bytes())
    assert state_dict_sha256(again.expand({"w": w})) == state_dict_sha256(a)


def test_decode_does_not_depend_on_torch_threads():
    data = (FIXTURES / "subspace-dense-v2.pbits").read_bytes()
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = state_dict_sha256(decompress(data))
        torch.set_num_threads(2)
        two = state_dict_sha256(decompress(data))
    finally:
        torch.set_num_threads(before)
    assert one == two == PINNED["dense"]


def test_decode_in_a_fresh_process_gives_the_pinned_hash():
    code = ("import sys; from pacbits.core import decompress; from pacbits.core.parametrization import "
            "state_dict_sha256; print(state_dict_sha256(decompress(open(sys.argv[1], 'rb').read())))")
    out = subprocess.run([sys.executable, "-c", code, str(FIXTURES / "subspace-sparse-v2.pbits")],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == PINNED["sparse"]


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 3000), seed=st.integers(0, 2**64 - 1), projection=st.sampled_from(PROJECTIONS),
       k=st.integers(1, 64), scale=st.sampled_from(["fan-in", "flat"]), prior=st.booleans())
def test_config_bytes_round_trip(d, seed, projection, k, scale, prior):
    sha = "ab" * 32 if prior else None
    p = Subspace("lenet5-small", d, seed, projection, k, "prior" if prior else "uniform-fan-in", scale, sha)
    q = Subspace.from_bytes(p.to_bytes())
    assert q.get_config() == p.get_config()
    assert q.to_bytes() == p.to_bytes()


@pytest.mark.parametrize("projection", PROJECTIONS)
def test_training_forward_matches_the_decoded_network(projection):
    torch.manual_seed(0)
    param = Subspace("lenet5-small", 60, seed=1, projection=projection)
    net = SubspaceNet(param)
    with torch.no_grad():
        net.w.normal_()
    assert list(net.state_dict()) == ["w"]
    model = lenet5_small()
    model.load_state_dict(param.expand({"w": net.w.detach().clone()}))
    x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(net(x), model(x), atol=1e-4)


def test_sparse_projection_gradient_is_the_transpose():
    # the CPU path multiplies by a CSR matrix; it must agree with the gather form and its autograd
    param = Subspace("lenet5-small", 50, seed=3, projection="sparse")
    net = SubspaceNet(param)
    w = torch.randn(50, requires_grad=True)
    g = torch.randn(param.D)
    (net.project(w) * g).sum().backward()
    fast = w.grad.clone()
    w.grad = None
    (((net.coef * w[net.cols]).sum(1)) * g).sum().backward()
    assert torch.allclose(net.project(w.detach()), (net.coef * w.detach()[net.cols]).sum(1), atol=1e-6)
    assert torch.allclose(fast, w.grad, atol=1e-5)


def entropy_bits(wq: torch.Tensor) -> float:
    p = torch.unique(wq, return_counts=True)[1].double() / wq.numel()
    return float(-(p * torch.log2(p)).sum()) * wq.numel()


def test_entropy_constrained_assignment_lowers_the_index_entropy():
    param = Subspace("lenet5-small", 400, seed=0)
    net = SubspaceNet(param)
    with torch.no_grad():
        net.w.normal_()
    bits = []
    for rate in (0.0, 0.05, 0.2):
        net.quantize(7, rate=rate)
        wq = net.quantized_w()
        assert torch.unique(wq).numel() <= 7 and torch.equal(wq.half().float(), wq)
        bits.append(entropy_bits(wq))
    assert bits[0] > bits[1] > bits[2]


def test_projection_scale_gives_unit_norm_columns_on_average():
    # sparse: k entries ±ρ·sqrt(d/(Dk)) per row, so E‖P e_j‖² = mean(ρ²) = 1 with the fan-in scale
    param = Subspace("lenet5-small", 100, seed=2, projection="sparse", k=8)
    cols = np.stack([param.theta(np.eye(100)[j]) - param.theta0() for j in range(100)])
    assert abs(float((cols ** 2).sum(1).mean()) - 1.0) < 0.1


def test_quantization_aware_training_codes_exactly_the_quantized_coordinates():
    param = Subspace("lenet5-small", 30, seed=0)
    net = SubspaceNet(param)
    with torch.no_grad():
        net.w.normal_()
    net.quantize(4)
    wq = net.quantized_w()
    assert torch.unique(wq).numel() <= 4 and bool((wq != 0).all())
    assert torch.equal(wq.half().float(), wq)  # float16 centers, as coded
    out = codec(param).compress({"w": wq})
    t = next(t for t in inspect(out.data).tensors if t.coded)
    assert t.k == 30 and t.r == torch.unique(wq).numel()
    half = codec(param).compress({"w": wq.half()})  # float16 coordinates: the same network, a cheaper codebook
    assert state_dict_sha256(decompress(half.data)) == state_dict_sha256(decompress(out.data))
    assert out.report.total_bits - half.report.total_bits >= 16 * t.r


@pytest.mark.parametrize("kwargs,match", [
    ({"d": 0}, "d must be"), ({"d": 61707}, "D = 61706"), ({"d": 10, "projection": "gaussian"}, "unknown projection"),
    ({"d": 10, "init": "zeros"}, "unknown init"), ({"d": 10, "k": 0}, "k must be"),
    ({"d": 10, "init": "prior"}, "prior_sha256"), ({"d": 10, "prior_sha256": "00" * 32}, "prior_sha256"),
    ({"d": 10, "seed": -1}, "seed"),
])
def test_bad_configs_are_one_line_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match) as e:
        Subspace("lenet5-small", **kwargs)
    assert "\n" not in str(e.value)


def test_unknown_model_is_refused():
    with pytest.raises(ConfigError, match="unknown model"):
        Subspace("resnet", 10)


def test_coordinates_must_be_the_subspace_vector():
    param = Subspace("lenet5-small", 10)
    with pytest.raises(ConfigError, match="coordinates"):
        codec(param).compress(lenet5_small().state_dict())
    with pytest.raises(ConfigError, match="coordinates"):
        codec(param).compress({"w": torch.zeros(11)})


def test_transfer_prior_is_named_by_its_hash(tmp_path, capsys):
    torch.manual_seed(0)
    prior = lenet5_small().state_dict()
    param = Subspace("lenet5-small", 20, init="prior", prior_sha256=state_dict_sha256(prior))
    data = codec(param).compress({"w": quantized(20)}).data
    sd = decompress(data, prior=prior)
    theta0 = torch.cat([t.reshape(-1) for t in prior.values()])
    assert not torch.equal(torch.cat([t.reshape(-1) for t in sd.values()]), theta0)
    with pytest.raises(DecodeError, match="transfer prior"):
        decompress(data)
    other = lenet5_small().state_dict()
    with pytest.raises(DecodeError, match="wrong transfer prior"):
        decompress(data, prior=other)
    # the command line: --prior FILE, one-line errors for a missing or wrong one
    stream, good, bad = tmp_path / "s.pbits", tmp_path / "prior.pt", tmp_path / "other.pt"
    stream.write_bytes(data)
    torch.save(prior, good)
    torch.save(other, bad)
    assert main(["decompress", str(stream), "-o", str(tmp_path / "out.pt"), "--prior", str(good)]) == 0
    back = torch.load(tmp_path / "out.pt", weights_only=True)
    assert state_dict_sha256(back) == state_dict_sha256(sd)
    for extra in ([], ["--prior", str(bad)], ["--prior", str(tmp_path / "missing.pt")]):
        assert main(["decompress", str(stream), "-o", str(tmp_path / "x.pt"), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("pacbits decompress: error:")


def test_malformed_parametrization_bytes_are_decode_errors():
    good = Subspace("lenet5-small", 10).to_bytes()
    for bad in (good[:-1], good + b"\x00", b"\x03abc" + good[13:], good[:-2] + b"\x7f" + good[-1:]):
        with pytest.raises(DecodeError):
            Subspace.from_bytes(bad)


def test_identity_streams_stay_version_1():
    sd = lenet5_small().state_dict()
    reg = make_registry(entry_points=False)
    plain = Codec(reg.create("coder", "fixed")).compress(sd).data
    ident = Codec(reg.create("coder", "fixed"), parametrization=Identity()).compress(sd).data
    assert plain == ident and plain[4] == 1


def test_parametrization_is_a_plugin_kind(registry):
    assert {"identity", "subspace"} <= set(registry.ids("parametrization"))
    assert registry.create("parametrization", {"id": "subspace", "model": "lenet5-small", "d": 5}).d == 5
    assert any(e["kind"] == "parametrization" and e["id"] == "subspace" for e in registry.listing())


def test_a_third_party_parametrization_registers_and_round_trips():
    class Scaled(Parametrization):
        """Codes the tensors divided by 2 (a toy parametrization)."""

        id = "halved"

        def coordinates(self, state_dict):
            return {k: v / 2 for k, v in state_dict.items()}

        def expand(self, coords, prior=None):
            return {k: v * 2 for k, v in coords.items()}

        def to_bytes(self):
            return b""

        @classmethod
        def from_bytes(cls, data):
            return cls()

    class Plugin:
        @hookimpl
        def register_parametrizations(self):
            return [Scaled]

    reg = make_registry(entry_points=False, plugins=[Plugin()])
    sd = {"a": torch.tensor([[1.0, 2.0], [0.5, 4.0]])}
    c = Codec(reg.create("coder", "fixed"), parametrization=reg.create("parametrization", "halved"))
    assert torch.equal(decompress(c.compress(sd).data, registry=reg)["a"], sd["a"])
    with pytest.raises(DecodeError, match="halved"):
        decompress(c.compress(sd).data, registry=make_registry(entry_points=False))


def test_a_parametrization_hook_returning_something_else_is_refused():
    class Plugin:
        @hookimpl
        def register_parametrizations(self):
            return [int]

    with pytest.raises(PluginError, match="not a subclass of Parametrization"):
        make_registry(entry_points=False, plugins=[Plugin()])
