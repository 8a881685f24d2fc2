"""Built-in models ``lenet5`` and ``lenet-300-100`` (:mod:`pacbits.models`), registered like a third-party plugin's."""
from pacbits.core import hookimpl
from pacbits.core.catalog import ModelSpec
from pacbits.models import lenet5, lenet300_100


@hookimpl
def register_models():
    return [
        ModelSpec("lenet5", lenet5, "LeNet-5 (conv 20, conv 50, fc 500, fc 10) for 1x28x28 inputs, 10 classes"),
        ModelSpec("lenet-300-100", lenet300_100, "fully connected 784-300-100-10 for 28x28 inputs, 10 classes"),
    ]
