import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pacbits.core import ConfigError
from pacbits.experiments.labels import randomize_labels


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 500), st.floats(0, 1), st.integers(2, 12), st.integers(0, 2**31))
def test_changes_at_most_the_requested_fraction(n, fraction, classes, seed):
    y = torch.randint(0, classes, (n,), generator=torch.Generator().manual_seed(seed))
    z = randomize_labels(y, fraction, classes, seed)
    assert int((z != y).sum()) <= round(fraction * n)
    assert z.dtype == y.dtype and (z.numel() == 0 or (0 <= z.min() and z.max() < classes))
    assert torch.equal(z, randomize_labels(y, fraction, classes, seed))


def test_different_seeds_differ_and_input_untouched():
    y = torch.arange(1000) % 10
    a, b = randomize_labels(y, 0.5, 10, 0), randomize_labels(y, 0.5, 10, 1)
    assert not torch.equal(a, b) and torch.equal(y, torch.arange(1000) % 10)


def test_full_randomization_is_uniform_over_all_classes():
    # the true class is as likely as any other: random labels say nothing about it (binomial, 20000 x 1/10: sd 42)
    z = randomize_labels(torch.zeros(20000, dtype=torch.long), 1.0, 10, 3)
    counts = torch.bincount(z, minlength=10)
    assert counts.min() > 2000 - 5 * 42 and counts.max() < 2000 + 5 * 42


def test_replaced_labels_are_the_chosen_fraction_drawn_uniformly():
    # labels 0..9 repeated; half replaced: about 1/10 of the replaced ones keep their label by chance
    y = torch.arange(40000) % 10
    z = randomize_labels(y, 0.5, 10, 7)
    changed = int((z != y).sum())
    assert abs(changed - 20000 * 0.9) < 5 * (20000 * 0.9 * 0.1) ** 0.5


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan"), "half", None])
def test_invalid_fractions(fraction):
    with pytest.raises(ConfigError, match="fraction"):
        randomize_labels(torch.zeros(3, dtype=torch.long), fraction, 10, 0)


def test_invalid_labels():
    with pytest.raises(ConfigError, match="lie in"):
        randomize_labels(torch.tensor([0, 10]), 0.5, 10, 0)
    with pytest.raises(ConfigError, match="1-D integer"):
        randomize_labels(torch.zeros(3), 0.5, 10, 0)
