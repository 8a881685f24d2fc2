"""Whole-model KL: bit accounting of the Occam and noise-robust bounds against independent sums."""
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacbits.core import BitBreakdown, Codec, CodecReport, ConfigError, TensorReport
from pacbits.core.bounds import assemble_kl, mixture_kl, noise_robust_kl, occam_kl, occam_kl_report, tensor_kl
from pacbits.testing.strategies import triplets

LN2 = math.log(2)


@pytest.fixture(scope="module")
def compressed():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(), torch.nn.Linear(30, 5))
    return Codec.from_spec("magnitude-kmeans-fixed").compress(model.state_dict()).report


def sigmas(report):
    return {t.name: 0.05 * float(np.ptp(t.codebook)) for t in report.tensors if t.coded}


def test_point_mass_everywhere_is_the_occam_bound(compressed):
    kl = noise_robust_kl(compressed, {t.name: None for t in compressed.tensors if t.coded}, [0.1], noisy_choice=False)
    assert kl.code_bits == compressed.total_bits
    assert kl.nats == pytest.approx(occam_kl(compressed.total_bits), rel=1e-14)
    assert kl.nats == pytest.approx(occam_kl_report(compressed.total_bits).nats, rel=1e-14)


def test_theorem_4_3_accounting(compressed):
    lams = np.geomspace(1e-3, 1, 8)
    sig = sigmas(compressed)
    kl = noise_robust_kl(compressed, sig, lams, prior="elias-delta")
    coded = [t for t in compressed.tensors if t.coded]
    assert kl.terms[-1].name == "noisy-set choice" and kl.terms[-1].nats == pytest.approx(len(coded) * LN2)
    # fixed coder: its index bits are k*ceil(log2 r), so L is the stream length
    assert all(t.bits.indices == t.k * math.ceil(math.log2(t.r)) for t in coded)
    assert kl.code_bits == compressed.total_bits
    expect = compressed.total_bits * LN2 + kl.terms[1].nats + len(coded) * LN2
    for t in coded:
        m = mixture_kl(t.codebook, t.counts, sig[t.name], lams)
        expect += m.upper + math.log(len(lams))
    assert kl.nats == pytest.approx(expect, rel=1e-12)
    assert sum(t.nats for t in kl.tensors) + (kl.code_bits - sum(t.code_bits for t in kl.tensors)) * LN2 \
        + kl.terms[1].nats + kl.terms[-1].nats == pytest.approx(kl.nats, rel=1e-12)
    assert all(t.adjustment < 0 for t in kl.tensors)  # noise robustness saves bits on every tensor here
    assert kl.terms[1].nats == pytest.approx(math.log(2) * (
        (kl.code_bits + 1).bit_length() - 1 + 2 * ((kl.code_bits + 1).bit_length()).bit_length() - 2 + 1))


def test_weighted_form_with_uniform_prior_equals_theorem_4_3():
    """An entropy coder whose P is uniform over r = 2^b and whose index bits are k*b gives the same KL."""
    rng = np.random.default_rng(0)
    c = np.sort(rng.normal(0, 0.1, 16)).astype(np.float32)
    n = rng.integers(1, 100, 16)
    k = int(n.sum())
    bits = dict(total_bits=5000 + 4 * k, index_bits=4 * k)
    lams = np.geomspace(1e-3, 1, 8)
    thm = tensor_kl("w", k, centers=c, counts=n, sigma=0.01, lambdas=lams, **bits)
    wtd = tensor_kl("w", k, centers=c, counts=n, sigma=0.01, lambdas=lams, prior=np.full(16, 1 / 16), **bits)
    assert thm.code_bits == bits["total_bits"] and wtd.code_bits == 5000
    assert wtd.nats == pytest.approx(thm.nats, rel=1e-10)


def test_weighted_form_replaces_index_bits_in_a_codec_report():
    c = np.array([-0.1, 0.0, 0.1], np.float32)
    counts = np.array([10, 80, 10])
    prior = counts / counts.sum()
    bits = BitBreakdown(header=40, positions=300, codebook=96, indices=120, padding=4)
    report = CodecReport([TensorReport("w", (10, 20), "torch.float32", True, bits, 100, c, counts, prior),
                          TensorReport("b", (10,), "torch.float32", False, BitBreakdown(side=320))], container_bits=200)
    kl = noise_robust_kl(report, 0.01, [0.01, 0.02])
    assert kl.code_bits == 200 + 320 + bits.total - 120
    t = kl.tensors[0]
    assert t.weighted and t.index_bits == 120 and t.grid_cost == pytest.approx(math.log(2))
    assert t.mixture.upper == mixture_kl(c, counts, 0.01, [0.01, 0.02], prior).upper


