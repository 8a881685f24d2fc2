"""Bit-exact random numbers from a seed: numpy's Philox raw stream and fixed transforms.

numpy promises the *raw* output of its bit generators across versions, not the
output of its distribution methods, so every draw here is a transform of
``Philox(key=[seed, stream]).random_raw()`` (counter from 0) written with integer
operations and exactly rounded IEEE float64 operations (+ − × ÷ sqrt) only: no
log, exp or cos, whose last bit differs between SIMD implementations. The same
seed then gives the same bytes on every machine, numpy version and thread count.

- uniform ``u = (x >> 11)·2⁻⁵³`` in [0, 1), the top 53 bits of each word;
- integer ``j = ((x >> 32)·n) >> 32`` in [0, n) for n < 2³², Lemire's multiply-shift
  (bias below n/2³², irrelevant for a projection and fixed by the seed);
- sign ``±1`` from the lowest bit of a word (1 → −1).
"""
from __future__ import annotations

import numpy as np

from .errors import ConfigError

MAX_SEED = (1 << 64) - 1


def raw(seed: int, stream: int, n: int) -> np.ndarray:
    """``n`` raw 64-bit words of Philox with key ``[seed, stream]``, counter from 0."""
    if not (isinstance(seed, int) and 0 <= seed <= MAX_SEED):
        raise ConfigError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    bg = np.random.Philox(key=np.array([seed, stream], dtype=np.uint64))
    return np.asarray(bg.random_raw(int(n)), dtype=np.uint64)


def uniform(words: np.ndarray) -> np.ndarray:
    """Float64 in [0, 1) from the top 53 bits of each word (exact)."""
    return (words >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)


def below(words: np.ndarray, n: int) -> np.ndarray:
    """Integers in [0, n) from the top 32 bits of each word: ``((x >> 32)·n) >> 32``."""
    if not 0 < n < (1 << 32):
        raise ConfigError(f"range must be in [1, 2**32), got {n}")
    return (((words >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32)).astype(np.int64)


def signs(words: np.ndarray) -> np.ndarray:
    """Float64 ±1 from the lowest bit of each word (bit 1 → −1)."""
    return 1.0 - 2.0 * (words & np.uint64(1)).astype(np.float64)


def sign_bits(seed: int, stream: int, n: int) -> np.ndarray:
    """``n`` float64 ±1 values, 64 per raw word (bit ``b`` of word ``i`` is value ``64·i + b``)."""
    words = raw(seed, stream, (n + 63) // 64)
    bits = (words[:, None] >> np.arange(64, dtype=np.uint64)[None, :]) & np.uint64(1)
    return 1.0 - 2.0 * bits.reshape(-1)[:n].astype(np.float64)
