"""The pacbits bitstream container (docs/architecture.md), format versions 1 and 2.

Layout (integers are unsigned LEB128 varints unless noted)::

    magic        4 bytes  b"PBIT"
    version      1 byte   (1, or 2 when a parametrization other than the identity is named)
    param        version 2 only: block(parametrization id utf-8), block(its config bytes)
    coders       count, then per coder: block(id utf-8), block(config JSON utf-8)
    records      count, then per record:
                   block(name utf-8), dtype code (1 byte), ndim, dims...,
                   coder ref (0: raw side information, i + 1: coder i), block(payload)
    crc32        4 bytes big-endian, over everything before it

``block(x)`` is ``len(x)`` followed by ``x``. Raw side information is the tensor's
bytes in little-endian order. Reading checks the CRC first, then every length
against the bytes left, so malformed input ends in :class:`DecodeError` and no
allocation exceeds the input size. Coder configs must be JSON objects (depth
and numbers limited, :func:`~pacbits.core.limits.load_json`); a shape counts
every dimension against ``max_numel``, zeros included; and the tensors of one
stream may decode to at most ``max_size`` bytes in all (the decoding budget,
checked here, before any payload is decoded). The stream must be canonical:
configs in :func:`canonical_json` form and the whole container exactly as
:func:`write` writes its records (minimal varints, the coder table sorted and
holding only used coders), so one model has one stream.

Reading and checking a stream needs numpy only (``pacbits inspect`` loads no torch);
a record's dtype is the name torch prints for it (``"torch.float32"``), and only
:func:`raw_bytes`, :func:`from_raw` and :func:`torch_dtype` import torch.
"""
from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .bitio import Reader, block, uvarint
from . import limits
from .errors import DecodeError, EncodeError

if TYPE_CHECKING:
    import torch

MAGIC = b"PBIT"
VERSION = 1
VERSION_PARAM = 2
#: Default cap on the elements of one decoded tensor (1 GiB of float32).
MAX_NUMEL = 1 << 28
MAX_NDIM = 32

#: The dtypes a stream can hold, by code, each as ``str(torch_dtype)``, and their numpy layout
#: (bfloat16 as its 16-bit patterns, bool as bytes).
_LAYOUT = {"torch.float32": "<f4", "torch.float16": "<f2", "torch.bfloat16": "<u2", "torch.float64": "<f8",
           "torch.int64": "<i8", "torch.int32": "<i4", "torch.int16": "<i2", "torch.int8": "i1",
           "torch.uint8": "u1", "torch.bool": "u1"}
DTYPES = tuple(_LAYOUT)
_DTYPE_CODE = {dt: i for i, dt in enumerate(DTYPES)}


@dataclass(frozen=True)
class Record:
    """One tensor in the stream; ``coder`` is ``(id, config_json)`` or None for raw side info."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # a torch.dtype given here is kept as its name, ``str(dtype)``
    coder: tuple[str, str] | None
    payload: bytes

    def __post_init__(self):
        object.__setattr__(self, "dtype", str(self.dtype))


@dataclass(frozen=True)
class Layout:
    """Where the bits of a written stream went: global container bits and each record's header."""

    container_bits: int
    record_header_bits: tuple[int, ...]


def dtype_code(dtype: torch.dtype | str) -> int:
    if str(dtype) not in _DTYPE_CODE:
        raise EncodeError(f"dtype {dtype} is not supported; expected one of {', '.join(DTYPES)}")
    return _DTYPE_CODE[str(dtype)]


def torch_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """The torch dtype of a record's dtype name."""
    import torch

    return getattr(torch, str(dtype).removeprefix("torch."))


def itemsize(dtype: torch.dtype | str) -> int:
    """Bytes per element of one of :data:`DTYPES`."""
    return np.dtype(_LAYOUT[str(dtype)]).itemsize


def write(records: list[Record], parametrization: tuple[str, bytes] | None = None) -> tuple[bytes, Layout]:
    """Serialize records (and a parametrization ``(id, config bytes)``: version 2); return the bytes
    and where the non-payload bits went."""
    names = [r.name for r in records]
    if len(set(names)) != len(names):
        raise EncodeError("tensor names must be unique")
    coders = sorted({r.coder for r in records if r.coder is not None})
    ref = {c: i + 1 for i, c in enumerate(coders)}
    head = bytearray(MAGIC + bytes([VERSION if parametrization is None else VERSION_PARAM]))
    if parametrization is not None:
        head += block(parametrization[0].encode()) + block(parametrization[1])
    head += uvarint(len(coders))
    for cid, cfg in coders:
        head += block(cid.encode()) + block(cfg.encode())
    head += uvarint(len(records))
    body = bytearray()
    header_bits = []
    for r in records:
        rh = block(r.name.encode()) + bytes([dtype_code(r.dtype)]) + uvarint(len(r.shape))
        rh += b"".join(uvarint(d) for d in r.shape)
        rh += uvarint(ref.get(r.coder, 0)) + uvarint(len(r.payload))
        header_bits.append(8 * len(rh))
        body += rh + r.payload
    data = bytes(head + body)
    data += struct.pack(">I", zlib.crc32(data))
    return data, Layout(8 * (len(head) + 4), tuple(header_bits))


