import contextlib
import io
import json

import pytest
from hypothesis import settings

from pacbits.core import make_registry

# No timed assertions (house rule): hypothesis' per-example deadline fails tests at random
# when the shared machine is loaded, so it is off for every test.
settings.register_profile("pacbits", deadline=None)
settings.load_profile("pacbits")


@pytest.fixture
def registry():
    """A fresh registry of the built-in plugins, isolated from installed ones."""
    return make_registry(entry_points=False)


@pytest.fixture(scope="session")
def tiny_mnist_dir(tmp_path_factory):
    """IDX files of a tiny learnable MNIST look-alike: 400 training and 100 test images.

    Each class lights a different 7x7 block, plus noise, so a few training steps
    get well below chance.
    """
    import numpy as np

    from pacbits.data import write_mnist_dir

    rng = np.random.default_rng(0)

    def images(labels):
        x = rng.integers(0, 60, (labels.size, 28, 28))
        for i, c in enumerate(labels):
            r, col = divmod(int(c), 4)
            x[i, 7 * r:7 * r + 7, 7 * col:7 * col + 7] += 180
        return x.astype(np.uint8)

    train_y, test_y = rng.integers(0, 10, 400), rng.integers(0, 10, 100)
    return write_mnist_dir(tmp_path_factory.mktemp("tiny_mnist"), images(train_y), train_y, images(test_y), test_y)


@pytest.fixture(scope="session")
def tiny_lenet5(tmp_path_factory):
    """An untrained LeNet-5 pruned to 5% and 4-bit quantized (float16 codebooks, biases too), saved as a state_dict."""
    import torch

    from pacbits.codecs.presets import LENET5_KMEANS
    from pacbits.core import Codec, decompress
    from pacbits.models import lenet5

    torch.manual_seed(0)
    codec = Codec.from_spec({"pruner": {"id": "magnitude", "density": 0.05}, "quantizer": LENET5_KMEANS,
                             "coder": {"id": "fixed"}, "targets": "floating"})
    path = tmp_path_factory.mktemp("tiny_lenet5") / "lenet5.pt"
    torch.save(decompress(codec.compress(lenet5().state_dict()).data), path)
    return path


def reproduced(experiment: str, data, out, settings: list[str]):
    """(``out``, argv) of a fresh tiny ``reproduce EXPERIMENT`` run, which the tests that read or resume it share.

    It runs under ``--json``: stdout must be exactly one JSON document, the report.
    """
    from pacbits.cli import main

    argv = ["reproduce", experiment, "--data", str(data), "--out", str(out), *settings]
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
        assert main([*argv, "--json"]) == 0
    assert json.loads(stdout.getvalue()) == json.loads((out / "report.json").read_text())
    return out, argv


@pytest.fixture(scope="session")
def lenet5_run(tiny_mnist_dir, tmp_path_factory):
    return reproduced("lenet5", tiny_mnist_dir, tmp_path_factory.mktemp("lenet5"),
                      ["--quick", "--steps", "20,20,5", "--passes", "2"])


@pytest.fixture(scope="session")
def subspace_run(tiny_mnist_dir, tmp_path_factory):
    return reproduced("subspace", tiny_mnist_dir, tmp_path_factory.mktemp("subspace"),
                      ["--quick", "--steps", "60,20", "--d", "64", "--levels", "4,6", "--rates", "0,0.05",
                       "--passes", "1"])
