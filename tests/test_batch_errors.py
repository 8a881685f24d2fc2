import numpy as np
import pytest
import torch

from pacbits.core import ConfigError
from pacbits.evaluate import error_rate
from pacbits.stochastic import batch_errors


def setup(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        model[0].weight[model[0].weight.abs() < 0.2] = 0
    x, y = torch.randn(120, 6), torch.randint(0, 3, (120,))
    return model, x, y


def test_zero_noise_averages_to_the_exact_error():
    model, x, y = setup()
    rates = batch_errors(model, x, y, {"0.weight": 0.0}, batch_size=10, passes=2)
    assert rates.shape == (24,) and rates.mean() == pytest.approx(error_rate(model, x, y), abs=1e-12)


def test_noise_touches_kept_weights_only_and_is_undone():
    model, x, y = setup()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = []
    model[0].register_forward_pre_hook(lambda m, i: seen.append(m.weight.detach().clone()))
    batch_errors(model, x, y, {"0.weight": 0.5}, batch_size=30)
    pruned = before["0.weight"] == 0
    assert len(seen) == 4 and all(torch.equal(w[pruned], before["0.weight"][pruned]) for w in seen)
    assert all(not torch.equal(w[~pruned], before["0.weight"][~pruned]) for w in seen)
    assert not torch.equal(seen[0], seen[1])  # fresh noise per batch
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_seeded_and_error_rates_in_unit_interval():
    model, x, y = setup()
    a = batch_errors(model, x, y, {"0.weight": 1.0, "2.weight": 1.0}, batch_size=20, passes=3, seed=7)
    b = batch_errors(model, x, y, {"0.weight": 1.0, "2.weight": 1.0}, batch_size=20, passes=3, seed=7)
    assert np.array_equal(a, b) and a.min() >= 0 and a.max() <= 1


@pytest.mark.parametrize("kw", [{"batch_size": 7}, {"batch_size": 0}, {"passes": 0}])
def test_bad_arguments(kw):
    model, x, y = setup()
    with pytest.raises(ConfigError, match="batch_size must divide"):
        batch_errors(model, x, y, {"0.weight": 0.1}, **kw)
