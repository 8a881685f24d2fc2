import numpy as np
import pytest
import torch
from torch import nn

from pacbits.core import Codec, ConfigError, decompress, reparam, schedules
from pacbits.plugins.dns import DNSPruner, dns_rule, quantile_threshold
from pacbits.plugins.fixed import FixedCoder
from pacbits.plugins.magnitude import MagnitudePruner
from pacbits.testing.conformance import PrunerConformance


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 16), nn.ReLU(), nn.Linear(16, 3))


def step(model, seed, opt=None):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(8, 1, 6, 6, generator=g), torch.randint(0, 3, (8,), generator=g)
    if opt:
        opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    if opt:
        opt.step()


def test_dns_rule_on_hand_built_tensor():
    w = torch.tensor([0.05, 0.2, 0.5, 0.95, 1.5, 0.3, 1.0])
    mask = torch.tensor([1, 0, 1, 0, 0, 1, 0], dtype=torch.bool)
    # a = 0.3, b = 1.0: drop below a, splice above b, unchanged on [a, b]
    assert dns_rule(w, mask, 0.3, 1.0).tolist() == [False, False, True, False, True, True, False]


def test_dns_std_thresholds():
    w = torch.tensor([[1.0, -2.0], [3.0, -6.0]])
    p = DNSPruner(std_multiple=[[0, 0.0], [10, 2.0]], hysteresis=0.1)
    mean, std = 3.0, float(np.std([1, 2, 3, 6]))
    assert p.thresholds("w", w.abs(), 0) == pytest.approx((0.9 * mean, 1.1 * mean))
    assert p.thresholds("w", w.abs(), 10) == pytest.approx((0.9 * (mean + 2 * std), 1.1 * (mean + 2 * std)))
    # from all kept at step 0: |w| < 2.7 dropped
    assert p.masks({"w": w}, step=0)["w"].tolist() == [[False, False], [True, True]]


def test_dns_quantile_mode_keeps_exact_density_without_hysteresis():
    model = mlp()
    p = DNSPruner(density=0.1, hysteresis=0.0, begin=0, end=4)
    p.attach(model)
    dens = []
    for t in range(6):
        p.update(model, t)
        dens.append({n: int(q.mask.sum()) for n, (_, _, q) in reparam.installed(model).items()})
    for n, (_, _, q) in reparam.installed(model).items():
        assert dens[-1][n] == round(0.1 * q.mask.numel())
        assert dens[2][n] == round(schedules.cubic_density(2, 0.1, 0, 4) * q.mask.numel())
    assert quantile_threshold(torch.tensor([3.0, 1.0, 2.0]), 2) == 1.5


def test_dns_pruned_weights_get_the_gradient_of_the_masked_weight():
    model = mlp()
    p = DNSPruner(density=0.3, hysteresis=0.0)
    p.attach(model)
    p.update(model, 0)
    dense = mlp()
    dense.load_state_dict(reparam.bake(model))
    step(model, 1)
    step(dense, 1)
    for n, (m, a, q) in reparam.installed(model).items():
        grad = reparam.original(m, a).grad
        assert (grad[~q.mask] != 0).any(), n  # pruned weights keep learning
        torch.testing.assert_close(grad, dense.get_parameter(n).grad, rtol=0, atol=0)  # straight through


def test_dns_splices_a_weight_back_when_it_grows_and_drops_it_when_it_shrinks():
    lin = nn.Linear(10, 10)
    with torch.no_grad():
        lin.weight.copy_(torch.linspace(-1, 1, 100).reshape(10, 10))
    p = DNSPruner(std_multiple=[[0, 0.5]], hysteresis=0.1)
    p.attach(lin)
    p.update(lin, 0)
    mask = reparam.installed(lin)["weight"][2].mask
    w = lin.parametrizations.weight.original
    assert not mask[5, 0] and mask[0, 0]
    with torch.no_grad():
        w[5, 0], w[0, 0] = 5.0, 0.0
    p.update(lin, 1)
    assert mask[5, 0] and not mask[0, 0]
    assert lin.weight[5, 0] == 5.0 and lin.weight[0, 0] == 0.0


def test_dns_update_probability_is_seeded():
    def run(seed):
        model = mlp()
        p = DNSPruner(std_multiple=[[0, 0.0], [3, 1.0]], prob=[[0, 1.0], [2, 0.5]], seed=seed)
        p.attach(model)
        return [p.update(model, t) for t in range(40)], reparam.bake(model)

    (u1, s1), (u2, s2), (u3, _) = run(0), run(0), run(1)
    assert u1 == u2 and u1[:2] == [True, True] and 5 < sum(u1) < 35 and u1 != u3
    assert all(torch.equal(s1[k], s2[k]) for k in s1)


def test_dns_prunes_biases_when_configured():
    model = mlp()
    p = DNSPruner(density={"3.weight": 0.5, "3.bias": 0.25}, hysteresis=0.0, targets="floating")
    p.attach(model)
    p.update(model, 0)
    sd = reparam.bake(model)
    assert int((sd["3.bias"] != 0).sum()) == 4 and int((sd["3.weight"] != 0).sum()) == 384
    assert torch.equal(sd["0.weight"], mlp().state_dict()["0.weight"])  # not listed: untouched
    with pytest.raises(ConfigError, match="not target tensors"):
        DNSPruner(density={"3.bias": 0.5}).attach(mlp())  # biases are not targets by default


