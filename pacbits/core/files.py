"""Safe output files: written whole to a temporary file in the target folder, then renamed into place.

``os.replace`` is atomic on POSIX, so a reader (or a crash) sees either the old
file or the complete new one, never a truncated mix. An existing output is
replaced only with ``force`` (as gzip and zstd do), and an output that is one of
the inputs is refused even then. Every failure is a one-line :class:`PacbitsError`.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from .errors import PacbitsError


def check_output(path: Path, force: bool = False, inputs: Iterable[Path] = ()) -> Path:
    """Refuse an output that is an input, a folder, or an existing file without ``force``."""
    path = Path(path)
    for src in inputs:
        src = Path(src)
        if path.resolve() == src.resolve() or (path.exists() and src.exists() and os.path.samefile(path, src)):
            raise PacbitsError(f"{path}: the output is the input file; choose another output path")
    if path.is_dir():
        raise PacbitsError(f"{path}: is a folder, expected a file path")
    if path.exists() and not force:
        raise PacbitsError(f"{path}: already exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise PacbitsError(f"{path.parent}: no such folder")
    return path


def write_atomic(path: Path, write: "bytes | Callable[[BinaryIO], None]", force: bool = False,
                 inputs: Iterable[Path] = ()) -> Path:
    """Write ``write`` (bytes, or a function given the open file) to ``path`` atomically."""
    path = check_output(path, force, inputs)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(write, (bytes, bytearray, memoryview)):
                f.write(write)
            else:
                write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give it an ordinary file's mode
        if path.exists() and not force:  # appeared while we wrote
            raise PacbitsError(f"{path}: already exists; pass --force to overwrite it")
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, (PacbitsError, KeyboardInterrupt, SystemExit)):
            raise
        first = (str(e).strip().splitlines() or [""])[0]
        raise PacbitsError(f"{path}: write failed ({type(e).__name__}: {first}); any old file is unchanged") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
