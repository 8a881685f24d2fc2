"""The codecs ``pacbits bench`` compares: registered presets and the combinations a config file lists.

A config file is a JSON object::

    {"pruners": [null, {"id": "magnitude", "density": 0.05}],
     "quantizers": [{"id": "kmeans", "bits": 4, "dtype": "float16", "targets": "floating"}],
     "coders": ["csr-arithmetic", "huffman"],
     "targets": "floating"}

Every pruner x quantizer x coder combination becomes a codec named
``pruner+quantizer+coder`` (``none`` for null; ``#2``, ``#3``... when two combinations
share a name). A component is an id or a config ``{"id": ..., ...}``; ``pruners`` and
``quantizers`` default to ``[null]`` (no pruning beyond the model's zeros; the exact
distinct values as codebook), ``targets`` to ``"weights"``. Every codec is built here,
so an unknown id or a bad setting fails before any work.
"""
from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pacbits.core import Codec, CodecSpec, ConfigError, PacbitsError, Registry

LISTS = {"pruners": "pruner", "quantizers": "quantizer", "coders": "coder"}
KEYS = (*LISTS, "targets")


@dataclass(frozen=True)
class Candidate:
    """One leaderboard entry: its spec (``spec.id`` names the row), where it comes from, the built codec."""

    spec: CodecSpec
    source: str
    codec: Codec


def candidates(registry: Registry, preset_ids: list[str] | None, config: Path | None) -> list[Candidate]:
    """The presets named (None: every registered one) followed by the config file's combinations."""
    out = presets(registry, preset_ids) + (combinations(registry, config) if config else [])
    if not out:
        raise ConfigError("no codecs to run: --codecs named none and no --config lists combinations; "
                          "leave --codecs out to run every registered preset")
    return out


def presets(registry: Registry, ids: list[str] | None) -> list[Candidate]:
    out = []
    for cid in registry.ids("codec") if ids is None else dict.fromkeys(ids):
        spec = registry.get("codec", cid)
        try:
            codec = Codec.from_spec(spec, registry)
        except PacbitsError as e:
            raise ConfigError(f"preset {cid!r}: {e}") from None
        out.append(Candidate(spec, f"preset ({registry.entries['codec'][cid].package})", codec))
    return out


def combinations(registry: Registry, path: Path) -> list[Candidate]:
    config = read_config(path)
    lists = {}
    for key, kind in LISTS.items():
        items = config.get(key, None if kind == "coder" else [None])
        if not isinstance(items, list) or not items:
            none = "" if kind == "coder" else " (null for none)"
            raise ConfigError(f"--config {path}: {key!r} must be a non-empty list of {kind} ids or configs{none}, "
                              f"got {items!r}")
        lists[key] = [component(item, kind, f"--config {path}: {key}[{i}]") for i, item in enumerate(items)]
    names, out = Counter(), []
    for pruner, quantizer, coder in itertools.product(*lists.values()):
        name = "+".join(c["id"] if c else "none" for c in (pruner, quantizer, coder))
        names[name] += 1
        name += f"#{names[name]}" if names[name] > 1 else ""
        spec = CodecSpec(name, coder, pruner, quantizer, config.get("targets", "weights"))
        try:
            codec = Codec.from_spec(spec, registry)
        except PacbitsError as e:
            raise ConfigError(f"--config {path}: codec {name}: {e}") from None
        out.append(Candidate(spec, "config", codec))
    return out


def read_config(path: Path) -> dict:
    try:
        config = json.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"--config {path}: cannot read it ({e.strerror or e})") from None
    except ValueError as e:
        raise ConfigError(f"--config {path}: not valid JSON: {e}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"--config {path}: expected a JSON object with keys {list(KEYS)}, "
                          f"got {type(config).__name__}")
    unknown = sorted(set(config) - set(KEYS))
    if unknown:
        raise ConfigError(f"--config {path}: unknown keys {unknown}; expected {list(KEYS)}")
    return config


def component(item, kind: str, where: str) -> dict | None:
    """``{"id": ...}`` from an id or a config; None (allowed for pruners and quantizers) for none."""
    if item is None and kind != "coder":
        return None
    config = {"id": item} if isinstance(item, str) else item
    if not isinstance(config, dict) or not isinstance(config.get("id"), str):
        raise ConfigError(f"{where}: expected a {kind} id or a config {{\"id\": ...}}, got {item!r}")
    return dict(config)
