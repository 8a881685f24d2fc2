import numpy as np
import pytest
import torch
from torch import nn

from pacbits.core import ConfigError
from pacbits.evaluate import error_rate
from pacbits.stochastic import absolute_sigma, kept_range, perturbed, sample_errors, search_sigma


def problem(seed=0):
    """A sparse two-layer net that fits a separable 3-class problem."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(600, 10, generator=g)
    y = (x @ torch.randn(10, 3, generator=g)).argmax(1)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    with torch.no_grad():
        model[0].weight[model[0].weight.abs() < 0.1] = 0
    return model, x, y


def test_noise_touches_only_the_kept_weights_of_the_chosen_tensor():
    model, _, _ = problem()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    kept = before["0.weight"] != 0
    assert 0 < int(kept.sum()) < kept.numel()
    with perturbed(model, {"0.weight": 0.1}, torch.Generator().manual_seed(0)):
        now = model.state_dict()
        diff = now["0.weight"] - before["0.weight"]
        assert (diff[~kept] == 0).all() and (now["0.weight"][~kept] == 0).all()
        assert (diff[kept] != 0).all() and 0.05 < float(diff[kept].std()) < 0.2
        assert all(torch.equal(now[k], before[k]) for k in before if k != "0.weight")
    assert all(torch.equal(model.state_dict()[k], before[k]) for k in before)  # restored exactly


def test_sample_errors_are_fresh_per_draw_and_seeded():
    model, x, y = problem()
    sigma = {"0.weight": 0.3, "2.weight": 0.3}
    a = sample_errors(model, x, y, sigma, draws=4, seed=1)
    assert a.shape == (4,) and a.dtype == np.float64 and len(set(a)) > 1
    assert np.array_equal(a, sample_errors(model, x, y, sigma, draws=4, seed=1))
    assert not np.array_equal(a, sample_errors(model, x, y, sigma, draws=4, seed=2))
    assert np.array_equal(sample_errors(model, x, y, {"0.weight": 0.0}, draws=2), [error_rate(model, x, y)] * 2)


def test_relative_sigma_is_a_fraction_of_the_kept_range():
    w = torch.tensor([[0.0, -0.5], [2.0, 0.0]])
    assert kept_range(w) == 2.5 and kept_range(torch.zeros(3)) == 0.0
    lin = nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(w)
    assert absolute_sigma(lin, {"weight": 0.05}) == {"weight": pytest.approx(0.125)}


def test_search_respects_the_tolerance_and_grows_with_it():
    model, x, y = problem()
    base = error_rate(model, x, y)
    found = {}
    for tol in (0.01, 0.05):
        sigma = search_sigma(model, x, y, tolerance=tol, steps=5, draws=2, seed=3)
        assert set(sigma) == {"0.weight", "2.weight"} and all(s > 0 for s in sigma.values())
        assert sample_errors(model, x, y, sigma, draws=2, seed=3).mean() <= base + tol  # joint, same draws
        found[tol] = sigma
    assert sum(found[0.05].values()) > sum(found[0.01].values())
    tiny = search_sigma(model, x, y, tolerance=0.0, names=["2.weight"], lo=0.5, hi=1.0, steps=2)
    assert tiny == {"2.weight": 0.0}


def test_bad_input():
    model, x, y = problem()
    g = torch.Generator()
    with pytest.raises(ConfigError, match="finite and >= 0"):
        with perturbed(model, {"0.weight": -1.0}, g):
            pass
    with pytest.raises(ConfigError, match="baked first"):
        sample_errors(model, x, y, {"0.parametrizations.weight.original": 0.1}, draws=1)
    with pytest.raises(ConfigError):
        sample_errors(model, x, y, {"0.weight": 0.1}, draws=0)
    with pytest.raises(ConfigError):
        search_sigma(model, x, y, tolerance=-0.1)