def test_assemble_applies_one_length_prior_to_the_total():
    parts = [tensor_kl(f"t{i}", 3, 100, 6, [0.0, 1.0, 2.0, 3.0], [1, 1, 1, 0], None, None) for i in range(5)]
    kl = assemble_kl(parts, 77, "uniform", noisy_choice=False)
    assert kl.code_bits == 577
    assert kl.nats == pytest.approx(577 * LN2 + 72 * LN2)
    assert assemble_kl(parts, 77, "uniform").nats == pytest.approx(kl.nats + 5 * LN2)  # 5 tensors could be noisy


def test_zero_sigma_is_a_point_mass(compressed):
    sig = {**sigmas(compressed), next(t.name for t in compressed.tensors if t.coded): 0.0}
    kl = noise_robust_kl(compressed, sig, [0.01, 0.1])
    t = kl.tensors[0]
    assert t.sigma is None and t.mixture is None and t.code_bits == t.total_bits and t.adjustment == 0


def test_json_and_table(compressed):
    import json
    kl = noise_robust_kl(compressed, sigmas(compressed), [0.01, 0.1])
    d = json.loads(json.dumps(kl.to_dict()))
    assert d["nats"] == pytest.approx(kl.nats) and len(d["tensors"]) == 2
    assert "mixture terms" in kl.table() and "adjust bits" in kl.table()


@pytest.mark.parametrize("kwargs, name", [
    (dict(counts=[1, 1]), "counts"), (dict(k=5), "k = 5"), (dict(sigma=float("nan")), "sigma"),
    (dict(sigma=-0.1), "sigma"), (dict(lambdas=[]), "lambdas"), (dict(total_bits=-1), "total_bits"),
    (dict(index_bits=10**6), "index_bits"), (dict(lambdas=[-1.0]), "lambdas"),
])
def test_tensor_kl_invalid_input_names_the_argument(kwargs, name):
    args = dict(name="w", k=3, total_bits=1000, index_bits=6, centers=[0.0, 1.0, 2.0], counts=[1, 1, 1],
                sigma=0.1, lambdas=[0.1])
    args.update(kwargs)
    with pytest.raises(ConfigError, match=name):
        tensor_kl(**args)


def test_noise_robust_kl_checks_tensor_names(compressed):
    names = [t.name for t in compressed.tensors if t.coded]
    with pytest.raises(ConfigError, match="not coded"):
        noise_robust_kl(compressed, {**{n: 0.1 for n in names}, "nope": 0.1}, [0.1])
    with pytest.raises(ConfigError, match="sigma has no entry"):
        noise_robust_kl(compressed, {names[0]: 0.1}, [0.1])
    with pytest.raises(ConfigError, match="lambdas has no entry"):
        noise_robust_kl(compressed, 0.1, {names[0]: [0.1]})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(triplets(max_numel=2000, max_r=64), st.sampled_from([0.01, 0.05, 0.5]), st.booleans())
def test_random_triplets_give_finite_kl(t, relative, weighted):
    """Codebooks with subnormal, huge, repeated or float16 values; empty tensors; r = 1."""
    c = t.codebook.astype(np.float64)
    span = float(np.ptp(c)) if c.size else 0.0
    counts = t.counts()
    prior = (counts + 1) / (counts + 1).sum() if weighted and c.size else None
    index_bits = t.k * max(1, (c.size - 1).bit_length())
    kt = tensor_kl("w", t.k, 10_000 + index_bits, index_bits, c, counts, relative * span,
                   span * np.geomspace(1e-3, 1, 8) if span else [1.0], prior)
    for value in (kt.nats, kt.adjustment, *(() if kt.mixture is None else (kt.mixture.upper, kt.mixture.lower))):
        assert math.isfinite(value)
    if kt.mixture:
        assert kt.mixture.lower <= kt.mixture.upper
