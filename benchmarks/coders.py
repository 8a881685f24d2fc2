"""Coder size and speed: csr-arithmetic, huffman, fixed and paper2019 against entropy, Huffman, zlib, lzma.

Size, on index streams (skewed distributions, and 4-bit linear quantization of
magnitude-pruned Gaussian weights) and on gap streams (10M-weight tensors pruned
to 1-5%): every coder's bits for that part of its payload (its tables included)
over the empirical entropy ``H`` of the same symbols; csr-arithmetic also without
its coded model (the data part, target <= 1.005 H), and the ideal code length of
its symbols under an adaptive (Krichevsky-Trofimov) model, which needs no table:
the most an adaptive model could save; huffman's codewords (and raw
gap bits) over an optimal Huffman code built independently (heapq, pacbits.testing.reference) on the
same symbols (for gaps, on the raw gap values); zlib (level 9) and lzma (preset 9)
on the same symbols as bytes (uint8/16/32, whichever holds them). Then whole
payloads of LeNet-5-sized tensors, where tables and stream ends weigh most. An index stream is coded as a tensor with every weight kept
(so positions cost nothing), a gap stream as one with a 1-entry codebook.

Speed, on a 10M-weight tensor at 1%, 2% and 5% density with 16 skewed centers:
encode and decode throughput in (dense) weights per second, best of
``--repeats``, and the peak memory a call allocates (tracemalloc, which sees
numpy's buffers; constriction's own buffers, about the size of the payload, are
not traced) over the 40 MB of the dense float32 tensor. Everything is measured
in one run.

Usage::

    python benchmarks/coders.py [--repeats 5] [--quick]

Writes ``benchmarks/results/coders.json`` and ``benchmarks/results/coders.md``.
"""
from __future__ import annotations

import argparse
import json
import lzma
import os
import platform
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
from scipy.special import gammaln

from pacbits.core import Triplet
from pacbits.core.bitio import bit_width, uvarint
from pacbits.core import bitio as G
from pacbits.plugins.csr_arithmetic import CsrArithmeticCoder
from pacbits.plugins.fixed import FixedCoder
from pacbits.core.bitio import split_bits
from pacbits.plugins.huffman import HuffmanCoder, code_lengths
from pacbits.plugins.paper2019 import Paper2019Coder
from pacbits.testing.reference import optimal_huffman_bits

RESULTS = Path(__file__).parent / "results"
CODERS = {"csr-arithmetic": CsrArithmeticCoder(), "huffman": HuffmanCoder(), "fixed": FixedCoder(),
          "paper2019": Paper2019Coder()}
N = 10_000_000


def entropy(symbols: np.ndarray) -> float:
    counts = np.unique(symbols, return_counts=True)[1]
    return float(np.sum(counts * np.log2(symbols.size / counts)))


def huffman_cost(symbols: np.ndarray) -> int:
    """Bits of an optimal Huffman code for the symbols."""
    return optimal_huffman_bits(np.unique(symbols, return_counts=True)[1])


def as_bytes(symbols: np.ndarray) -> bytes:
    top = int(symbols.max())
    dtype = "<u1" if top < 2**8 else "<u2" if top < 2**16 else "<u4"
    return symbols.astype(dtype).tobytes()


