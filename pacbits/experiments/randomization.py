"""Label randomization (paper §6, Figure 1, Theorem 6.1): networks that memorize need more bits.

On an MNIST training subset, the same LeNet-300-100 (same initialization) is fit
to labels of which a fraction is randomized; each fit is pruned (one-shot global
magnitude, from the dense fit) to each target sparsity and retrained for a fixed
number of steps; each pruned network is coded into a real bitstream (k-means
quantizer, then the coder) and its training accuracy is measured on the *decoded*
network. Per fraction we report the fewest bits whose decoded network keeps the
training accuracy at or above a threshold, and Theorem 6.1's lower bound on
``H(ĥ)`` from the dense fit's training and test errors (test labels randomized at
the same fraction: the distribution the training sample was drawn from).

The settings are :data:`SETTINGS`; ``--quick`` applies :data:`QUICK` on top.
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from pacbits.core import Codec, ConfigError, decompress, default_registry
from pacbits.core.bounds import entropy_lower_bound
from pacbits.evaluate import error_rate
from pacbits.experiments.labels import randomize_labels
from pacbits.experiments.randomization_report import markdown, plot
from pacbits.loading import device as as_device
from pacbits.loading import load_data
from pacbits.models import lenet300_100
from pacbits.train import batches, train

from .randomization_settings import QUICK, SEEDS, SETTINGS


def settings(quick: bool = False, overrides: dict | None = None) -> dict:
    """:data:`SETTINGS`, then :data:`QUICK` if ``quick``, then ``overrides`` (already checked values)."""
    unknown = set(overrides or {}) - set(SETTINGS)
    if unknown:
        raise ConfigError(f"unknown randomization settings {sorted(unknown)}; known: {sorted(SETTINGS)}")
    return {**SETTINGS, **(QUICK if quick else {}), **(overrides or {})}


def make_codec(s: dict) -> Codec:
    reg = default_registry()
    quantizer = (reg.create("quantizer", {"id": "kmeans", "bits": s["kmeans_bits"], "dtype": "float16",
                                          "targets": "floating"}) if s["kmeans_bits"] else None)
    return Codec(reg.create("coder", s["coder"]), quantizer=quantizer, targets="floating", id="randomization")


def fit(model: torch.nn.Module, x, y, steps: int, s: dict, seed: int, tick) -> None:
    """Adam at ``lr``, then ``final_lr`` for the last quarter; ``tick`` runs once a step."""
    opt = torch.optim.Adam(model.parameters(), lr=s["lr"])
    drop = (3 * steps) // 4
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 if t < drop else s["final_lr"] / s["lr"])
    train(model, batches(x, y, s["batch_size"], seed=seed), opt, steps, scheduler=schedule, callbacks=[tick],
          progress=False)


def prune(dense: dict, sparsity: float, x, y, s: dict, seed: int, tick, device="cpu") -> torch.nn.Module:
    """Keep the largest ``1 - sparsity`` of all weights of the dense fit, then retrain; plain parameters."""
    model = lenet300_100()
    model.load_state_dict(dense)
    model.to(device)
    if sparsity > 0:
        pruner = default_registry().create("pruner", {"id": "magnitude", "density": 1.0 - sparsity,
                                                      "scope": "global"})
        pruner.attach(model)
        pruner.update(model, 0)
        fit(model, x, y, s["retrain_steps"], s, seed, tick)
        pruner.detach(model)
    return model


def measure(model: torch.nn.Module, codec: Codec, x, y) -> dict:
    """Training accuracy of the model and of its decoded bitstream, the bitstream's bits, the density."""
    state = {k: v.cpu() for k, v in model.state_dict().items()}
    packed = codec.compress(state)
    decoded = lenet300_100()
    decoded.load_state_dict(decompress(packed.data))
    decoded.to(next(model.parameters()).device)
    weights = [w for w in state.values() if w.dim() >= 2]
    return {"density": sum(int((w != 0).sum()) for w in weights) / sum(w.numel() for w in weights),
            "train_accuracy": 1.0 - error_rate(model, x, y),
            "coded_train_accuracy": 1.0 - error_rate(decoded, x, y),
            "bits": packed.report.total_bits}


def level(fraction: float, data, s: dict, seed: int, codec: Codec, bar, device="cpu") -> dict:
    """One randomization level: dense fit, its errors and Theorem 6.1, then every sparsity."""
    n = s["train_size"]
    x = data.train_x[:n]
    y = randomize_labels(data.train_y[:n], fraction, 10, seed + SEEDS["labels"])
    test_y = randomize_labels(data.test_y, fraction, 10, seed + SEEDS["test_labels"])
    tick = lambda _: bar.update()
    torch.manual_seed(seed + SEEDS["init"])
    model = lenet300_100().to(device)
    bar.set_description(f"fit {fraction:.0%} random")
    start = time.perf_counter()
    fit(model, x, y, s["steps"], s, seed + SEEDS["fit"], tick)
    fit_seconds = time.perf_counter() - start
    train_error = error_rate(model, x, y)
    test_error = error_rate(model, data.test_x, test_y)
    dense = model.state_dict()
    pruned = []
    start = time.perf_counter()
    for sparsity in s["sparsities"]:
        bar.set_description(f"{fraction:.0%} random, prune {sparsity:.1%}")
        net = prune(dense, sparsity, x, y, s, seed + SEEDS["retrain"], tick, device)
        pruned.append({"sparsity": sparsity, **measure(net, codec, x, y)})
    kept = [p for p in pruned if p["coded_train_accuracy"] >= s["threshold"]]
    return {"fraction": fraction, "train_error": train_error, "test_error": test_error,
            "clean_test_error": error_rate(model, data.test_x, data.test_y),
            "entropy_lower_bound": entropy_lower_bound(train_error, test_error, n).to_dict(),
            "needed": min(kept, key=lambda p: p["bits"]) if kept else None, "pruned": pruned,
            "fit_seconds": round(fit_seconds, 1), "prune_seconds": round(time.perf_counter() - start, 1)}


def experiment(s: dict, data, seed: int, codec: Codec, device="cpu") -> dict:
    """Every randomization level under settings ``s``; the JSON-safe result."""
    pruning = sum(1 for v in s["sparsities"] if v > 0)
    total = len(s["fractions"]) * (s["steps"] + pruning * s["retrain_steps"])
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(s["threads"])
    try:
        with tqdm(total=total, unit="step", mininterval=1.0) as bar:
            levels = [level(f, data, s, seed, codec, bar, device) for f in s["fractions"]]
    finally:
        torch.set_num_threads(threads)
    return {"settings": s, "seed": seed, "n": s["train_size"], "codec": codec.spec().to_dict(),
            "data": data.source, "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "wall_seconds": round(time.perf_counter() - start, 1), "levels": levels}


def reproduce(s: dict, out: Path, data_ref: str | Path | None = None, seed: int = 0, command: str = "",
              device: str = "cpu") -> dict:
    """Run the experiment; write ``randomization.json``, ``randomization.md`` and the plots to ``out``; the result."""
    codec = make_codec(s)
    data = load_data(data_ref)
    if s["train_size"] > len(data.train_y):
        raise ConfigError(f"train_size {s['train_size']} exceeds the {len(data.train_y)} training examples")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = experiment(s, data, seed, codec, as_device(device))
    result["command"] = command
    (out / "randomization.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "randomization.md").write_text(markdown(result))
    plot(result, out)
    return result
