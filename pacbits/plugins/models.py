"""Built-in models ``lenet5`` and ``lenet-300-100`` (:mod:`pacbits.models`), registered like a third-party plugin's.

The factories import :mod:`pacbits.models` (and torch) when called: listing the models loads no torch.
"""
from pacbits.core import hookimpl
from pacbits.core.catalog import ModelSpec


def lenet5():
    from pacbits.models import lenet5

    return lenet5()


def lenet5_small():
    from pacbits.models import lenet5_small

    return lenet5_small()


def lenet300_100():
    from pacbits.models import lenet300_100

    return lenet300_100()


@hookimpl
def register_models():
    return [
        ModelSpec("lenet5", lenet5, "LeNet-5 (conv 20, conv 50, fc 500, fc 10) for 1x28x28 inputs, 10 classes"),
        ModelSpec("lenet5-small", lenet5_small, "the classic LeNet-5 (conv 6, conv 16, fc 120, 84, 10; 61,706 "
                                                "parameters) for 1x28x28 inputs, 10 classes"),
        ModelSpec("lenet-300-100", lenet300_100, "fully connected 784-300-100-10 for 28x28 inputs, 10 classes"),
    ]
