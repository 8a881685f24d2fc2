"""The Codec pipeline over a model's ``state_dict``: parametrize -> prune -> quantize -> code
(docs/architecture.md).

A parametrization (``pacbits.core.parametrization``; the identity by default) first maps
the state_dict to the coordinate tensors that are coded; decoding maps them back.

Target tensors (by default floating tensors with ``ndim >= 2``: conv and linear
weights) become triplets coded by the codec's coder; every other tensor is side
information, coded exactly as raw bytes. The reported total equals
``8 * len(bytes)``: nothing is estimated, nothing is left out.

:func:`inspect` needs numpy only; compressing and decompressing import torch when called.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import container, limits
from .component import describe
from .errors import ConfigError, DecodeError, EncodeError, PacbitsError, PluginError
from .interfaces import Coder, Pruner, Quantizer
from .parametrization import Identity, Parametrization
from .registry import Registry, default_registry
from .types import BitBreakdown, Encoded, Triplet

if TYPE_CHECKING:
    import torch

TARGETS = ("weights", "floating")
_CODABLE = ("torch.float32", "torch.float16", "torch.bfloat16")  # as container records name dtypes


@dataclass(frozen=True)
class CodecSpec:
    """A named, declarative codec preset: components by config (``{"id": ..., ...}``)."""

    id: str
    coder: dict
    pruner: dict | None = None
    quantizer: dict | None = None
    targets: str = "weights"
    description: str = ""
    parametrization: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> "CodecSpec":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown codec config keys {sorted(unknown)}; expected {sorted(cls.__dataclass_fields__)}")
        if "coder" not in d:
            raise ConfigError("a codec config needs a 'coder'")
        return cls(**{"id": "custom", **d})


@dataclass
class TensorReport:
    """Bits of one tensor; ``codebook`` and ``counts`` feed the Theorem 4.3 bound."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    coded: bool  # True: a triplet through the coder; False: raw side information
    bits: BitBreakdown
    k: int = 0
    codebook: np.ndarray | None = None
    counts: np.ndarray | None = None
    prior: np.ndarray | None = None  # the coder's index_prior: None means uniform (Theorem 4.3)

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def r(self) -> int:
        return 0 if self.codebook is None else int(self.codebook.size)

    def to_dict(self) -> dict:
        d = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype, "coded": self.coded,
             "numel": self.numel, "k": self.k, "r": self.r, **self.bits.to_dict()}
        if self.codebook is not None:
            d["codebook"] = self.codebook.astype(float).tolist()
            d["counts"] = self.counts.tolist()
            d["prior"] = None if self.prior is None else self.prior.astype(float).tolist()
        return d


@dataclass
class CodecReport:
    """Per-tensor breakdowns plus the container's own bits (magic, coder table, CRC)."""

    tensors: list[TensorReport] = field(default_factory=list)
    container_bits: int = 0

    @property
    def total(self) -> BitBreakdown:
        out = BitBreakdown(header=self.container_bits)
        for t in self.tensors:
            out = out + t.bits
        return out

    @property
    def total_bits(self) -> int:
        return self.total.total

    def to_dict(self) -> dict:
        return {"total_bits": self.total_bits, "container_bits": self.container_bits,
                "total": self.total.to_dict(), "tensors": [t.to_dict() for t in self.tensors]}

    def table(self) -> str:
        """A readable per-tensor breakdown (bits)."""
        cols = ("header", "positions", "codebook", "indices", "side", "padding", "total")
        rows = [(t.name, f"{t.k}/{t.numel}" if t.coded else "-", str(t.r) if t.coded else "-", *[t.bits.to_dict()[c] for c in cols])
                for t in self.tensors]
        rows.append(("(container)", "", "", self.container_bits, 0, 0, 0, 0, 0, self.container_bits))
        rows.append(("TOTAL", "", "", *[self.total.to_dict()[c] for c in cols]))
        head = ("tensor", "kept", "r", *cols)
        w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        fmt = lambda r: "  ".join(str(x).rjust(n) if i else str(x).ljust(n) for i, (x, n) in enumerate(zip(r, w)))
        lines = [fmt(head), fmt(["-" * n for n in w])] + [fmt(r) for r in rows]
        lines.append(f"{self.total_bits} bits = {self.total_bits / 8 / 1024:.3f} KiB")
        return "\n".join(lines)


