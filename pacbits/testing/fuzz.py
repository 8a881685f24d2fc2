"""Structure-aware fuzzing of bitstreams, for every registered coder (``benchmarks/fuzz.py``, ``tests/test_fuzz.py``).

Seeds are real streams: small state_dicts compressed by each registered coder
(lossless, k-means float32 and float16 codebooks; streams a coder refuses are
skipped). A mutation works on the parsed records and writes a stream with a
valid CRC, so it reaches the parser and the payload decoders behind the
integrity check:

- ``payload``: flip bits, overwrite, insert, delete or truncate bytes, splice in
  another record's payload, or replace the leading varints by extreme values;
- ``shape``: extreme dimensions (0, 2**28, 2**40 ...), one more or one fewer;
- ``coder``: another registered coder reads the payload (cross-coder confusion);
- ``config``: non-objects, deep nesting, huge or wrong-typed values, unknown keys;
- ``dtype``: another dtype, coded or raw;
- ``raw``: bytes of the serialized container itself (varints, names, codes), resealed.

:func:`run_one` decodes a stream and names the outcome: ``ok``, ``DecodeError``
``memory`` (MemoryError under the harness's memory limit) or ``traceback`` (any
other exception). Anything but the first two is a bug.
"""
from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import torch

from pacbits.core import Codec, DecodeError, PacbitsError, decompress
from pacbits.core import container
from pacbits.core.bitio import uvarint
from pacbits.core.registry import Registry

MUTATORS = ("payload", "shape", "coder", "config", "dtype", "raw")
EXTREME_INTS = (0, 1, 2, 3, 7, 8, 255, 256, 2**16, 2**24, 2**28, 2**28 + 1, 2**31, 2**32, 2**40, 2**53, 2**63)


def seed_state_dicts(rng: np.random.Generator) -> list[dict[str, torch.Tensor]]:
    """A few small models: sparse and dense weights, float16 and bfloat16 ones, biases, integer buffers."""
    out = []
    for density, shape in ((0.3, (12, 10)), (1.0, (4, 6)), (0.02, (40, 50)), (0.0, (3, 3)), (0.6, (2, 3, 3, 3))):
        w = rng.normal(0, 0.2, size=shape) * (rng.random(shape) < density)
        out.append({"layer.weight": torch.from_numpy(w).float(), "layer.bias": torch.from_numpy(rng.normal(size=shape[0])).float(),
                    "steps": torch.tensor([3, 1], dtype=torch.int64), "mask": torch.tensor([True, False])})
    out.append({"h.weight": torch.from_numpy(rng.normal(0, 1, size=(8, 8)) * (rng.random((8, 8)) < 0.5)).half(),
                "b.weight": torch.from_numpy(rng.normal(0, 1, size=(5, 7))).to(torch.bfloat16)})
    return out


def seed_streams(registry: Registry, seed: int = 0) -> list[tuple[str, bytes]]:
    """``(coder id, stream)`` for every registered coder, over :func:`seed_state_dicts` and three quantizers."""
    quantizers = (None, {"id": "kmeans", "bits": 3}, {"id": "kmeans", "bits": 2, "dtype": "float16"})
    streams = []
    for cid in registry.ids("coder"):
        for sd in seed_state_dicts(np.random.default_rng(seed)):
            for q in quantizers:
                spec = {"coder": {"id": cid}, **({"quantizer": q} if q and "kmeans" in registry.ids("quantizer") else {})}
                try:
                    streams.append((cid, Codec.from_spec(spec, registry).compress(sd).data))
                except PacbitsError:  # a coder may refuse a codebook (paper2019: float16 only)
                    continue
    return streams


def _reseal(body: bytes) -> bytes:
    return body + struct.pack(">I", zlib.crc32(body))


def _write(records: list[container.Record]) -> bytes:
    """Like ``container.write`` but keeping the given order and any shape or dtype (resealed)."""
    coders = sorted({r.coder for r in records if r.coder is not None})
    ref = {c: i + 1 for i, c in enumerate(coders)}
    out = bytearray(container.MAGIC + bytes([container.VERSION]) + uvarint(len(coders)))
    for cid, cfg in coders:
        out += uvarint(len(cid.encode())) + cid.encode() + uvarint(len(cfg.encode())) + cfg.encode()
    out += uvarint(len(records))
    for r in records:
        out += uvarint(len(r.name.encode())) + r.name.encode() + bytes([container.DTYPES.index(r.dtype)])
        out += uvarint(len(r.shape)) + b"".join(uvarint(d) for d in r.shape)
        out += uvarint(ref.get(r.coder, 0)) + uvarint(len(r.payload)) + r.payload
    return _reseal(bytes(out))


