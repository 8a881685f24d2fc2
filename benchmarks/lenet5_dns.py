"""LeNet-5 on MNIST, issue 4's acceptance: dense baseline -> DNS -> 4-bit k-means with fine-tuned centers.

Runs the training phases of ``pacbits reproduce lenet5`` (its ``SCHEDULE``, the
``lenet5-paper`` preset's pruner and quantizer; the paper's Appendix B.1 adapted
to a 2-core CPU, see ``pacbits/experiments/lenet5.py`` and docs/pruning.md) and
reports per phase: test error, per-layer weight density, wall time; then checks
the targets (DNS <= 1.5 % density at <= +1.0 pp, k-means <= +0.2 pp) and that the
coded network is the evaluated one. Noise and bounds are ``reproduce``'s job.

Usage::

    python benchmarks/lenet5_dns.py OUT_DIR [--quick]

Checkpoints (plain state_dicts) go to OUT_DIR; a phase whose checkpoint exists
is loaded, not rerun, and its wall time is read from ``NAME.seconds``. Results:
``benchmarks/results/lenet5_dns.{json,md}`` (``--quick`` writes only under OUT_DIR).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import time
from pathlib import Path

import torch

from pacbits.codecs.presets import LENET5_DNS, LENET5_KMEANS
from pacbits.core import Codec, decompress, default_registry, reparam
from pacbits.data import load_mnist
from pacbits.evaluate import error_rate
from pacbits.experiments.lenet5 import QUICK, SCHEDULE, prune, quantize, train_baseline
from pacbits.models import lenet5

SEED = 0


def weight_density(state: dict[str, torch.Tensor]) -> dict[str, float]:
    """Kept fraction of each conv/linear weight, and of all of them together ("total")."""
    ws = {k: v for k, v in state.items() if k.endswith("weight") and v.dim() >= 2}
    out = {k: float((v != 0).float().mean()) for k, v in ws.items()}
    out["total"] = sum(int((v != 0).sum()) for v in ws.values()) / sum(v.numel() for v in ws.values())
    return out


def phase(name: str, out: Path, make, *, build=lenet5) -> tuple[torch.nn.Module, float]:
    """Run a phase, or load its checkpoint; save it as a plain state_dict. Returns (model, wall seconds).

    The wall time is kept beside the checkpoint (``NAME.seconds``), so a loaded phase reports it too.
    """
    path, timing = out / f"{name}.pt", out / f"{name}.seconds"
    if path.exists():
        model = build()
        model.load_state_dict(torch.load(path))
        print(f"{name}: loaded {path}")
        return model, float(timing.read_text()) if timing.exists() else float("nan")
    start = time.perf_counter()
    model = make()
    seconds = time.perf_counter() - start
    plain = build()
    plain.load_state_dict(reparam.bake(model))  # the plain model's key order, for reproducible bytes
    torch.save(plain.state_dict(), path)
    timing.write_text(f"{seconds:.1f}\n")
    return plain, seconds


def evaluate(model: torch.nn.Module, data, seconds: float, train_error: bool = False) -> dict:
    state = model.state_dict()
    out = {"test_error": error_rate(model, data.test_x, data.test_y), "wall_seconds": round(seconds, 1),
           "density": weight_density(state),
           "distinct_nonzero": {k: int(torch.unique(v[v != 0]).numel()) for k, v in state.items()}}
    if train_error:
        out["train_error"] = error_rate(model, data.train_x, data.train_y)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for checkpoints")
    parser.add_argument("--quick", action="store_true", help="a few steps per phase (smoke test)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    steps = {k: QUICK[k] if args.quick else SCHEDULE[k]["steps"] for k in ("baseline", "dns", "kmeans")}
    data = load_mnist()
    results = {"schedule": SCHEDULE, "pruner": LENET5_DNS, "quantizer": LENET5_KMEANS, "steps": steps, "torch": torch.__version__, "threads": torch.get_num_threads(),
               "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "phases": {}}

    registry = default_registry()
    model, sec = phase("baseline", args.out, lambda: train_baseline(data, steps["baseline"], SEED))
    results["phases"]["baseline"] = evaluate(model, data, sec, train_error=True)
    model, sec = phase("dns", args.out, lambda: prune(copy.deepcopy(model), data, registry.create("pruner", LENET5_DNS),
                                                       steps["dns"], SEED))
    results["phases"]["dns"] = evaluate(model, data, sec)
    model, sec = phase("kmeans", args.out,
                       lambda: quantize(copy.deepcopy(model), data, registry.create("quantizer", LENET5_KMEANS),
                                        steps["kmeans"], SEED))
    results["phases"]["kmeans"] = final = evaluate(model, data, sec, train_error=True)

    codec = Codec(default_registry().create("coder", "fixed"), targets="floating")
    packed = codec.compress(model.state_dict())
    decoded = lenet5()
    decoded.load_state_dict(decompress(packed.data))
    final["fixed_coder_bits"] = packed.report.total_bits
    final["decoded_test_error"] = error_rate(decoded, data.test_x, data.test_y)
    assert final["decoded_test_error"] == final["test_error"], "the coded network is not the evaluated one"

    b, d, k = (results["phases"][p] for p in ("baseline", "dns", "kmeans"))
    results["acceptance"] = {
        "dns_total_density": d["density"]["total"], "dns_density_ok": d["density"]["total"] <= 0.015,
        "dns_error_increase_pp": 100 * (d["test_error"] - b["test_error"]),
        "dns_error_ok": d["test_error"] - b["test_error"] <= 0.010,
        "kmeans_error_increase_pp": 100 * (k["test_error"] - d["test_error"]),
        "kmeans_error_ok": k["test_error"] - d["test_error"] <= 0.002,
    }
    dest = args.out if args.quick else Path(__file__).parent / "results"
    dest.mkdir(exist_ok=True)
    (dest / "lenet5_dns.json").write_text(json.dumps(results, indent=2) + "\n")
    (dest / "lenet5_dns.md").write_text(table(results))
    print(table(results))
    return 0


def table(results: dict) -> str:
    layers = [k for k in results["phases"]["baseline"]["density"] if k != "total"]
    head = ["phase", "test error %", *[f"{k} density %" for k in layers], "total density %", "wall s"]
    rows = [[p, f"{100 * r['test_error']:.2f}", *[f"{100 * r['density'][k]:.2f}" for k in layers],
             f"{100 * r['density']['total']:.3f}", f"{r['wall_seconds']:.0f}"] for p, r in results["phases"].items()]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
    return ("Command: `python benchmarks/lenet5_dns.py OUT_DIR` (torch threads: "
            f"{results['threads']}, shared CPU: wall times are pessimistic)\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
