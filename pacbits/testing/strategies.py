"""Hypothesis strategies for triplets (S, C, Q) and small state_dicts.

Codebooks mix ordinary values with :func:`special_values` (-0.0, subnormals, the
float16/float32 extremes) and repeated entries; near-collision pairs include
codebooks that differ only in the sign of a zero.

Structure (shape, density, codebook size, skew of the index distribution, corner
cases such as empty tensors, r = 1, all-kept) is drawn by hypothesis; bulk values
come from a numpy generator seeded by a drawn integer, so examples stay fast and
reproducible.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import strategies as st

from pacbits.core import Triplet


@st.composite
def shapes(draw, max_numel: int = 3000):
    ndim = draw(st.integers(0, 4))
    dims = []
    for _ in range(ndim):
        left = max_numel // max(math.prod(dims), 1)
        dims.append(draw(st.integers(0, max(min(left, 64 if ndim > 1 else left), 0))))
    return tuple(dims)


def special_values(dtype) -> np.ndarray:
    """Values a codec gets wrong most often: both zeros, subnormals, the dtype's extremes,
    and (in float32) float16's extremes, so a coder that narrows the dtype shows it."""
    fi = np.finfo(dtype)
    tiny, sub = fi.smallest_normal, fi.smallest_subnormal
    v = [0.0, -0.0, sub, -sub, tiny - sub, -(tiny - sub), tiny, -tiny, fi.max, -fi.max, fi.eps, 1.0, -1.0]
    if np.dtype(dtype) == np.float32:
        h = np.finfo(np.float16)
        v += [float(h.max), -float(h.max), float(h.smallest_subnormal), 2 * float(h.max)]
    return np.array(v, dtype=dtype)


def _codebook(rng: np.random.Generator, r: int, half: bool, style: str) -> np.ndarray:
    if style == "specials":  # special values, repeated, mixed with ordinary ones
        dt = np.float16 if half else np.float32
        cb = rng.choice(special_values(dt), size=r)
        ordinary = rng.random(r) < 0.3
        cb[ordinary] = rng.normal(0, 0.1, size=int(ordinary.sum())).astype(dt)
        return cb
    if style == "bits":  # arbitrary finite bit patterns: subnormals, -0.0, huge values
        dt, it = (np.float16, np.uint16) if half else (np.float32, np.uint32)
        cb = rng.integers(0, np.iinfo(it).max, size=r, dtype=it, endpoint=True).view(dt)
        return np.where(np.isfinite(cb), cb, dt(1.5)).astype(dt)
    cb = rng.normal(0, 0.1, size=r)
    if style == "repeats":  # repeated centers are legal
        cb = rng.choice(cb[: max(1, r // 3)], size=r)
    return cb.astype(np.float16 if half else np.float32)


@st.composite
def triplets(draw, max_numel: int = 3000, max_r: int = 300):
    shape = draw(shapes(max_numel))
    n = math.prod(shape)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    density = draw(st.sampled_from([0.0, 1e-3, 0.01, 0.05, 0.2, 0.5, 0.9, 1.0]))
    k = draw(st.integers(0, n)) if draw(st.booleans()) else int(round(density * n))
    if draw(st.booleans(), label="clustered positions") and k:
        start = rng.integers(0, n - k + 1)
        positions = np.arange(start, start + k)
    else:
        positions = np.sort(rng.choice(n, size=k, replace=False)) if k else np.zeros(0, np.int64)
    r = draw(st.sampled_from([1, 2, 3, 4, 15, 16, 17, 64, max_r])) if k or draw(st.booleans()) else 0
    if r == 0:
        return Triplet.build(shape, positions, np.zeros(0, np.float32), np.zeros(0, np.int64))
    half = draw(st.booleans(), label="float16 codebook")
    cb = _codebook(rng, r, half, draw(st.sampled_from(["normal", "specials", "bits", "repeats"])))
    skew = draw(st.sampled_from(["uniform", "geometric", "constant"]))
    if skew == "uniform":
        idx = rng.integers(0, r, size=k)
    elif skew == "geometric":
        idx = np.minimum(rng.geometric(draw(st.sampled_from([0.9, 0.5, 0.1])), size=k) - 1, r - 1)
    else:
        idx = np.full(k, rng.integers(0, r))
    return Triplet.build(shape, positions, cb, idx)


@st.composite
def mutated_triplets(draw, max_numel: int = 3000):
    """Pairs (a, b) of one shape where b is a small edit of a (or independent): near-collisions."""
    a = draw(triplets(max_numel=max_numel))
    n, k, r = a.numel, a.k, a.r
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    edit = draw(st.sampled_from(["move", "drop", "add", "index", "center", "zero sign", "dtype", "independent"]))
    pos, cb, idx = a.positions.copy(), a.codebook.copy(), a.indices.copy()
    if edit == "move" and 0 < k < n:
        free = np.setdiff1d(np.arange(n), pos)
        pos[rng.integers(k)] = rng.choice(free)
        order = np.argsort(pos)
        pos, idx = pos[order], idx[order]
    elif edit == "drop" and k:
        j = rng.integers(k)
        pos, idx = np.delete(pos, j), np.delete(idx, j)
    elif edit == "add" and k < n and r:
        p = rng.choice(np.setdiff1d(np.arange(n), pos))
        j = np.searchsorted(pos, p)
        pos, idx = np.insert(pos, j, p), np.insert(idx, j, rng.integers(r))
    elif edit == "index" and k and r > 1:
        j = rng.integers(k)
        idx[j] = (idx[j] + 1 + rng.integers(r - 1)) % r
    elif edit == "center" and r:
        cb.view(np.uint16 if cb.dtype == np.float16 else np.uint32)[rng.integers(r)] ^= 1
        cb = np.where(np.isfinite(cb), cb, cb.dtype.type(0)).astype(cb.dtype)
    elif edit == "zero sign" and r:  # a: +0.0, b: -0.0 at one codebook entry
        j = rng.integers(r)
        a_cb = cb.copy()
        a_cb[j], cb[j] = 0.0, -0.0
        a = Triplet.build(a.shape, a.positions, a_cb, a.indices)
    elif edit == "dtype" and r:
        with np.errstate(over="ignore"):
            cb = cb.astype(np.float32 if cb.dtype == np.float16 else np.float16)
        cb = np.where(np.isfinite(cb), cb, cb.dtype.type(0)).astype(cb.dtype)
    elif edit == "independent":
        b = draw(triplets(max_numel=max_numel).filter(lambda t: t.shape == a.shape))
        return a, b
    return a, Triplet.build(a.shape, pos, cb, idx)


@st.composite
def state_dicts(draw, max_tensors: int = 5, max_numel: int = 500):
    """Small state_dicts: weights (some pruned to zero), biases, an integer buffer."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sd = {}
    for i in range(draw(st.integers(1, max_tensors))):
        kind = draw(st.sampled_from(["weight", "bias", "buffer", "half"]))
        shape = draw(shapes(max_numel)) if kind != "bias" else (draw(st.integers(0, 40)),)
        n = math.prod(shape)
        if kind == "buffer":
            t = torch.from_numpy(rng.integers(-5, 5, size=n)).reshape(shape)
        else:
            v = rng.normal(0, 0.1, size=n) * (rng.random(n) < draw(st.sampled_from([0.0, 0.02, 0.3, 1.0])))
            t = torch.from_numpy(v).float().reshape(shape)
            if kind == "half":
                t = t.half()
        sd[f"layer{i}.{kind}"] = t
    return sd
