"""Reader for the classic ``mnist.pkl.gz`` (train / validation / test splits).

The file is a Python 2 pickle of three ``(images, labels)`` pairs of numpy
arrays. It is read by an unpickler that can build numpy arrays (as numpy
pickles them under protocols 2 to 5) and nothing else, so a crafted file
cannot run code.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
from tqdm import tqdm

from pacbits.data.errors import DataError

try:  # numpy >= 2 moved numpy.core to numpy._core
    from numpy._core.multiarray import _reconstruct
    from numpy._core.numeric import _frombuffer
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct
    from numpy.core.numeric import _frombuffer


def _reconstruct_empty(subtype, shape, dtype):
    """``_reconstruct`` limited to what ndarray pickles use: an empty ndarray, filled by BUILD."""
    if subtype is not np.ndarray or tuple(shape) != (0,):
        raise pickle.UnpicklingError(
            f"array reconstruction with {subtype!r}, shape {shape!r}: only an empty ndarray is allowed")
    return _reconstruct(subtype, shape, dtype)


def _latin1_encode(text, encoding):
    """``_codecs.encode`` as Python 3 protocol-2 pickles use it for bytes: latin1 only."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("_codecs.encode is allowed only to turn a str into latin1 bytes")
    return text.encode("latin1")


# The only globals a pickle may name: what numpy arrays need under pickle
# protocols 2 to 5, in numpy 1 and numpy 2 spellings.
_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct_empty,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct_empty,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,  # protocol 5; bounded by its buffer
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("_codecs", "encode"): _latin1_encode,
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[module, name]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only numpy arrays are allowed") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refusing persistent ids: only numpy arrays are allowed")


def read_mnist_pickle(path: str | Path, *, progress: bool = False
                      ) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Read a ``mnist.pkl``-style pickle (gzipped if the name ends in ``.gz``).

    Returns its tuple of ``(x, y)`` splits: ``x`` a 2-D float array, one row
    per image; ``y`` a 1-D integer array of the same length. Raises DataError
    for anything else, including a pickle naming any global other than those
    that rebuild numpy arrays. ``progress`` shows a bar of bytes read.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file, tqdm.wrapattr(
                file, "read", total=path.stat().st_size, desc=f"reading {path.name}", unit="B",
                unit_scale=True, unit_divisor=1024, disable=not progress, leave=False) as raw:
            f = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
            # Any exception from here on means malformed input, whatever its type.
            obj = _ArrayUnpickler(f, encoding="latin1").load()
    except OSError as e:  # missing file, not gzip
        raise DataError(f"{path}: cannot read: {e}") from e
    except Exception as e:
        raise DataError(f"{path}: not a pickle of numpy arrays: {type(e).__name__}: {e}") from e
    return _check_splits(path, obj)


def _check_splits(path: Path, obj) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    if not isinstance(obj, tuple) or not obj:
        raise DataError(f"{path}: expected a tuple of (images, labels) splits, got {type(obj).__name__}")
    for i, split in enumerate(obj):
        if not (isinstance(split, tuple) and len(split) == 2
                and all(isinstance(a, np.ndarray) for a in split)):
            raise DataError(f"{path}: split {i} is not an (images, labels) pair of numpy arrays")
        x, y = split
        if x.ndim != 2 or x.dtype.kind != "f":
            raise DataError(f"{path}: split {i} images: expected a 2-D float array, "
                            f"got shape {x.shape} of {x.dtype}")
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise DataError(f"{path}: split {i} labels: expected a 1-D integer array, "
                            f"got shape {y.shape} of {y.dtype}")
        if len(x) != len(y):
            raise DataError(f"{path}: split {i} has {len(x)} images but {len(y)} labels")
    return obj