def test_magnitude_training_keeps_pruned_weights_exactly_zero():
    model = mlp()
    p = MagnitudePruner(density=0.3)
    p.attach(model)
    assert p.update(model, 0) and not p.update(model, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    for t in range(5):
        step(model, t, opt)
        p.update(model, t + 1)
    step(model, 99)
    for n, (m, a, q) in reparam.installed(model).items():
        w = getattr(m, a)
        assert int(q.mask.sum()) == round(0.3 * w.numel())
        assert (w[~q.mask] == 0).all() and (w[q.mask] != 0).all()
        assert (reparam.original(m, a).grad[~q.mask] == 0).all()  # no gradient reaches them


def test_magnitude_gradual_follows_the_cubic_schedule_and_masks_only_shrink():
    model = mlp()
    p = MagnitudePruner(density=0.2, begin=2, end=10, frequency=3)
    p.attach(model)
    masks = reparam.installed(model)
    prev = {n: q.mask.clone() for n, (_, _, q) in masks.items()}
    for t in range(12):
        p.update(model, t)
        for n, (_, _, q) in masks.items():
            held = t if t < 2 or t >= 10 else 2 + (t - 2) // 3 * 3
            assert int(q.mask.sum()) == round(schedules.cubic_density(held, 0.2, 2, 10) * q.mask.numel())
            assert not (q.mask & ~prev[n]).any()
            prev[n] = q.mask.clone()
    assert [p.scheduled_density(t) for t in (0, 2, 4, 5, 10)] == pytest.approx(
        [1.0, 1.0, 1.0, 0.2 + 0.8 * (5 / 8) ** 3, 0.2])


def test_magnitude_global_scope_keeps_exact_total():
    model = mlp()
    p = MagnitudePruner(density=0.05, scope="global")
    p.attach(model)
    p.update(model, 0)
    masks = [q.mask for _, _, q in reparam.installed(model).values()]
    assert sum(int(m.sum()) for m in masks) == round(0.05 * sum(m.numel() for m in masks))


def test_bake_gives_plain_state_dict_that_codes_losslessly():
    model = mlp()
    p = DNSPruner(density=0.2, hysteresis=0.0)
    p.attach(model)
    p.update(model, 0)
    sd = reparam.bake(model)
    assert list(sd) == list(mlp().state_dict())
    plain = mlp(1)
    plain.load_state_dict(sd)
    x = torch.randn(4, 1, 6, 6)
    assert torch.equal(plain(x), model(x))
    back = decompress(Codec(FixedCoder()).compress(sd).data)
    assert all(torch.equal(back[k], sd[k]) for k in sd)
    reparam.detach(model)
    assert not reparam.installed(model) and all(torch.equal(model.state_dict()[k], sd[k]) for k in sd)


@pytest.mark.parametrize("cfg", [
    {"density": 0.0}, {"density": 1.5}, {"density": -0.1}, {"density": "0.1"}, {"density": True},
    {"scope": "row"}, {"frequency": 0}, {"begin": 5, "end": 2}, {"begin": -1}, {"targets": "biases"},
])
def test_magnitude_bad_config(cfg):
    with pytest.raises(ConfigError):
        MagnitudePruner(**cfg)


@pytest.mark.parametrize("cfg", [
    {"density": 0.0}, {"density": 2.0}, {"density": {"a": 0.0}}, {"hysteresis": 1.0}, {"prob": [[0, 1.5]]},
    {"prob": []}, {"prob": [[5, 1.0], [2, 0.1]]}, {"std_multiple": [[0]]}, {"end": 2.5}, {"targets": "all"},
])
def test_dns_bad_config(cfg):
    with pytest.raises(ConfigError):
        DNSPruner(**cfg)


def test_no_prunable_tensor_is_an_error():
    for p in (DNSPruner(), MagnitudePruner()):
        with pytest.raises(ConfigError, match="no tensor to prune"):
            p.attach(nn.Sequential(nn.ReLU(), nn.LayerNorm(4)))


def test_configs_round_trip_through_the_registry(registry):
    for cfg in ({"id": "dns", "density": {"0.weight": 0.5}, "prob": [[0, 1.0], [100, 0.001]], "seed": 3},
                {"id": "magnitude", "density": 0.1, "begin": 0, "end": 100, "frequency": 10}):
        p = registry.create("pruner", cfg)
        assert registry.create("pruner", p.get_config()).config_json() == p.config_json()
    assert registry.get("pruner", "dns").one_shot is False


class TestPrunersConform(PrunerConformance):
    @pytest.fixture(params=[MagnitudePruner(0.3), MagnitudePruner(0.1, scope="global"), DNSPruner(density=0.2)],
                    ids=["magnitude", "magnitude-global", "dns"])
    def pacbits_pruner(self, request):
        return request.param

    @pytest.fixture
    def pacbits_max_examples(self):
        return 40
