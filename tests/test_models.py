import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from pacbits.core.errors import ConfigError
from pacbits.evaluate import error_rate
from pacbits.models import lenet5, lenet300_100


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_lenet5():
    model = lenet5()
    # conv1 1*20*25+20, conv2 20*50*25+50, fc1 800*500+500, fc2 500*10+10 (the paper's 431k)
    assert n_params(model) == 520 + 25_050 + 400_500 + 5_010 == 431_080
    assert list(model.state_dict()) == [f"{layer}.{p}" for layer in ("conv1", "conv2", "fc1", "fc2")
                                        for p in ("weight", "bias")]
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_lenet300_100():
    model = lenet300_100()
    assert n_params(model) == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10 == 266_610
    assert list(model.state_dict()) == [f"fc{i}.{p}" for i in (1, 2, 3) for p in ("weight", "bias")]
    x = torch.randn(4, 1, 28, 28)
    assert model(x).shape == (4, 10)
    torch.testing.assert_close(model(x), model(x.flatten(1)))


def test_models_train():
    """A few steps of SGD lower the loss on a fixed batch: the layers are wired to the output."""
    torch.manual_seed(0)
    x, y = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    for model in (lenet5(), lenet300_100()):
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        losses = []
        for _ in range(5):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < losses[0]
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), classes=st.integers(1, 8), data=st.data())
def test_error_rate_matches_rank_count(n, classes, data):
    """With logits as input and nn.Identity as model: error = share of labels ranked below top-k."""
    seed = data.draw(st.integers(0, 2**32 - 1))
    topk = data.draw(st.integers(1, classes))
    batch_size = data.draw(st.integers(1, 50))
    rng = np.random.default_rng(seed)
    logits = np.array([rng.permutation(classes) for _ in range(n)], dtype=np.float32)  # no ties
    y = rng.integers(0, classes, n)
    rank = (logits > logits[np.arange(n), y][:, None]).sum(axis=1)  # 0 for the top logit
    expected = float(np.mean(rank >= topk))
    got = error_rate(nn.Identity(), torch.from_numpy(logits), torch.from_numpy(y), topk=topk, batch_size=batch_size)
    assert got == pytest.approx(expected, abs=1e-12)


def test_error_rate_eval_mode_and_no_grad():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Dropout(0.9))
    model.train()
    x, y = torch.rand(50, 1, 28, 28), torch.randint(0, 10, (50,))
    with torch.no_grad():
        expected = float((model.eval()(x).argmax(1) != y).float().mean())
    model.train()
    assert error_rate(model, x, y, batch_size=7) == pytest.approx(expected)  # dropout off, every batch
    assert model.training  # mode restored
    model.eval()
    error_rate(model, x, y)
    assert not model.training
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("kwargs, message", [
    (dict(x=torch.zeros(3, 10), y=torch.zeros(2, dtype=torch.long)), "got x"),
    (dict(x=torch.zeros(3, 10), y=torch.zeros(3, 1, dtype=torch.long)), "got x"),
    (dict(x=torch.zeros(0, 10), y=torch.zeros(0, dtype=torch.long)), "0 examples"),
    (dict(topk=0), "topk and batch_size"),
    (dict(batch_size=0), "topk and batch_size"),
    (dict(topk=11), "exceeds the model's 10 classes"),
])
def test_error_rate_bad_arguments(kwargs, message):
    args = dict(x=torch.zeros(3, 10), y=torch.zeros(3, dtype=torch.long)) | kwargs
    with pytest.raises(ConfigError, match=message):
        error_rate(nn.Identity(), **args)
