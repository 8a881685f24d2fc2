"""Reader for IDX files, the format MNIST and its relatives are distributed in.

An IDX file is: two zero bytes, a type code, the number of dimensions ``d``,
``d`` big-endian uint32 sizes, then the values in big-endian C order.
Files ending in ``.gz`` are decompressed on the fly.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from pacbits.data.errors import DataError

# IDX type code -> numpy dtype (big-endian, as stored).
IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CHUNK = 1 << 24


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``) into an array in native byte order.

    Raises DataError if the magic, type code or dimension count is invalid, or
    if the file holds fewer or more bytes than its dimensions declare.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            magic = f.read(4)
            if len(magic) < 4 or magic[:2] != b"\0\0":
                raise DataError(f"{path}: not an IDX file (magic {magic.hex() or 'empty'}, "
                                f"expected 0000 followed by a type code and a dimension count)")
            code, ndim = magic[2], magic[3]
            if code not in IDX_DTYPES:
                known = ", ".join(f"0x{c:02x}" for c in IDX_DTYPES)
                raise DataError(f"{path}: unknown IDX type code 0x{code:02x} (known: {known})")
            if ndim == 0:
                raise DataError(f"{path}: IDX file declares 0 dimensions, expected at least 1")
            header = f.read(4 * ndim)
            if len(header) < 4 * ndim:
                raise DataError(f"{path}: truncated IDX header ({ndim} dimensions declared)")
            shape = struct.unpack(f">{ndim}I", header)
            dtype = IDX_DTYPES[code]
            if math.prod(max(d, 1) for d in shape) * dtype.itemsize >= 1 << 62:
                raise DataError(f"{path}: IDX shape {shape} is too large for any array")
            expected = math.prod(shape) * dtype.itemsize
            _check_gzip_size(path, opener, 4 + 4 * ndim + expected)
            data = _read_at_most(f, expected + 1)
    except (OSError, EOFError, zlib.error) as e:  # missing file, corrupt or cut gzip stream
        raise DataError(f"{path}: cannot read: {e}") from e
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has extra bytes after the data"
        raise DataError(f"{path}: {what}: shape {shape} of {dtype.name} needs {expected} bytes "
                        f"of data, found {'at least ' if len(data) > expected else ''}{len(data)}")
    return np.frombuffer(data, dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=False)


def _check_gzip_size(path: Path, opener, size: int) -> None:
    """A gzip file records its data's length mod 2**32 in its last 4 bytes: check it before inflating."""
    if opener is not gzip.open:
        return
    with open(path, "rb") as raw:
        raw.seek(0, 2)
        if raw.tell() < 18:
            raise DataError(f"{path}: truncated gzip file")
        raw.seek(-4, 2)
        isize = struct.unpack("<I", raw.read(4))[0]
    if isize != size % (1 << 32):
        what = "truncated" if isize < size % (1 << 32) else "has extra bytes after the data"
        raise DataError(f"{path}: cannot read: {what}: its gzip trailer records {isize} bytes "
                        f"(mod 2**32), its IDX header needs {size}")


def _read_at_most(f, n: int) -> bytearray:
    """Read until EOF or ``n`` bytes, in chunks, so a lying header cannot force a huge allocation."""
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzipped if ``path`` ends in ``.gz``): the inverse of :func:`read_idx`."""
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"IDX cannot hold dtype {array.dtype}; expected one of {sorted(map(str, codes))}")
    data = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data += array.astype(IDX_DTYPES[code]).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_mnist_dir(folder: str | Path, train_x, train_y, test_x, test_y) -> Path:
    """Write uint8 images ``(N, 28, 28)`` and labels as the four standard MNIST IDX files in ``folder``."""
    from pacbits.data.dataset import IDX_NAMES  # dataset imports this module

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}
    for key, name in IDX_NAMES.items():
        write_idx(folder / name, np.asarray(arrays[key], dtype=np.uint8))
    return folder
