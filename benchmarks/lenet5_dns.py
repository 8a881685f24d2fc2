"""LeNet-5 on MNIST: dense baseline -> Dynamic Network Surgery -> 4-bit k-means with fine-tuned centers.

The paper's recipe (Appendix B.1) adapted to a 2-core CPU; the whole schedule is
``SCHEDULE`` below. Paper -> here:

- baseline: SGD + momentum, inverse-time learning-rate decay every 125 steps,
  l2 penalty; 20000 steps of 1024 -> 3000 steps of 128 (6.4 epochs).
- DNS: Adam, per-layer thresholds from mean + c·std with c 0 -> 4, update
  probability 1 -> 1e-3, 30000 steps -> per-layer target densities reached by
  quantile thresholds on a cubic ramp (the paper's MobileNet variant, B.2), the
  same probability decay, 11000 steps of 128 (23 epochs), and SGD + momentum +
  weight decay instead of Adam: Adam moves every pruned weight by about lr per
  step whatever its gradient, so pruned weights grow as large as kept ones and
  rare mask updates splice them in wholesale (loss spikes, then divergence).
- k-means: 4-bit codebook per tensor (15 centers + exact zero), centers
  fine-tuned with Adam, 1000 steps of 1024 -> 1000 steps of 128; here the
  biases are quantized too and the codebooks are float16, as coded.
- noise: sigma per tensor searched on a training subset under an error
  tolerance, then per-draw training errors with fresh noise (pacbits.stochastic).

Usage::

    python benchmarks/lenet5_dns.py OUT_DIR [--quick]

Checkpoints (plain state_dicts) go to OUT_DIR; a phase whose checkpoint exists
is loaded, not rerun. Results: ``benchmarks/results/lenet5_dns.{json,md}``
(``--quick``, a smoke test of a few steps, writes only under OUT_DIR).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from pacbits.core import Codec, decompress, default_registry, reparam
from pacbits.data import load_mnist
from pacbits.evaluate import error_rate
from pacbits.models import lenet5
from pacbits.stochastic import absolute_sigma, kept_range, sample_errors, search_sigma
from pacbits.train import batches, train

SCHEDULE = {
    "seed": 0,
    "threads": 2,
    "baseline": {"steps": 3000, "batch_size": 128, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
                 "decay_every": 125, "decay_rate": 0.1},  # lr_t = lr / (1 + rate·floor(t / every))
    "dns": {"steps": 11000, "batch_size": 128, "lr": [[0, 0.01], [8000, 0.001]],  # piecewise constant
            "momentum": 0.9, "weight_decay": 5e-4,
            "pruner": {"id": "dns", "hysteresis": 0.05, "begin": 0, "end": 4000,
                       "density": {"conv1.weight": 0.3, "conv2.weight": 0.05, "fc1.weight": 0.009,
                                   "fc2.weight": 0.06},
                       "prob": [[0, 1.0], [4500, 0.1], [6000, 0.01], [7500, 0.001]]}},
    "kmeans": {"steps": 1000, "batch_size": 128, "lr": 1e-4,
               "quantizer": {"id": "kmeans", "bits": 4, "dtype": "float16", "targets": "floating"}},
    "noise": {"tolerance": 0.005, "search_examples": 10000, "search_steps": 6, "search_seed": 1,
              "draws": 5, "draw_seed": 2, "paper_relative": 0.05},
}
QUICK = {"baseline": 30, "dns": 60, "kmeans": 20, "search_examples": 1000, "draws": 1}  # --quick


def weight_density(state: dict[str, torch.Tensor]) -> dict[str, float]:
    """Kept fraction of each conv/linear weight, and of all of them together ("total")."""
    ws = {k: v for k, v in state.items() if k.endswith("weight") and v.dim() >= 2}
    out = {k: float((v != 0).float().mean()) for k, v in ws.items()}
    out["total"] = sum(int((v != 0).sum()) for v in ws.values()) / sum(v.numel() for v in ws.values())
    return out


def baseline(data, cfg: dict, steps: int) -> torch.nn.Module:
    model = lenet5()
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"])
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 / (1 + cfg["decay_rate"] * (t // cfg["decay_every"])))
    train(model, batches(data.train_x, data.train_y, cfg["batch_size"], seed=1), opt, steps, scheduler=decay,
          desc="baseline")
    return model


def dns(model: torch.nn.Module, data, cfg: dict, steps: int) -> torch.nn.Module:
    """Prune in place with DNS; returns the model with its masks baked in (plain parameters)."""
    pruner = default_registry().create("pruner", cfg["pruner"])
    pruner.attach(model)
    opt = torch.optim.SGD(model.parameters(), lr=1.0, momentum=cfg["momentum"], weight_decay=cfg["weight_decay"])
    lr = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: reparam.piecewise(cfg["lr"], t))
    train(model, batches(data.train_x, data.train_y, cfg["batch_size"], seed=2), opt, steps, scheduler=lr,
          callbacks=[lambda t: pruner.update(model, t)], desc="dns")
    return reparam.detach(model)


def kmeans(model: torch.nn.Module, data, cfg: dict, steps: int) -> torch.nn.Module:
    """Quantize in place and fine-tune the centers; returns the model with its codebooks baked in."""
    centers = default_registry().create("quantizer", cfg["quantizer"]).attach(model)
    opt = torch.optim.Adam(centers, lr=cfg["lr"])
    train(model, batches(data.train_x, data.train_y, cfg["batch_size"], seed=3), opt, steps, desc="kmeans")
    return reparam.detach(model)


def noise(model: torch.nn.Module, data, cfg: dict) -> dict:
    """Searched sigma (training subset, one seed) and per-draw training errors with fresh noise (another seed)."""
    n = cfg["search_examples"]
    sigma = search_sigma(model, data.train_x[:n], data.train_y[:n], tolerance=cfg["tolerance"],
                         steps=cfg["search_steps"], seed=cfg["search_seed"])
    paper = absolute_sigma(model, {k: cfg["paper_relative"] for k in sigma})
    draws = {name: sample_errors(model, data.train_x, data.train_y, s, draws=cfg["draws"], seed=cfg["draw_seed"]).tolist()
             for name, s in (("searched", sigma), ("paper_5pct_range", paper))}
    state = model.state_dict()
    return {"sigma": sigma, "relative_sigma": {k: sigma[k] / kept_range(state[k]) for k in sigma},
            "paper_sigma": paper, "train_error_draws": draws}


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
    torch.set_num_threads(SCHEDULE["threads"])
    torch.manual_seed(SCHEDULE["seed"])
    steps = {k: QUICK[k] if args.quick else SCHEDULE[k]["steps"] for k in ("baseline", "dns", "kmeans")}
    data = load_mnist()
    results = {"schedule": SCHEDULE, "steps": steps, "torch": torch.__version__, "threads": torch.get_num_threads(),
               "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "phases": {}}

    model, sec = phase("baseline", args.out, lambda: baseline(data, SCHEDULE["baseline"], steps["baseline"]))
    results["phases"]["baseline"] = evaluate(model, data, sec, train_error=True)
    model, sec = phase("dns", args.out, lambda: dns(model, data, SCHEDULE["dns"], steps["dns"]))
    results["phases"]["dns"] = evaluate(model, data, sec)
    model, sec = phase("kmeans", args.out, lambda: kmeans(model, data, SCHEDULE["kmeans"], steps["kmeans"]))
    results["phases"]["kmeans"] = final = evaluate(model, data, sec, train_error=True)

    codec = Codec(default_registry().create("coder", "fixed"), targets="floating")
    packed = codec.compress(model.state_dict())
    decoded = lenet5()
    decoded.load_state_dict(decompress(packed.data))
    final["fixed_coder_bits"] = packed.report.total_bits
    final["decoded_test_error"] = error_rate(decoded, data.test_x, data.test_y)
    assert final["decoded_test_error"] == final["test_error"], "the coded network is not the evaluated one"

    start = time.perf_counter()
    quick = {k: QUICK[k] for k in ("search_examples", "draws")} if args.quick else {}
    results["noise"] = noise(model, data, {**SCHEDULE["noise"], **quick})
    results["noise"]["wall_seconds"] = round(time.perf_counter() - start, 1)

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