@dataclass
class Compressed:
    data: bytes
    report: CodecReport


class Codec:
    """A pruner (optional), a quantizer (optional) and a coder, applied to a ``state_dict``.

    Without a quantizer, the codebook is the exact set of distinct kept values
    (lossless; float16 for a float16 tensor, else float32). A codebook is rounded to
    its tensor's dtype (a float32 codebook for a float16 tensor, say), so the report
    describes exactly the model that
    :func:`decompress` returns; a rounded value its codebook dtype cannot hold
    (a bfloat16 weight in a float16 codebook) is an :class:`EncodeError`. One-shot
    pruners run here; for a training-time-only pruner the tensor's zeros are its
    pruned positions, and a state_dict without any zero is refused.
    """

    def __init__(self, coder: Coder, pruner: Pruner | None = None, quantizer: Quantizer | None = None,
                 targets: str = "weights", id: str = "custom", parametrization: Parametrization | None = None):
        if not isinstance(coder, Coder):
            raise ConfigError(f"coder must be a Coder, got {type(coder).__name__}")
        if pruner is not None and not isinstance(pruner, Pruner):
            raise ConfigError(f"pruner must be a Pruner, got {type(pruner).__name__}")
        if quantizer is not None and not isinstance(quantizer, Quantizer):
            raise ConfigError(f"quantizer must be a Quantizer, got {type(quantizer).__name__}")
        if targets not in TARGETS:
            raise ConfigError(f"targets must be one of {TARGETS}, got {targets!r}")
        if parametrization is not None and not isinstance(parametrization, Parametrization):
            raise ConfigError(f"parametrization must be a Parametrization, got {type(parametrization).__name__}")
        self.coder, self.pruner, self.quantizer, self.targets, self.id = coder, pruner, quantizer, targets, id
        self.parametrization = None if isinstance(parametrization, Identity) else parametrization

    @classmethod
    def from_spec(cls, spec: "CodecSpec | Mapping | str", registry: Registry | None = None) -> "Codec":
        """Build from a preset id, a :class:`CodecSpec`, or its dict form."""
        reg = registry or default_registry()
        if isinstance(spec, str):
            spec = reg.get("codec", spec)
        elif not isinstance(spec, CodecSpec):
            spec = CodecSpec.from_dict(spec)
        return cls(
            reg.create("coder", spec.coder),
            reg.create("pruner", spec.pruner) if spec.pruner else None,
            reg.create("quantizer", spec.quantizer) if spec.quantizer else None,
            spec.targets,
            spec.id,
            reg.create("parametrization", spec.parametrization) if spec.parametrization else None,
        )

    def spec(self) -> CodecSpec:
        cfg = lambda c: c.get_config() if c is not None else None
        return CodecSpec(self.id, self.coder.get_config(), cfg(self.pruner), cfg(self.quantizer), self.targets,
                         parametrization=cfg(self.parametrization))

    def is_target(self, name: str, tensor: torch.Tensor) -> bool:
        """Whether ``tensor`` is pruned/quantized/coded, rather than side information."""
        if str(tensor.dtype) not in _CODABLE:
            return False
        return self.targets == "floating" or tensor.dim() >= 2

    def triplets(self, state_dict: Mapping[str, torch.Tensor]) -> dict[str, Triplet]:
        """Prune and quantize the target tensors into triplets."""
        import torch

        _check_state_dict(state_dict)
        weights = {n: t.detach().cpu() for n, t in state_dict.items() if self.is_target(n, t)}
        if self.pruner is not None and not self.pruner.one_shot and not any(bool((w == 0).any()) for w in weights.values()):
            raise EncodeError(f"pruner {self.pruner.id!r} works only during training and this state_dict has no "
                              "pruned (zero) weight: prune it while training first (pacbits reproduce, or "
                              "attach/update/detach) or use a codec with a one-shot pruner")
        masks = {}
        if self.pruner is not None and self.pruner.one_shot:
            with _blame(self.pruner, "masks"):
                masks = self.pruner.masks(weights)
        out = {}
        for name, w in weights.items():
            flat = w.reshape(-1).float()
            keep = flat != 0
            if name in masks:
                mask = torch.as_tensor(masks[name])
                if mask.shape != w.shape:
                    raise PluginError(f"{describe(self.pruner)}: mask for {name!r} has shape {tuple(mask.shape)}, "
                                      f"expected {tuple(w.shape)}")
                keep &= mask.reshape(-1).bool()
            pos = torch.nonzero(keep).reshape(-1)
            values = flat[pos]
            if self.quantizer is not None:
                with _blame(self.quantizer, "quantize"):
                    codebook, idx = self.quantizer.quantize(name, values)
                codebook, idx = np.asarray(codebook), np.asarray(idx)
                try:  # the quantizer's own output must be a valid (C, Q)
                    Triplet.build(tuple(w.shape), pos.numpy(), codebook, idx)
                except EncodeError as e:
                    raise PluginError(f"{describe(self.quantizer)} returned an invalid codebook or indices for "
                                      f"tensor {name!r}: {e}") from None
            else:
                codebook, idx = np.unique(values.numpy(), return_inverse=True)
                if w.dtype == torch.float16:  # the exact values of a float16 tensor: 16 bits each, not 32
                    codebook = codebook.astype(np.float16)
            try:
                codebook = _round_codebook(np.asarray(codebook), w.dtype)
                out[name] = Triplet.build(tuple(w.shape), pos.numpy(), codebook, idx)
            except EncodeError as e:
                raise EncodeError(f"tensor {name!r}: {e}") from None
        return out

    def compress(self, state_dict: Mapping[str, torch.Tensor]) -> Compressed:
        """Encode a ``state_dict`` into one bitstream; the report's total is ``8 * len(data)``.

        Each coded tensor is decoded back and encoded again; a coder that breaks its contract
        (bit count, round trip, determinism) raises :class:`PluginError` naming it.
        With a parametrization, ``state_dict`` is mapped to its coordinates first (what is coded).
        """
        if self.parametrization is not None:
            _check_state_dict(state_dict)
            state_dict = self.parametrization.coordinates(state_dict)
        triplets = self.triplets(state_dict)
        cfg = self.coder.get_config()
        cfg.pop("id")
        coder_ref = (self.coder.id, container.canonical_json(cfg))
        records, parts = [], []
        for name, tensor in state_dict.items():
            if name in triplets:
                t = triplets[name]
                enc = self.coder.encode(t)
                _check_contract(self.coder, name, t, enc)
                records.append(container.Record(name, tuple(tensor.shape), tensor.dtype, coder_ref, enc.payload))
                parts.append((enc.bits, t))
            else:
                payload = container.raw_bytes(tensor)
                records.append(container.Record(name, tuple(tensor.shape), tensor.dtype, None, payload))
                parts.append((BitBreakdown(side=8 * len(payload)), None))
        param = self.parametrization
        data, layout = container.write(records, None if param is None else (param.id, param.to_bytes()))
        report = _report(records, parts, layout, {n: self.coder for n in triplets})
        assert report.total_bits == 8 * len(data)
        return Compressed(data, report)


