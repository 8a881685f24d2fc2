"""Conformance kits for quantizers and pruners (the coder kit is in :mod:`pacbits.testing`).

``check_quantizer(q)``: for hypothesis-drawn 1-D float32 tensors of kept weights
(empty, one value, constants, a few distinct values, wide ranges, subnormals),
``quantize(name, values)`` returns a 1-D finite float32/float16 codebook (of the
dtype the quantizer's ``dtype`` setting names, if it has one) and int64-castable
indices in ``[0, len(codebook))``, one per value; it leaves ``values`` unchanged
and gives bitwise the same result twice and from a quantizer rebuilt from its
config (deterministic given its seed).

``check_pruner(p)``: for hypothesis-drawn dicts of weight tensors, ``masks(weights)``
returns one boolean tensor per given name, shaped like its tensor, leaves the
weights unchanged, and is deterministic in the same sense.

Failures raise AssertionError naming the component, its class and distribution
(:func:`pacbits.core.component.describe`) and the property.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacbits.core.component import describe
from pacbits.core.types import CODEBOOK_DTYPES

from .strategies import shapes


def _settings(max_examples: int):
    return settings(max_examples=max_examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def kept_values(draw, max_size: int = 2000) -> torch.Tensor:
    """1-D float32 tensors of kept weights: the inputs ``Quantizer.quantize`` sees."""
    n = draw(st.sampled_from([0, 1, 2, 3, 17, 100, max_size]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    style = draw(st.sampled_from(["normal", "constant", "few", "wide", "tiny"]))
    if style == "normal":
        v = rng.normal(0, 0.1, n)
    elif style == "constant":
        v = np.full(n, rng.normal())
    elif style == "few":
        v = rng.choice(rng.normal(0, 1, 3), n)
    elif style == "wide":
        v = rng.normal(0, 1, n) * 10.0 ** rng.integers(-6, 5, n)
    else:
        v = rng.normal(0, 1, n) * np.finfo(np.float32).smallest_normal
    return torch.from_numpy(v.astype(np.float32))


@st.composite
def weight_dicts(draw, max_tensors: int = 3, max_numel: int = 600) -> dict[str, torch.Tensor]:
    """Named float32 weight tensors (conv- and linear-shaped, some with exact zeros)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    out = {}
    for i in range(draw(st.integers(1, max_tensors))):
        shape = draw(shapes(max_numel).filter(lambda s: len(s) >= 1))
        n = math.prod(shape)
        v = rng.normal(0, 0.1, n) * (rng.random(n) >= draw(st.sampled_from([0.0, 0.5, 1.0])))
        out[f"layer{i}.weight"] = torch.from_numpy(v.astype(np.float32)).reshape(shape)
    return out


def _config_round_trip(component):
    from . import check_config

    check_config(component)
    return type(component).from_config(component.get_config())


def check_quantizer(quantizer, max_examples: int = 200) -> None:
    """Every conformance property of a quantizer; raises AssertionError on the first failure."""
    name = describe(quantizer)
    rebuilt = _config_round_trip(quantizer)
    want = quantizer.get_config().get("dtype")
    want = np.dtype(want) if isinstance(want, str) and want in ("float32", "float16") else None

    @_settings(max_examples)
    @given(kept_values(), st.sampled_from(["fc1.weight", "conv2.weight"]))
    def prop(values, tensor):
        before = values.clone()
        codebook, idx = quantizer.quantize(tensor, values)
        assert torch.equal(values, before), f"{name}: quantize changed its input values"
        assert isinstance(codebook, np.ndarray) and codebook.ndim == 1, (
            f"{name}: codebook: expected a 1-D numpy array, got {type(codebook).__name__} {getattr(codebook, 'shape', '')}")
        assert codebook.dtype in CODEBOOK_DTYPES, f"{name}: codebook dtype {codebook.dtype} is not float32 or float16"
        assert want is None or codebook.dtype == want, (
            f"{name}: codebook dtype not honoured: its config says {want}, it returned {codebook.dtype}")
        assert np.all(np.isfinite(codebook)), f"{name}: codebook holds NaN or Inf"
        idx = np.asarray(idx)
        assert idx.shape == (values.numel(),) and (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)), (
            f"{name}: indices: expected {values.numel()} integers, got {idx.dtype} {idx.shape}")
        assert idx.size == 0 or (idx.min() >= 0 and idx.max() < codebook.size), (
            f"{name}: indices out of range [0, {codebook.size})")
        for who, q in (("twice", quantizer), ("from a quantizer rebuilt from its config", rebuilt)):
            cb2, idx2 = q.quantize(tensor, values.clone())
            assert (np.asarray(cb2).tobytes() == codebook.tobytes() and np.array_equal(np.asarray(idx2), idx)), (
                f"{name}: quantize is not deterministic: different results {who}")

    prop()


def check_pruner(pruner, max_examples: int = 200) -> None:
    """Every conformance property of a pruner's ``masks``; raises AssertionError on the first failure."""
    name = describe(pruner)
    rebuilt = _config_round_trip(pruner)

    @_settings(max_examples)
    @given(weight_dicts())
    def prop(weights):
        before = {n: w.clone() for n, w in weights.items()}
        masks = pruner.masks(weights)
        assert all(torch.equal(weights[n], before[n]) for n in weights), f"{name}: masks changed its input weights"
        assert isinstance(masks, dict) and set(masks) == set(weights), (
            f"{name}: masks: expected one mask per tensor {sorted(weights)}, got {sorted(masks) if isinstance(masks, dict) else masks!r}")
        for n, m in masks.items():
            assert isinstance(m, torch.Tensor) and m.dtype == torch.bool, (
                f"{name}: mask of {n!r} is {getattr(m, 'dtype', type(m).__name__)}, not a bool tensor")
            assert m.shape == weights[n].shape, (
                f"{name}: mask of {n!r} has shape {tuple(m.shape)}, its tensor {tuple(weights[n].shape)}")
        for who, p in (("twice", pruner), ("from a pruner rebuilt from its config", rebuilt)):
            again = p.masks({n: w.clone() for n, w in weights.items()})
            assert all(torch.equal(again[n], masks[n]) for n in masks), (
                f"{name}: masks is not deterministic: different masks {who}")

    prop()