def read(data: bytes, max_numel: int = MAX_NUMEL, max_size: int = limits.MAX_SIZE) -> list[Record]:
    """Parse and check a stream's records; every malformed input raises :class:`DecodeError`.

    ``max_size`` caps ``sum(numel * itemsize)`` over the records (the decoded bytes).
    """
    return read_stream(data, max_numel, max_size)[0]


def read_stream(data: bytes, max_numel: int = MAX_NUMEL, max_size: int = limits.MAX_SIZE
                ) -> tuple[list[Record], tuple[str, bytes] | None]:
    """Parse and check a stream: its records and its parametrization ``(id, config bytes)`` or None."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < len(MAGIC) + 1 + 4:
        raise DecodeError(f"stream of {len(data)} bytes is too short to be a pacbits bitstream")
    if data[:4] != MAGIC:
        raise DecodeError(f"not a pacbits bitstream: magic {data[:4]!r}, expected {MAGIC!r}")
    if data[4] not in (VERSION, VERSION_PARAM):
        raise DecodeError(f"unsupported format version {data[4]}; this pacbits reads versions {VERSION} and {VERSION_PARAM}")
    if struct.unpack(">I", data[-4:])[0] != zlib.crc32(data[:-4]):
        raise DecodeError("integrity check failed: CRC32 mismatch (corrupted or truncated stream)")
    rd = Reader(data[5:-4], "container")
    param = (_text(rd.block()), rd.block()) if data[4] == VERSION_PARAM else None
    coders = []
    for _ in range(rd.uvarint(rd.remaining)):
        coders.append((_text(rd.block()), _text(rd.block())))
        cfg = limits.load_json(coders[-1][1], f"coder {coders[-1][0]!r}: config", DecodeError)
        if coders[-1][1] != canonical_json(cfg):
            raise DecodeError(f"coder {coders[-1][0]!r}: config is not in canonical JSON form (sorted keys, no spaces)")
    records, seen = [], set()
    for _ in range(rd.uvarint(rd.remaining)):
        name = _text(rd.block())
        if name in seen:
            raise DecodeError(f"tensor {name!r} appears twice")
        seen.add(name)
        code = rd.u8()
        if code >= len(DTYPES):
            raise DecodeError(f"tensor {name!r}: unknown dtype code {code}")
        shape = tuple(rd.uvarint(max_numel) for _ in range(rd.uvarint(MAX_NDIM)))
        limits.numel(shape, max_numel, f"tensor {name!r}")
        cref = rd.uvarint(len(coders))
        payload = rd.block()
        records.append(Record(name, shape, DTYPES[code], coders[cref - 1] if cref else None, payload))
    rd.expect_end()
    if write(records, param)[0] != data:  # one stream per model: no overlong varint, unused or unsorted coder
        raise DecodeError(f"container is not in canonical form (as written by this pacbits, version {data[4]})")
    limits.check_budget([(r.name, math.prod(r.shape) * itemsize(r.dtype)) for r in records], max_size)
    return records, param


def canonical_json(obj) -> str:
    """The one JSON text of a config: sorted keys, no spaces (what :class:`Codec` writes)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _text(b: bytes) -> str:
    try:
        return b.decode()
    except UnicodeDecodeError:
        raise DecodeError("a name or config is not valid UTF-8") from None


def raw_bytes(tensor: torch.Tensor) -> bytes:
    """Exact little-endian bytes of a tensor (side information)."""
    import torch

    flat = tensor.detach().cpu().contiguous().reshape(-1)
    if flat.numel() == 0:
        return b""
    if flat.dtype == torch.bool:
        flat = flat.to(torch.uint8)
    return flat.view(torch.uint8).numpy().tobytes()


def check_raw(payload: bytes, shape: tuple[int, ...], dtype: torch.dtype | str) -> None:
    """Refuse side information :func:`raw_bytes` cannot have written: a payload length that does not
    match the shape, a bool byte other than 0 or 1, a NaN or Inf (with numpy only)."""
    size = math.prod(shape) * itemsize(dtype)
    if len(payload) != size:
        raise DecodeError(f"side tensor of shape {shape} and dtype {dtype} needs {size} bytes, got {len(payload)}")
    raw = np.frombuffer(payload, dtype=_LAYOUT[str(dtype)])
    if str(dtype) == "torch.bool" and raw.size and raw.max() > 1:
        raise DecodeError("bool side tensor holds a byte other than 0 or 1")
    if str(dtype) == "torch.bfloat16":
        finite = (raw & 0x7F80) != 0x7F80  # exponent bits all ones: Inf or NaN
    elif raw.dtype.kind == "f":
        finite = np.isfinite(raw)
    else:
        return
    if not finite.all():
        raise DecodeError(f"side tensor of dtype {dtype} holds NaN or Inf, which compress refuses to code")


def from_raw(payload: bytes, shape: tuple[int, ...], dtype: torch.dtype | str) -> torch.Tensor:
    """Inverse of :func:`raw_bytes`; checks the payload (:func:`check_raw`)."""
    import torch

    check_raw(payload, shape, dtype)
    dtype = torch_dtype(dtype)
    if not payload:
        return torch.empty(shape, dtype=dtype)
    raw = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
    return (raw.to(torch.bool) if dtype == torch.bool else raw.view(dtype)).reshape(shape)