def _mutate_bytes(b: bytes, rng: np.random.Generator, pool: list[bytes]) -> bytes:
    b = bytearray(b)
    op = rng.integers(8)
    if op == 0 and b:  # flip 1-4 bits
        for _ in range(rng.integers(1, 5)):
            i = rng.integers(8 * len(b))
            b[i // 8] ^= 1 << (i % 8)
    elif op == 1 and b:  # overwrite bytes
        for _ in range(rng.integers(1, 4)):
            b[rng.integers(len(b))] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, int(rng.integers(256))])
    elif op == 2:  # insert bytes
        i = rng.integers(len(b) + 1)
        b[i:i] = rng.integers(0, 256, rng.integers(1, 9), dtype=np.uint8).tobytes()
    elif op == 3 and b:  # delete a run
        i = rng.integers(len(b))
        del b[i : i + rng.integers(1, 9)]
    elif op == 4:  # truncate or extend
        if b and rng.random() < 0.6:
            del b[rng.integers(len(b)):]
        else:
            b += rng.integers(0, 256, rng.integers(1, 17), dtype=np.uint8).tobytes()
    elif op == 5 and pool:  # splice with another payload
        other = pool[rng.integers(len(pool))]
        i, j = rng.integers(len(b) + 1), rng.integers(len(other) + 1)
        b = b[:i] + other[j:]
    elif op == 6:  # an extreme varint after the first byte (the counts k, r of most coders)
        i = min(1 + int(rng.integers(3)), len(b))
        end = i
        while end < len(b) and b[end] & 0x80:
            end += 1
        b[i : end + 1] = uvarint(max(0, int(rng.choice(EXTREME_INTS)) + int(rng.integers(-1, 2))))
    else:  # random bytes
        b = bytearray(rng.integers(0, 256, rng.integers(0, 64), dtype=np.uint8).tobytes())
    return bytes(b)


def _config(rng: np.random.Generator, cfg: str) -> str:
    obj = json.loads(cfg)
    key = str(rng.choice(list(obj) + ["positions", "zzz", "id"]))
    value = [None, True, False, 0, -1, 2**70, 1.5, 1e308, "", "auto", "indices", "bitmask", [], {}, [1, [2]],
             "x" * 300][rng.integers(16)]
    choice = rng.integers(5)
    if choice == 0:
        return json.dumps({**obj, key: value})
    if choice == 1:
        return ["[]", "1", "null", '"x"', "true", "1e400", "NaN", "{", "", "{}"][rng.integers(10)]
    if choice == 2:
        depth = int(rng.choice([10, 31, 32, 33, 5000]))
        return '{"a":' * depth + "1" + "}" * depth
    if choice == 3:
        return json.dumps({k: v for k, v in obj.items() if rng.random() < 0.5})
    return json.dumps(obj) + " "  # same object, other bytes


def mutate(data: bytes, rng: np.random.Generator, coder_ids: list[str], kind: str | None = None) -> tuple[str, bytes]:
    """One structure-aware mutation of a valid stream: ``(mutator, new stream)`` (see the module doc)."""
    kind = kind or MUTATORS[rng.integers(len(MUTATORS))]
    records = container.read(data, max_size=1 << 62)
    if kind == "raw":
        body = bytearray(data[:-4])
        for _ in range(rng.integers(1, 4)):
            i = rng.integers(5, len(body))
            body[i] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, body[i] ^ (1 << rng.integers(8)), int(rng.integers(256))])
        if rng.random() < 0.2:
            del body[rng.integers(5, len(body)):]
        return kind, _reseal(bytes(body)) if rng.random() < 0.95 else bytes(body) + data[-4:]
    i = int(rng.integers(len(records)))
    r = records[i]
    coded = [j for j, x in enumerate(records) if x.coder is not None]
    if kind in ("payload", "coder", "config") and coded:
        i = coded[rng.integers(len(coded))]
        r = records[i]
    if kind == "payload":
        r = container.Record(r.name, r.shape, r.dtype, r.coder, _mutate_bytes(r.payload, rng, [x.payload for x in records]))
    elif kind == "shape":
        shape = list(r.shape) or [1]
        j = rng.integers(len(shape))
        op = rng.integers(4)
        if op == 0:
            shape[j] = int(rng.choice(EXTREME_INTS))
        elif op == 1:
            shape[j] = max(0, shape[j] + int(rng.choice([-1, 1])))
        elif op == 2:
            shape.insert(j, int(rng.choice([0, 1, 2, 2**28])))
        else:
            shape = shape[:j] + shape[j + 1:]
        r = container.Record(r.name, tuple(shape), r.dtype, r.coder, r.payload)
    elif kind == "coder" and r.coder is not None:
        r = container.Record(r.name, r.shape, r.dtype, (coder_ids[rng.integers(len(coder_ids))], "{}"), r.payload)
    elif kind == "config" and r.coder is not None:
        r = container.Record(r.name, r.shape, r.dtype, (r.coder[0], _config(rng, r.coder[1])), r.payload)
    else:  # dtype (or a stream with nothing coded)
        r = container.Record(r.name, r.shape, container.DTYPES[rng.integers(len(container.DTYPES))], r.coder, r.payload)
    records[i] = r
    return kind, _write(records)


def run_one(data: bytes, registry: Registry, max_size: int) -> tuple[str, str]:
    """Decode ``data``: ``("ok" | "DecodeError" | "memory" | "traceback", detail)``."""
    try:
        decompress(data, registry, max_size=max_size)
        return "ok", ""
    except DecodeError as e:
        return "DecodeError", str(e)
    except MemoryError as e:  # past the harness's memory limit: a budget overrun
        return "memory", f"MemoryError: {e}"
    except Exception as e:  # noqa: BLE001 - anything else is a bug the harness reports
        return "traceback", f"{type(e).__name__}: {e}"