def pruned(rng, n: int, density: float, rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude pruning of Gaussian weights (row scales log-normal if ``rows``): positions and kept values."""
    w = rng.standard_normal(n, dtype=np.float32)
    if rows:
        w = (w.reshape(rows, -1) * np.exp(rng.normal(0, 0.5, (rows, 1))).astype(np.float32)).reshape(-1)
    a = np.abs(w)
    thr = np.partition(a, n - int(density * n))[n - int(density * n)]
    pos = np.flatnonzero(a >= thr)
    return pos, w[pos]


def linear_quantize(values: np.ndarray, r: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """``r`` evenly spaced float16 centers over the range of the values (Deep Compression's linear init)."""
    centers = np.linspace(values.min(), values.max(), r).astype(np.float16)
    idx = np.clip(np.rint((values - values.min()) / (values.max() - values.min()) * (r - 1)), 0, r - 1)
    return centers, idx.astype(np.int64)


def index_streams(rng, k: int) -> dict[str, tuple[np.ndarray, int]]:
    pos, vals = pruned(rng, N, k / N)
    return {
        "Q geometric(0.3), r=16": (np.minimum(rng.geometric(0.3, k) - 1, 15), 16),
        "Q zipf(1.3), r=256": (np.minimum(rng.zipf(1.3, k) - 1, 255), 256),
        "Q p0=0.98, r=4": (rng.choice(4, size=k, p=[0.98, 0.01, 0.005, 0.005]), 4),
        "Q uniform, r=16": (rng.integers(0, 16, k), 16),
        "Q 4-bit linear, pruned Gaussian": (linear_quantize(vals)[1], 16),
    }


def gap_streams(rng) -> dict[str, np.ndarray]:
    out = {f"gaps, random mask {d:.0%}": pruned(rng, N, d)[0] for d in (0.01, 0.02, 0.05)}
    out["gaps, row-scaled magnitude 2%"] = pruned(rng, N, 0.02, rows=2000)[0]
    return out


def adaptive_bits(t: Triplet, enc, part: str) -> float:
    """Code length of csr-arithmetic's symbols under an ideal adaptive (Krichevsky-Trofimov) model,
    which needs no table: what an adaptive model could at best save over the static one plus its table."""
    if part == "indices":
        hist, raw = np.bincount(t.indices, minlength=t.r), 0
    else:
        sym, _, low_bits = G.to_symbols(G.gaps_of(t.positions), enc.payload[0] >> 2 & 31)
        hist, raw = np.bincount(sym), int(low_bits.sum())
    m, k = hist.size, int(hist.sum())
    nats = gammaln(k + m / 2) - gammaln(m / 2) - np.sum(gammaln(hist + 0.5) - gammaln(0.5))
    return float(nats / np.log(2)) + raw


def model_bits(cid: str, t: Triplet, enc, part: str) -> int:
    """Bits of the coded model (count or code-length tables) csr-arithmetic or huffman spends on a part."""
    if part == "indices":  # the index table sits in the header, after the flags, k and r
        return enc.bits.header - 8 * (1 + len(uvarint(t.k)) + len(uvarint(t.r)))
    mantissa = enc.payload[0] >> 2 & 31 if cid == "csr-arithmetic" else enc.payload[0] >> 1 & 31
    hist = np.bincount(G.to_symbols(G.gaps_of(t.positions), mantissa)[0])
    if cid == "csr-arithmetic":
        return 8 * len(uvarint(hist.size)) + split_bits(hist)
    return 8 * len(uvarint(hist.size)) + 5 + hist.size * bit_width(int(code_lengths(hist).max()) + 1)


def size_row(name: str, t: Triplet, symbols: np.ndarray, part: str) -> dict:
    h = entropy(symbols)
    row = {"stream": name, "symbols": int(symbols.size), "entropy_bits": h}
    for cid, coder in CODERS.items():
        enc = coder.encode(t)
        assert coder.decode(enc.payload, t.shape).equals(t)
        model = model_bits(cid, t, enc, part) if cid in ("csr-arithmetic", "huffman") else 0
        bits = getattr(enc.bits, part) + (model if part == "indices" else 0)
        row[cid] = {"bits": bits, "ratio": bits / h, "model_bits": model, "data_ratio": (bits - model) / h}
        if cid == "csr-arithmetic":
            row[cid]["adaptive_ideal_ratio"] = adaptive_bits(t, enc, part) / h
    row["huffman"]["optimal_huffman_bits"] = opt = huffman_cost(symbols)
    row["huffman"]["vs_optimal"] = (row["huffman"]["bits"] - row["huffman"]["model_bits"]) / opt
    for lib, fn in (("zlib", lambda b: zlib.compress(b, 9)), ("lzma", lambda b: lzma.compress(b, preset=9))):
        bits = 8 * len(fn(as_bytes(symbols)))
        row[lib] = {"bits": bits, "ratio": bits / h}
    return row


def sizes(rng, k: int) -> list[dict]:
    rows = []
    for name, (idx, r) in index_streams(rng, k).items():
        t = Triplet.build((k,), np.arange(k), np.linspace(-1, 1, r).astype(np.float16), idx)
        rows.append(size_row(name, t, idx, "indices"))
        print(f"{name}: done", file=sys.stderr)
    for name, pos in gap_streams(rng).items():
        t = Triplet.build((N,), pos, np.ones(1, np.float16), np.zeros(pos.size, np.int64))
        rows.append(size_row(name, t, G.gaps_of(pos), "positions"))
        print(f"{name}: done", file=sys.stderr)
    return rows


def whole_payloads(rng) -> list[dict]:
    """Whole payload bytes per coder for LeNet-5-sized tensors (16 linear float16 centers)."""
    rows = []
    for n, d in [(500, 0.08), (25_000, 0.08), (400_000, 0.08), (400_000, 0.01), (5_000, 0.08)]:
        pos, vals = pruned(rng, n, d)
        cb, idx = linear_quantize(vals)
        t = Triplet.build((n,), pos, cb, idx)
        rows.append({"numel": n, "k": t.k, **{cid: len(c.encode(t).payload) for cid, c in CODERS.items()}})
    return rows


def traced_peak(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def speed(rng, repeats: int, densities, coders) -> list[dict]:
    rows, dense = [], 4 * N
    for d in densities:
        pos, vals = pruned(rng, N, d)
        cb, idx = linear_quantize(vals)
        t = Triplet.build((N,), pos, cb, idx)
        for cid in coders:
            coder = CODERS[cid]
            payload = coder.encode(t).payload
            assert coder.decode(payload, t.shape).equals(t)
            n_rep = 1 if cid == "paper2019" else repeats
            enc_s = best_time(lambda: coder.encode(t), n_rep)
            dec_s = best_time(lambda: coder.decode(payload, t.shape), n_rep)
            row = {"coder": cid, "density": d, "k": t.k, "bytes": len(payload),
                   "encode_weights_per_s": N / enc_s, "decode_weights_per_s": N / dec_s,
                   "encode_s": enc_s, "decode_s": dec_s}
            row["encode_peak_over_dense"] = traced_peak(lambda: coder.encode(t)) / dense
            row["decode_peak_over_dense"] = traced_peak(lambda: coder.decode(payload, t.shape)) / dense
            rows.append(row)
            print(f"speed {cid} {d:.0%}: done", file=sys.stderr)
    return rows


def fmt_ratio(x: float) -> str:
    return f"{x:.4f}" if x < 10 else f"{x:.1f}"


def markdown(res: dict) -> str:
    lines = [
        "### Size: bits over the empirical entropy H of the same symbols (tables included)", "",
        "| stream | symbols | H (bits) | csr-arithmetic | (data only) | (ideal adaptive) | huffman "
        "| huffman / optimal Huffman | fixed | paper2019 | zlib | lzma |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["size"]:
        a = r["csr-arithmetic"]
        lines.append(
            f"| {r['stream']} | {r['symbols']:,} | {r['entropy_bits']:,.0f} | {fmt_ratio(a['ratio'])} "
            f"| {fmt_ratio(a['data_ratio'])} (+{a['model_bits']} model bits) | {fmt_ratio(a['adaptive_ideal_ratio'])} "
            f"| {fmt_ratio(r['huffman']['ratio'])} "
            f"| {r['huffman']['vs_optimal']:.4f} | {fmt_ratio(r['fixed']['ratio'])} | {fmt_ratio(r['paper2019']['ratio'])} "
            f"| {fmt_ratio(r['zlib']['ratio'])} | {fmt_ratio(r['lzma']['ratio'])} |")
    lines += ["", "### Whole payloads (bytes) of LeNet-5-sized tensors, 16 linear float16 centers", "",
              "| weights | kept | " + " | ".join(CODERS) + " |", "|---:|---:|" + "---:|" * len(CODERS)]
    for r in res["whole"]:
        lines.append(f"| {r['numel']:,} | {r['k']:,} | " + " | ".join(f"{r[c]:,}" for c in CODERS) + " |")
    lines += [
        "", f"### Speed on a {N // 10**6}M-weight tensor (16 linear centers), best of {res['repeats']}", "",
        "| coder | density | payload bytes | encode (M weights/s) | decode (M weights/s) "
        "| peak memory / dense, encode | decode |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["speed"]:
        lines.append(
            f"| {r['coder']} | {r['density']:.0%} | {r['bytes']:,} | {r['encode_weights_per_s'] / 1e6:,.0f} "
            f"| {r['decode_weights_per_s'] / 1e6:,.0f} | {r['encode_peak_over_dense']:.2f} "
            f"| {r['decode_peak_over_dense']:.2f} |")
    lines += ["", f"Command: `{res['command']}` ({res['machine']})", ""]
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer symbols and one density (a smoke run)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(2019)
    k = 20_000 if args.quick else 300_000
    densities = (0.01,) if args.quick else (0.01, 0.02, 0.05)
    res = {
        "command": "python benchmarks/coders.py" + (" --quick" if args.quick else "")
                   + (f" --repeats {args.repeats}" if args.repeats != 5 else ""),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}",
        "repeats": args.repeats,
        "size": sizes(rng, k),
        "whole": whole_payloads(rng),
        "speed": speed(rng, args.repeats, densities, ["csr-arithmetic", "huffman", "fixed"])
                 + speed(rng, 1, (0.01,), ["paper2019"]),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "coders.json").write_text(json.dumps(res, indent=1) + "\n")
    (RESULTS / "coders.md").write_text(markdown(res))
    print(markdown(res))
    return res


if __name__ == "__main__":
    main()