def decompress(data: bytes, registry: Registry | None = None, max_numel: int = container.MAX_NUMEL,
               max_size: int = limits.MAX_SIZE, prior: Mapping[str, torch.Tensor] | None = None
               ) -> dict[str, torch.Tensor]:
    """Decode a bitstream to a ``state_dict``; malformed input raises :class:`DecodeError`.

    ``max_size`` is the decoding budget: the bytes of all decoded tensors together.
    ``prior`` is a state_dict the stream's parametrization names (a transfer prior), if any.
    """
    import torch

    reg = registry or default_registry()
    records, param = container.read_stream(data, max_numel, max_size)
    param = None if param is None else stream_parametrization(reg, param)
    out = {}
    for rec, t, _, _ in _decode(reg, records):
        out[rec.name] = container.from_raw(rec.payload, rec.shape, rec.dtype) if t is None else \
            torch.from_numpy(t.dense()).to(container.torch_dtype(rec.dtype))
    return out if param is None else param.expand(out, prior)


def stream_parametrization(reg: Registry, param: tuple[str, bytes]) -> Parametrization:
    """The parametrization a version-2 stream names, rebuilt from its bytes."""
    pid, raw = param
    try:
        cls = reg.get("parametrization", pid)
    except PacbitsError as e:
        raise DecodeError(f"the stream needs parametrization {pid!r}: {e}") from None
    return cls.from_bytes(raw)


