"""DNS training throughput (images/s) against a plain dense training step, in the same run.

LeNet-5 on MNIST, mini-batches of 128, SGD with momentum; the same initial weights
and batches for every variant:

- ``dense``: the plain training step, no pruner;
- ``dns (schedule)``: the ``lenet5-paper`` preset's Dynamic Network Surgery schedule,
  stretched to the measured steps (the pruner's ``stretched``, as ``reproduce lenet5`` does), so
  the ramp, the density targets and the share of steps that update the masks (the
  update probability decays 1 -> 1e-3) are those of the full 11000-step run;
- ``dns (update every step)``: masks recomputed every step (the ramp phase, worst case);
- ``dns (masks only)``: masks applied in the forward pass, never updated (the overhead
  of the parametrization alone, as late in training).

Variants alternate within each repeat; reported is each variant's best images/s over the
repeats (the machine is shared: the best run is the least disturbed) and its ratio to
the best ``dense`` run of the same invocation.

Usage::

    python benchmarks/dns_throughput.py [--steps 300] [--repeats 3] [--data DIR] [--quick]

Writes ``benchmarks/results/dns_throughput.json`` and ``.md`` (``--quick``, a smoke
test, writes nothing).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
from pathlib import Path

import torch

from pacbits.codecs.presets import LENET5_DNS
from pacbits.core import default_registry
from pacbits.data import load_mnist
from pacbits.experiments.lenet5 import SCHEDULE
from pacbits.models import lenet5
from pacbits.train import batches, train

RESULTS = Path(__file__).parent / "results"
BATCH = SCHEDULE["dns"]["batch_size"]
WARMUP = 5
VARIANTS = ("dense", "dns (schedule)", "dns (update every step)", "dns (masks only)")


def pruner_config(variant: str, steps: int) -> dict | None:
    """The pruner of a variant: the preset's DNS scaled to ``steps``, with its own update probability."""
    if variant == "dense":
        return None
    scheduled = default_registry().create("pruner", LENET5_DNS).stretched(steps).get_config()
    prob = {"dns (schedule)": scheduled["prob"], "dns (update every step)": [[0, 1.0]],
            "dns (masks only)": [[0, 0.0]]}[variant]
    return {**scheduled, "prob": prob}


def measure(base: torch.nn.Module, data, variant: str, steps: int, seed: int) -> dict:
    """Seconds for ``steps`` training steps (after a short warm-up) and how many of them updated the masks."""
    model = copy.deepcopy(base)
    config = pruner_config(variant, steps)
    pruner = default_registry().create("pruner", config) if config else None
    updates, callbacks = [], []
    if pruner:
        pruner.attach(model)
        callbacks = [lambda t: updates.append(pruner.update(model, t))]
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loader = batches(data.train_x, data.train_y, BATCH, seed=seed)
    train(model, loader, opt, WARMUP, progress=False)  # warm-up: allocator, first-call costs
    updates.clear()
    seconds = train(model, loader, opt, steps, callbacks=callbacks, progress=False)["seconds"]
    return {"seconds": seconds, "images_per_s": steps * BATCH / seconds, "mask_updates": sum(updates)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", type=Path, default=None, help="folder of MNIST IDX files (default: the installed set)")
    ap.add_argument("--quick", action="store_true", help="30 steps, 1 repeat, write nothing")
    args = ap.parse_args()
    steps, repeats = (30, 1) if args.quick else (args.steps, args.repeats)
    data = load_mnist(args.data)
    torch.manual_seed(0)
    base = lenet5()
    runs = {v: [] for v in VARIANTS}
    for r in range(repeats):
        for v in VARIANTS:
            runs[v].append(measure(base, data, v, steps, seed=r))
            print(f"repeat {r + 1}/{repeats} {v:24s} {runs[v][-1]['images_per_s']:8.0f} images/s "
                  f"({runs[v][-1]['mask_updates']} mask updates)")
    best = {v: max(m["images_per_s"] for m in runs[v]) for v in VARIANTS}
    rows = [{"variant": v, "images_per_s": best[v], "ratio_to_dense": best[v] / best["dense"],
             "mask_updates": runs[v][0]["mask_updates"], "runs": runs[v]} for v in VARIANTS]
    result = {"command": "python benchmarks/dns_throughput.py" + (" --quick" if args.quick else
                                                                    f" --steps {steps} --repeats {repeats}"),
              "steps": steps, "repeats": repeats, "batch_size": BATCH, "rows": rows,
              "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "threads": torch.get_num_threads(),
                          "torch": torch.__version__, "load_average_end": os.getloadavg()[0]}}
    print(markdown(result))
    if not args.quick:
        (RESULTS / "dns_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "dns_throughput.md").write_text(markdown(result) + "\n")


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = ["# DNS training throughput", "",
             f"LeNet-5, batches of {result['batch_size']}, {result['steps']} steps a run, best of "
             f"{result['repeats']} alternating repeats. Command: `{result['command']}`.", "",
             "| variant | images/s | vs dense (same run) | steps that updated masks |", "|---|---:|---:|---:|"]
    for r in result["rows"]:
        updates = "–" if r["variant"] == "dense" else f"{r['mask_updates']} / {result['steps']}"
        lines.append(f"| {r['variant']} | {r['images_per_s']:,.0f} | {r['ratio_to_dense']:.2f}x | {updates} |")
    lines += ["", f"Machine: {m['platform']}, {m['cpus']} CPUs shared with other jobs (load average "
                  f"{m['load_average_end']:.1f} at the end), {m['threads']} torch threads, torch {m['torch']}."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
