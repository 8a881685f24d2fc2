"""Limits on untrusted input, in one place for the container, every coder and the command line.

A bitstream, a ``--config`` string or a checkpoint is untrusted. The helpers here
turn each way it can lie into one error class (``DecodeError`` for bitstreams,
``ConfigError`` for settings) before anything is allocated from what it claims:

- :func:`load_json`: a JSON object only, nested at most :data:`MAX_JSON_DEPTH`
  deep, numbers finite (``1e400`` is not a number a config can hold);
- :func:`numel`: a shape's element count, with every dimension counted (a 0
  does not hide ``2**60 x 2**60``): ``prod(max(d, 1)) <= max_numel``;
- :func:`check_budget`: the decoding budget, ``sum(numel * itemsize) <= max_size``
  over a stream's records, checked from the container before any payload is decoded;
- :func:`check_count`: a count read from a payload that the remaining payload
  must be able to hold at ``bits_each`` bits an item (``count * bits_each <= bits``);
- :func:`check_representable`: decoded values are finite and exact in the
  tensor's dtype, as a compressor could have produced them.

docs/plugins.md shows a coder using them.
"""
from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

import numpy as np

from .errors import ConfigError, DecodeError

if TYPE_CHECKING:
    import torch

#: Default decoding budget: total bytes of the tensors one stream decodes to (1 GiB,
#: some 600 times LeNet-5; ``--max-size`` raises it).
MAX_SIZE = 1 << 30
#: Deepest nesting of ``[`` and ``{`` a JSON config may have.
MAX_JSON_DEPTH = 32


def json_depth(text: str) -> int:
    """Deepest nesting of arrays and objects in ``text`` (strings skipped); one linear scan."""
    depth = top = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            top = max(top, depth)
        elif ch in "]}":
            depth -= 1
    return top


def _no_constant(name: str):
    raise ValueError(f"{name} is not a finite number")


def _finite_float(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(f"{text} is not a finite number")
    return x


def load_json(text: str, what: str, error: type[Exception] = ConfigError) -> dict:
    """Parse ``text`` as a JSON object of finite numbers at most :data:`MAX_JSON_DEPTH` deep, else ``error``."""
    if not isinstance(text, str):
        raise error(f"{what} must be a JSON string, got {type(text).__name__}")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise error(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        obj = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except ValueError as e:  # JSONDecodeError too
        raise error(f"{what} is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise error(f"{what} must be a JSON object, got {type(obj).__name__} {text[:40]!r}")
    return obj


def numel(shape: tuple[int, ...], max_numel: int, what: str) -> int:
    """``prod(shape)``, refusing ``DecodeError`` unless ``prod(max(d, 1)) <= max_numel``."""
    span = 1
    for d in shape:
        if not isinstance(d, int) or d < 0:
            raise DecodeError(f"{what}: bad dimension {d!r} in shape {shape}")
        span *= max(d, 1)
        if span > max_numel:
            raise DecodeError(f"{what}: shape {shape} exceeds max_numel={max_numel} (counting every dimension)")
    return math.prod(shape)


def check_budget(sizes: "list[tuple[str, int]]", max_size: int) -> int:
    """Sum the decoded bytes of each ``(name, bytes)``; ``DecodeError`` as soon as it passes ``max_size``."""
    total = 0
    for name, size in sizes:
        total += size
        if total > max_size:
            raise DecodeError(f"decoding needs more than the budget of {format_size(max_size)} "
                              f"(at tensor {name!r}); raise it with --max-size if you trust this file")
    return total


def check_count(count: int, bits_each: int, bits: int, what: str) -> int:
    """A count of items at ``bits_each`` bits each that ``bits`` payload bits must be able to hold."""
    if count * bits_each > bits:
        raise DecodeError(f"{what}: {count} items of {bits_each} bits do not fit in the {bits} bits left")
    return count


def check_representable(values: np.ndarray, dtype: torch.dtype | str, what: str) -> None:
    """``DecodeError`` unless every value is finite and exact in ``dtype`` (no rounding, no overflow).

    ``dtype`` is a torch dtype or its name (``"torch.float16"``); checked with numpy only.
    """
    x = np.asarray(values)
    if x.size == 0:
        return
    if not np.all(np.isfinite(x)):
        raise DecodeError(f"{what}: holds NaN or Inf, which no compressor writes")
    x = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
    name = str(dtype).removeprefix("torch.")
    with np.errstate(over="ignore", invalid="ignore"):
        if name == "bfloat16":  # a float32 whose low 16 bits are zero
            f = x.astype(np.float32)
            exact = (f.astype(np.float64) == x) & ((f.view(np.uint32) & 0xFFFF) == 0)
        else:
            exact = x.astype(np.dtype(name)).astype(np.float64) == x
    if not exact.all():
        raise DecodeError(f"{what}: value {float(x[~exact][0])!r} is not exact in {dtype} (a compressor never writes it)")


def parse_size(text: str) -> int:
    """``"4GiB"`` -> bytes: a non-negative integer with an optional unit B, KiB, MiB, GiB or TiB."""
    units = {"": 1, "B": 1, "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}
    s = text.strip()
    num = s.rstrip("BbIiKkMmGgTt")
    unit = s[len(num):].upper()
    if not num.isdigit() or unit not in units:
        raise ConfigError(f"size {text!r} is not an integer with a unit B, KiB, MiB, GiB or TiB (e.g. 8GiB)")
    return int(num) * units[unit]


def format_size(n: int) -> str:
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"