def inspect(data: bytes, registry: Registry | None = None, max_numel: int = container.MAX_NUMEL,
            max_size: int = limits.MAX_SIZE) -> CodecReport:
    """The bit breakdown of a stream, recovered by decoding and re-encoding each tensor."""
    reg = registry or default_registry()
    stream, param = container.read_stream(data, max_numel, max_size)
    if param is not None:
        stream_parametrization(reg, param)  # a stream naming an unknown or malformed parametrization is refused
    decoded = list(_decode(reg, stream))
    records, parts, coders = [], [], {}
    for rec, t, bits, coder in decoded:
        if t is None:
            container.check_raw(rec.payload, rec.shape, rec.dtype)
            bits = BitBreakdown(side=8 * len(rec.payload))
        else:
            coders[rec.name] = coder
        records.append(rec)
        parts.append((bits, t))
    _, layout = container.write(records, param)
    return _report(records, parts, layout, coders)


def _decode(reg: Registry, records: list[container.Record]):
    """Yield ``(record, triplet or None, bits, coder)`` for each record of a checked stream.

    Every coded payload must be the canonical code of what it decodes to (codes are
    deterministic and injective, so re-encoding reproduces it), and its codebook
    finite and exact in the tensor's dtype: what a compressor could have written.
    """
    for rec in records:
        if rec.coder is None:
            yield rec, None, None, None
            continue
        if rec.dtype not in _CODABLE:
            raise DecodeError(f"tensor {rec.name!r}: coded tensors must be floating, stream says {rec.dtype}")
        coder = _coder_from_record(reg, rec)
        t = decode_triplet(coder, rec.payload, rec.shape)
        limits.check_representable(t.codebook, rec.dtype, f"tensor {rec.name!r}: codebook")
        try:
            enc = coder.encode(t)
        except PacbitsError as e:
            raise DecodeError(f"tensor {rec.name!r}: decodes to a triplet its coder cannot encode: {e}") from None
        if enc.payload != rec.payload:
            raise DecodeError(f"tensor {rec.name!r}: payload is not the canonical code of what it decodes to")
        yield rec, t, enc.bits, coder


def _report(records, parts, layout: container.Layout, coders: dict) -> CodecReport:
    report = CodecReport(container_bits=layout.container_bits)
    for rec, (bits, t), hbits in zip(records, parts, layout.record_header_bits):
        bits = bits + BitBreakdown(header=hbits)
        if t is None:
            report.tensors.append(TensorReport(rec.name, rec.shape, rec.dtype, False, bits))
        else:
            report.tensors.append(TensorReport(rec.name, rec.shape, rec.dtype, True, bits, t.k,
                                               t.codebook.copy(), t.counts(), coders[rec.name].index_prior(t)))
    return report


