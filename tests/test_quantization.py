import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from pacbits.core import Codec, ConfigError, decompress, reparam
from pacbits.plugins.fixed import FixedCoder
from pacbits.plugins.kmeans import KMeansQuantizer, lloyd_1d
from pacbits.plugins.magnitude import MagnitudePruner
from pacbits.testing.conformance import QuantizerConformance


def pruned_mlp(seed=0, density=0.4):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(12, 24), nn.Tanh(), nn.Linear(24, 5))
    p = MagnitudePruner(density=density)
    p.attach(model)
    p.update(model, 0)
    return reparam.detach(model)


def data(seed=0, n=64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 12, generator=g), torch.randint(0, 5, (n,), generator=g)


@pytest.mark.parametrize("init", ["linear", "kmeans++"])
def test_recovers_known_centers_on_separable_data(init):
    rng = np.random.default_rng(0)
    true = np.array([-2.0, 0.5, 3.0])
    x = np.concatenate([c + 0.01 * rng.standard_normal(200) for c in true])
    codebook, idx = KMeansQuantizer(bits=2, init=init).quantize("w", torch.from_numpy(x))
    assert codebook[0] == 0 and codebook.size == 4
    np.testing.assert_allclose(np.sort(codebook[1:]), true, atol=0.005)
    np.testing.assert_allclose(codebook[idx], np.repeat(true, 200), atol=0.005)


def test_empty_clusters_are_reseeded():
    x = np.concatenate([np.full(10, -1.0), np.full(10, 1.0), [5.0, 6.0]])
    # centers 0.0 and 0.2 sit in a gap and catch nothing at first
    assert np.array_equal(lloyd_1d(x, np.array([-1.0, 0.0, 0.2, 1.0]), 50), [-1.0, 1.0, 5.0, 6.0])


def test_fewer_distinct_values_or_weights_than_codes():
    q = KMeansQuantizer(bits=4)
    codebook, idx = q.quantize("w", torch.tensor([0.5, -1.0, 0.5, 2.0, -1.0]))
    assert codebook.tolist() == [0.0, -1.0, 0.5, 2.0] and idx.tolist() == [2, 1, 2, 3, 1]
    codebook, idx = q.quantize("w", torch.zeros(0))
    assert codebook.tolist() == [0.0] and idx.size == 0


def test_center_gradient_is_the_sum_of_its_weights_gradients():
    model = pruned_mlp()
    centers = KMeansQuantizer(bits=3).attach(model)
    dense = pruned_mlp()
    dense.load_state_dict(reparam.bake(model))
    x, y = data()
    nn.functional.cross_entropy(model(x), y).backward()
    nn.functional.cross_entropy(dense(x), y).backward()
    for (n, (m, a, cb)), c in zip(reparam.installed(model).items(), centers):
        assert cb.centers is c
        g = dense.get_parameter(n).grad.reshape(-1)
        expect = torch.zeros(c.numel() + 1, dtype=torch.float64).index_add_(0, cb.index.reshape(-1), g.double())
        torch.testing.assert_close(c.grad.double(), expect[1:], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_fine_tuned_codebook_is_exactly_what_is_coded(dtype):
    model = pruned_mlp()
    before = reparam.bake(model)
    q = KMeansQuantizer(bits=3, dtype=dtype, init="kmeans++", targets="floating")
    opt = torch.optim.Adam(q.attach(model), lr=1e-2)
    for t in range(5):
        x, y = data(t)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    sd = reparam.bake(model)
    for n, w in sd.items():
        assert torch.equal(w == 0, before[n] == 0) or n.endswith("bias"), n  # pruned stay pruned, no new zeros
        assert len(torch.unique(w[w != 0])) <= 7
        if dtype == "float16":
            assert torch.equal(w.half().float(), w)
    lossless = decompress(Codec(FixedCoder(), targets="floating").compress(sd).data)
    requant = Codec(FixedCoder(), quantizer=KMeansQuantizer(bits=3, dtype=dtype), targets="floating")
    trip = requant.triplets(sd)
    assert all(t.codebook.dtype == np.dtype(dtype) for t in trip.values())
    again = decompress(requant.compress(sd).data)
    x, _ = data(9)
    fresh = pruned_mlp(1)
    for state in (lossless, again):
        assert all(torch.equal(state[k], sd[k]) for k in sd)
        fresh.load_state_dict(state)
        assert torch.equal(fresh(x), model(x))


def test_pruned_weights_are_code_zero_and_get_no_update():
    model = pruned_mlp()
    zeros = {n: w == 0 for n, w in reparam.bake(model).items()}
    q = KMeansQuantizer(bits=2)
    opt = torch.optim.SGD(q.attach(model), lr=0.5)
    x, y = data()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    for n, (_, _, cb) in reparam.installed(model).items():
        assert torch.equal(cb.index == 0, zeros[n])
        assert torch.equal(cb.values()[0], torch.tensor(0.0))
    assert reparam.density(model) == pytest.approx(0.4, abs=0.01)


def test_attach_bakes_existing_masks_first():
    torch.manual_seed(0)
    model = nn.Linear(8, 8)
    p = MagnitudePruner(density=0.25)
    p.attach(model)
    p.update(model, 0)
    KMeansQuantizer(bits=2).attach(model)
    assert [type(x).__name__ for x in model.parametrizations.weight] == ["Codebook"]
    assert int((model.weight != 0).sum()) == 16


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-10, 10, width=32), min_size=1, max_size=60), st.integers(1, 5), st.booleans(),
       st.sampled_from(["linear", "kmeans++"]))
