"""The networks of the paper's MNIST experiments, with readable state_dict keys."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class LeNet5(nn.Module):
    """LeNet-5 as in the paper: conv 20@5x5, max-pool 2, conv 50@5x5, max-pool 2,
    fc 500, fc 10; 431,080 parameters. ReLU follows conv1, conv2 and fc1 (Caffe's
    LeNet has one after fc1 only; the parameters are the same).

    Input ``(N, 1, 28, 28)``, output logits ``(N, 10)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(50 * 4 * 4, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


class LeNet300100(nn.Module):
    """LeNet-300-100: fully connected 784-300-100-10 with ReLU; 266,610 parameters.

    Input ``(N, 1, 28, 28)`` or ``(N, 784)``, output logits ``(N, 10)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.fc1(x.flatten(1)))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def lenet5() -> LeNet5:
    """A freshly initialized LeNet-5 (PyTorch's default initialization)."""
    return LeNet5()


def lenet300_100() -> LeNet300100:
    """A freshly initialized LeNet-300-100 (PyTorch's default initialization)."""
    return LeNet300100()


class LeNet5Small(nn.Module):
    """The classic LeNet-5 (LeCun et al. 1998): conv 6@5x5 (padding 2), max-pool 2, conv 16@5x5,
    max-pool 2, fc 120, fc 84, fc 10, ReLU; 61,706 parameters, 7x fewer than :class:`LeNet5`,
    so a subspace projection θ₀ + P·w over all of them is 7x cheaper to train and decode.

    Input ``(N, 1, 28, 28)``, output logits ``(N, 10)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def lenet5_small() -> LeNet5Small:
    """A freshly initialized classic LeNet-5 (6-16-120-84)."""
    return LeNet5Small()