def _coder_from_record(reg: Registry, rec: container.Record) -> Coder:
    cid, cfg = rec.coder
    try:
        return reg.create("coder", {**json.loads(cfg), "id": cid})
    except PacbitsError as e:
        raise DecodeError(f"tensor {rec.name!r} needs coder {cid!r}: {e}") from None


@contextmanager
def _blame(component, method: str):
    """Errors raised inside a pruner's or quantizer's method name the component (and its distribution)."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as e:
        kind = type(e) if isinstance(e, (EncodeError, ConfigError)) else PluginError
        raise kind(f"{describe(component)}: {method} failed: {' '.join(str(e).split())}") from e


def _check_contract(coder: Coder, name: str, t: Triplet, enc: Encoded) -> None:
    """Refuse a coder whose bit count is not its payload's, whose code does not round-trip,
    or whose encode is not deterministic (the decoded triplet, encoded again, must give the same bytes)."""
    who = describe(coder)
    if enc.bits.total != 8 * len(enc.payload):
        raise PluginError(f"{who} reported {enc.bits.total} bits for the "
                          f"{8 * len(enc.payload)}-bit payload of tensor {name!r}")
    try:
        back = decode_triplet(coder, enc.payload, t.shape)
    except DecodeError as e:
        raise PluginError(f"{who} cannot decode its own payload of tensor {name!r}: {e}") from None
    if not back.equals(t):
        raise PluginError(f"{who} does not round-trip tensor {name!r}: decode(encode(t)) != t")
    if coder.encode(back).payload != enc.payload:
        raise PluginError(f"{who}: encode is not deterministic: tensor {name!r} coded twice gave different bytes")


def decode_triplet(coder: Coder, payload: bytes, shape: tuple[int, ...]) -> Triplet:
    """Run ``coder.decode`` so that *any* failure (even a Rust panic) becomes :class:`DecodeError`."""
    try:
        t = coder.decode(payload, tuple(shape))
    except DecodeError:
        raise
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as e:  # pyo3_runtime.PanicException derives from BaseException
        raise DecodeError(f"coder {coder.id!r} failed on malformed payload: {type(e).__name__}: {e}") from None
    if not isinstance(t, Triplet):
        raise DecodeError(f"coder {coder.id!r} returned {type(t).__name__}, not a Triplet")
    if t.shape != tuple(shape):
        raise DecodeError(f"coder {coder.id!r} decoded shape {t.shape}, expected {tuple(shape)}")
    try:
        t.validate()
    except EncodeError as e:
        raise DecodeError(f"coder {coder.id!r} decoded an invalid triplet: {e}") from None
    return t


def _round_codebook(codebook: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """``codebook`` rounded to the tensor's ``dtype``, kept in its own dtype; EncodeError if it cannot be."""
    import torch

    if codebook.dtype not in (np.float32, np.float16) or not np.all(np.isfinite(codebook)):
        return codebook  # Triplet.build names the problem
    x = torch.from_numpy(codebook.astype(np.float64))
    rounded = x.to(dtype).to(torch.float64)
    if torch.equal(rounded, x):
        return codebook
    with np.errstate(over="ignore"):
        out = rounded.numpy().astype(codebook.dtype)
    if not np.all(np.isfinite(rounded.numpy())) or not np.array_equal(out.astype(np.float64), rounded.numpy()):
        raise EncodeError(f"a {codebook.dtype} codebook cannot hold this {dtype} tensor's values exactly; "
                          f"use a float32 codebook (quantizer dtype)")
    return out


def _check_state_dict(state_dict) -> None:
    import torch

    if not isinstance(state_dict, Mapping):
        raise EncodeError(f"expected a state_dict (a mapping of names to tensors), got {type(state_dict).__name__}")
    for name, t in state_dict.items():
        if not isinstance(name, str) or not isinstance(t, torch.Tensor):
            raise EncodeError(f"state_dict entry {name!r} is not a named tensor")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise EncodeError(f"tensor {name!r} holds NaN or Inf; only finite weights can be coded")
