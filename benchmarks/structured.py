"""csr-structured against csr-arithmetic and huffman: LeNet-5, synthetic pruned tensors, speed.

1. **LeNet-5** (``docs/lenet5/lenet5.pbits``: DNS to 1.25 % density, 4-bit k-means,
   float16 codebooks, biases too): the stream's triplets re-coded by each coder, whole
   bitstream bits (container included) and bits by part. Reference: NNCodec 2.1.3
   (MPEG-7 NNC, DeepCABAC) on exactly this network, 49,960 bits, and 52,864 without
   its row skipping (issue 14; not rerun here).
2. **Synthetic** 1000 x 1000 tensors: random masks at 1 / 5 / 20 %, row-structured
   masks (70 % of the rows empty, log-normal densities in the rest) and
   row-and-column-structured ones (also 50 % of the columns unused), each with 16 and
   64 levels (indices of linearly quantized Gaussian values). Payload bits over the
   memoryless entropy floor ``n h(k/n) + k H(Q)`` (``h`` the binary entropy, ``H(Q)``
   the empirical entropy of the indices): what a code that sees each weight alone,
   without a model to transmit, would need. NNCodec's published reference on random
   masks: 0.8-2.1 % above that floor (csr-arithmetic: 0.03-0.5 %).
3. **Speed** on a 10M-weight (2500 x 4000) tensor, random masks at 1 % and 5 %, 16
   levels: encode and decode in dense weights per second (best of ``--repeats``; the
   decoder includes csr-structured's canonical re-encoding check), and peak traced
   memory over the 40 MB dense float32 tensor; csr-arithmetic measured in the same run.

Usage::

    python benchmarks/structured.py [--repeats 3] [--quick]

Writes ``benchmarks/results/structured.json`` and ``benchmarks/results/structured.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from pacbits.core import Triplet, container, default_registry
from pacbits.core.codec import _coder_from_record, decode_triplet

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
LENET5 = ROOT / "docs" / "lenet5" / "lenet5.pbits"
CODERS = ("csr-arithmetic", "huffman", "csr-structured")
NNCODEC = {"bits": 49_960, "without_row_skipping": 52_864}
PARTS = ("header", "positions", "codebook", "indices", "padding")


def coder(cid: str):
    return default_registry().create("coder", cid)


def lenet5() -> dict:
    reg = default_registry()
    records = [(rec, None if rec.coder is None else decode_triplet(_coder_from_record(reg, rec), rec.payload, rec.shape))
               for rec in container.read(LENET5.read_bytes())]
    out = {}
    for cid in CODERS:
        c, recs, parts = coder(cid), [], dict.fromkeys(PARTS, 0)
        for rec, t in records:
            if t is None:
                recs.append(rec)
                continue
            enc = c.encode(t)
            assert c.decode(enc.payload, t.shape).equals(t)
            recs.append(container.Record(rec.name, rec.shape, rec.dtype, (cid, "{}"), enc.payload))
            for p in PARTS:
                parts[p] += getattr(enc.bits, p)
        data, layout = container.write(recs)
        out[cid] = {"total_bits": 8 * len(data), "container_and_record_headers": layout.container_bits
                    + sum(layout.record_header_bits), **parts}
    return out


def binary_entropy_bits(n: int, k: int) -> float:
    p = k / n
    return 0.0 if k in (0, n) else n * float(-(p * np.log2(p) + (1 - p) * np.log2(1 - p)))


def floor_bits(t: Triplet) -> float:
    counts = t.counts()[t.counts() > 0]
    return binary_entropy_bits(t.numel, t.k) + float(np.sum(counts * np.log2(t.k / counts)))


def mask(rng, kind: str, shape: tuple[int, int], density: float) -> np.ndarray:
    rows, cols = shape
    if kind == "random":
        return rng.random(shape) < density
    row_p = np.where(rng.random(rows) < 0.3, np.exp(rng.normal(0, 1, rows)), 0.0)
    col_p = np.ones(cols) if kind == "rows" else np.where(rng.random(cols) < 0.5, 1.0, 0.0)
    p = np.outer(row_p, col_p)
    return rng.random(shape) < np.minimum(p * density * p.size / p.sum(), 1.0)


def triplet(rng, m: np.ndarray, levels: int) -> Triplet:
    pos = np.flatnonzero(m)
    v = rng.standard_normal(pos.size)
    idx = np.clip(np.rint((v - v.min()) / (v.max() - v.min()) * (levels - 1)), 0, levels - 1).astype(np.int64)
    centers = np.linspace(v.min(), v.max(), levels).astype(np.float16)
    return Triplet.build(m.shape, pos, centers, idx)


def synthetic(rng, shape) -> list[dict]:
    rows = []
    cases = [("random", d) for d in (0.01, 0.05, 0.2)] + [("rows", 0.02), ("rows and columns", 0.02)]
    for kind, d in cases:
        m = mask(rng, kind, shape, d)
        for levels in (16, 64):
            t = triplet(rng, m, levels)
            row = {"mask": kind, "density": t.k / t.numel, "levels": levels, "k": t.k, "floor_bits": floor_bits(t)}
            for cid in CODERS:
                c = coder(cid)
                enc = c.encode(t)
                assert c.decode(enc.payload, t.shape).equals(t)
                row[cid] = enc.bits.total
            rows.append(row)
            print(f"synthetic {kind} {d:.0%} r={levels}: done", file=sys.stderr)
    return rows


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def traced_peak(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def speed(rng, repeats: int, densities) -> list[dict]:
    shape, n, out = (2500, 4000), 10_000_000, []
    for d in densities:
        pos = np.sort(rng.choice(n, int(d * n), replace=False))
        m = np.zeros(n, bool)
        m[pos] = True
        t = triplet(rng, m.reshape(shape), 16)
        del m
        for cid in ("csr-arithmetic", "csr-structured"):
            c = coder(cid)
            payload = c.encode(t).payload
            assert c.decode(payload, t.shape).equals(t)
            enc_s = best_time(lambda: c.encode(t), repeats)
            dec_s = best_time(lambda: c.decode(payload, t.shape), repeats)
            out.append({"coder": cid, "density": d, "bytes": len(payload), "encode_weights_per_s": n / enc_s,
                        "decode_weights_per_s": n / dec_s,
                        "encode_peak_over_dense": traced_peak(lambda: c.encode(t)) / (4 * n),
                        "decode_peak_over_dense": traced_peak(lambda: c.decode(payload, t.shape)) / (4 * n)})
            print(f"speed {cid} {d:.0%}: done", file=sys.stderr)
    return out


def markdown(res: dict) -> str:
    a, s = res["lenet5"]["csr-arithmetic"], res["lenet5"]["csr-structured"]
    lines = ["### LeNet-5 (`docs/lenet5/lenet5.pbits`'s network): whole bitstream bits", "",
             "| coder | total | positions | indices | codebook | header (incl. Q tables) | container + record headers |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for cid, r in res["lenet5"].items():
        lines.append(f"| `{cid}` | **{r['total_bits']:,}** | {r['positions']:,} | {r['indices']:,} | {r['codebook']:,} "
                     f"| {r['header']:,} | {r['container_and_record_headers']:,} |")
    lines.append(f"| NNCodec 2.1.3 (published, issue 14) | {NNCODEC['bits']:,} | | | | | |")
    lines += ["", f"csr-structured: {s['total_bits'] / NNCODEC['bits'] - 1:+.1%} against NNCodec, "
              f"{s['total_bits'] / a['total_bits'] - 1:+.1%} against csr-arithmetic.", "",
              "### Synthetic 1000 x 1000 tensors: payload bits over the memoryless entropy floor", "",
              "| mask | density | levels | floor (bits) | " + " | ".join(f"`{c}`" for c in CODERS)
              + " | csr-structured / csr-arithmetic |", "|---|---:|---:|---:|" + "---:|" * (len(CODERS) + 1)]
    for r in res["synthetic"]:
        lines.append(f"| {r['mask']} | {r['density']:.2%} | {r['levels']} | {r['floor_bits']:,.0f} | "
                     + " | ".join(f"{r[c] / r['floor_bits']:.4f}" for c in CODERS)
                     + f" | {r['csr-structured'] / r['csr-arithmetic']:.4f} |")
    lines += ["", "NNCodec's published reference on random masks: 1.008-1.021 of the floor.", "",
              f"### Speed on a 10M-weight tensor (2500 x 4000, 16 levels), best of {res['repeats']}", "",
              "| coder | density | payload bytes | encode (M weights/s) | decode (M weights/s) "
              "| peak memory / dense, encode | decode |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in res["speed"]:
        lines.append(f"| `{r['coder']}` | {r['density']:.0%} | {r['bytes']:,} | {r['encode_weights_per_s'] / 1e6:,.0f} "
                     f"| {r['decode_weights_per_s'] / 1e6:,.0f} | {r['encode_peak_over_dense']:.2f} "
                     f"| {r['decode_peak_over_dense']:.2f} |")
    by = {(r["coder"], r["density"]): r for r in res["speed"]}
    for d in sorted({r["density"] for r in res["speed"]}):
        s_, a_ = by[("csr-structured", d)], by[("csr-arithmetic", d)]
        lines.append(f"\n{d:.0%}: csr-structured encodes at {s_['encode_weights_per_s'] / a_['encode_weights_per_s']:.2f}x "
                     f"and decodes at {s_['decode_weights_per_s'] / a_['decode_weights_per_s']:.2f}x csr-arithmetic's speed.")
    lines += ["", f"Command: `{res['command']}` ({res['machine']}; load average {res['load']} at the start)", ""]
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a smaller synthetic tensor and one speed density")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(14)
    res = {
        "command": "python benchmarks/structured.py" + (" --quick" if args.quick else "")
                   + (f" --repeats {args.repeats}" if args.repeats != 3 else ""),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}",
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "repeats": args.repeats,
        "lenet5": lenet5(),
        "synthetic": synthetic(rng, (300, 400) if args.quick else (1000, 1000)),
        "speed": speed(rng, args.repeats, (0.01,) if args.quick else (0.01, 0.05)),
    }
    RESULTS.mkdir(exist_ok=True)
    if not args.quick:
        (RESULTS / "structured.json").write_text(json.dumps(res, indent=1) + "\n")
        (RESULTS / "structured.md").write_text(markdown(res))
    print(markdown(res))
    return res


if __name__ == "__main__":
    main()