def test_quantize_is_a_valid_nearest_center_code(values, bits, zero_code, init):
    x = torch.tensor(values)
    codebook, idx = KMeansQuantizer(bits=bits, zero_code=zero_code, init=init).quantize("w", x)
    assert codebook.dtype == np.float32 and codebook.size <= 2**bits and idx.min() >= 0 and idx.max() < codebook.size
    err = np.abs(codebook[idx].astype(np.float64) - x.double().numpy())
    nearest = np.abs(codebook.astype(np.float64)[None, :] - x.double().numpy()[:, None]).min(1)
    np.testing.assert_allclose(err, nearest)
    if np.unique(x.numpy()).size <= 2**bits - zero_code:  # few distinct values: exact
        assert np.array_equal(codebook[idx], x.numpy())
        codebook2, idx2 = KMeansQuantizer(bits=bits, zero_code=zero_code).quantize("w", torch.from_numpy(codebook[idx]))
        assert np.array_equal(codebook2[idx2], codebook[idx])


def test_kmeans_pp_is_seeded():
    x = torch.from_numpy(np.random.default_rng(1).standard_normal(500))
    a, b, c = (KMeansQuantizer(bits=3, init="kmeans++", seed=s, iters=0).quantize("w", x)[0] for s in (0, 0, 1))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("cfg", [{"bits": 0}, {"bits": 17}, {"bits": 2.5}, {"bits": True}, {"dtype": "float64"},
                                 {"init": "random"}, {"targets": "all"}])
def test_bad_config(cfg):
    with pytest.raises(ConfigError):
        KMeansQuantizer(**cfg)


def test_config_round_trip(registry):
    q = registry.create("quantizer", {"id": "kmeans", "bits": 4, "init": "kmeans++", "dtype": "float16"})
    assert registry.create("quantizer", q.get_config()).config_json() == q.config_json()
    assert registry.create("quantizer", {"id": "kmeans", "bits": 4}).init == "linear"


class TestKMeansConforms(QuantizerConformance):
    @pytest.fixture(params=[{}, {"dtype": "float16", "bits": 2}, {"init": "kmeans++", "zero_code": False}])
    def pacbits_quantizer(self, request):
        return KMeansQuantizer(**request.param)

    @pytest.fixture
    def pacbits_max_examples(self):
        return 40
