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
import re
import time

import torch
from tqdm.auto import tqdm

from pacbits.core import Codec, ConfigError, decompress, default_registry, reparam
from pacbits.core.bounds import entropy_lower_bound
from pacbits.data import load_mnist
from pacbits.evaluate import error_rate
from pacbits.experiments.labels import randomize_labels
from pacbits.experiments.randomization_report import markdown, plot
from pacbits.models import lenet300_100
from pacbits.train import batches, train
from pacbits.cli._common import print_json  # the one JSON document on stdout

SETTINGS = {
    "train_size": 8000,  # first examples of the MNIST training set
    "fractions": [0.0, 0.25, 0.5, 0.75, 1.0],
    "sparsities": [0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995],
    "steps": 8000,  # dense fit: Adam, batch 128
    "retrain_steps": 1000,  # after pruning, per sparsity level
    "batch_size": 128,
    "lr": 1e-3,
    "final_lr": 1e-4,  # for the last quarter of every fit and retraining
    "threshold": 0.95,  # training accuracy the coded network must keep
    "kmeans_bits": 5,  # 31 centers + exact zero per tensor, float16 codebook; 0: the exact float32 values
    "coder": "csr-arithmetic",
    "threads": 1,
}
QUICK = {"train_size": 1000, "steps": 1500, "retrain_steps": 200,
         "sparsities": [0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99]}
#: seed offsets: the same initialization for every fraction, a different stream for each use
SEEDS = {"init": 0, "labels": 1, "test_labels": 2, "fit": 3, "retrain": 4}


def _number(flag: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{flag} must be a number, got {text!r}") from None


def _integer(minimum: int, maximum: int | None = None):
    bounds = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"

    def parse(flag: str, text: str) -> int:
        value = int(text) if re.fullmatch(r"\s*[0-9]+\s*", text) else None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            raise ConfigError(f"{flag} must be an integer {bounds}, got {text!r}")
        return value
    return parse


def _unit_list(top_open: bool):
    """Comma-separated distinct values in [0, 1] (or [0, 1)), sorted."""
    def parse(flag: str, text: str) -> list[float]:
        values = [_number(flag, v) for v in text.split(",")]
        for v in values:
            if not (0.0 <= v < 1.0 if top_open else 0.0 <= v <= 1.0):
                raise ConfigError(f"{flag}: {v:g} is not in [0, {'1)' if top_open else '1]'}")
        if len(set(values)) != len(values):
            raise ConfigError(f"{flag} lists a value twice: {text}")
        return sorted(values)
    return parse


def _threshold(flag: str, text: str) -> float:
    v = _number(flag, text)
    if not 0.0 < v <= 1.0:
        raise ConfigError(f"{flag} must be in (0, 1], got {text}")
    return v


OPTIONS = {  # option -> (setting, parser(flag, text), help)
    "--train-size": ("train_size", _integer(1), "training examples used (the first N of MNIST's training set)"),
    "--fractions": ("fractions", _unit_list(top_open=False), "comma-separated fractions of labels randomized, in [0, 1]"),
    "--sparsities": ("sparsities", _unit_list(top_open=True), "comma-separated target sparsities, in [0, 1)"),
    "--steps": ("steps", _integer(1), "optimizer steps of each dense fit"),
    "--retrain-steps": ("retrain_steps", _integer(0), "optimizer steps of retraining after each pruning"),
    "--threshold": ("threshold", _threshold, "training accuracy the coded network must keep, in (0, 1]"),
    "--kmeans-bits": ("kmeans_bits", _integer(0, 16), "k-means bits per weight (0: no quantizer, exact values)"),
    "--coder": ("coder", lambda flag, text: text, "coder id"),
    "--threads": ("threads", _integer(1), "torch CPU threads"),
}


def add_arguments(p) -> None:
    p.add_argument("--quick", action="store_true", help="small subset and few steps: a few minutes")
    show = lambda v: ",".join(f"{x:g}" for x in v) if isinstance(v, list) else str(v)
    for flag, (key, _, text) in OPTIONS.items():
        default = show(SETTINGS[key]) + (f", --quick {show(QUICK[key])}" if key in QUICK else "")
        p.add_argument(flag, dest=key, help=f"{text} (default {default})")


def settings(args) -> dict:
    """:data:`SETTINGS`, then :data:`QUICK` if ``--quick``, then the options given; checked."""
    s = {**SETTINGS, **(QUICK if args.quick else {})}
    for flag, (key, parse, _) in OPTIONS.items():
        if getattr(args, key) is not None:
            s[key] = parse(flag, getattr(args, key))
    return s


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


def prune(dense: dict, sparsity: float, x, y, s: dict, seed: int, tick) -> torch.nn.Module:
    """Keep the largest ``1 - sparsity`` of all weights of the dense fit, then retrain; plain parameters."""
    model = lenet300_100()
    model.load_state_dict(dense)
    if sparsity > 0:
        pruner = default_registry().create("pruner", {"id": "magnitude", "density": 1.0 - sparsity,
                                                      "scope": "global"})
        pruner.attach(model)
        pruner.update(model, 0)
        fit(model, x, y, s["retrain_steps"], s, seed, tick)
        reparam.detach(model)
    return model


def measure(model: torch.nn.Module, codec: Codec, x, y) -> dict:
    """Training accuracy of the model and of its decoded bitstream, the bitstream's bits, the density."""
    packed = codec.compress(model.state_dict())
    decoded = lenet300_100()
    decoded.load_state_dict(decompress(packed.data))
    weights = [w for w in model.state_dict().values() if w.dim() >= 2]
    return {"density": sum(int((w != 0).sum()) for w in weights) / sum(w.numel() for w in weights),
            "train_accuracy": 1.0 - error_rate(model, x, y),
            "coded_train_accuracy": 1.0 - error_rate(decoded, x, y),
            "bits": packed.report.total_bits}


def level(fraction: float, data, s: dict, seed: int, codec: Codec, bar) -> dict:
    """One randomization level: dense fit, its errors and Theorem 6.1, then every sparsity."""
    n = s["train_size"]
    x = data.train_x[:n]
    y = randomize_labels(data.train_y[:n], fraction, 10, seed + SEEDS["labels"])
    test_y = randomize_labels(data.test_y, fraction, 10, seed + SEEDS["test_labels"])
    tick = lambda _: bar.update()
    torch.manual_seed(seed + SEEDS["init"])
    model = lenet300_100()
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
        net = prune(dense, sparsity, x, y, s, seed + SEEDS["retrain"], tick)
        pruned.append({"sparsity": sparsity, **measure(net, codec, x, y)})
    kept = [p for p in pruned if p["coded_train_accuracy"] >= s["threshold"]]
    return {"fraction": fraction, "train_error": train_error, "test_error": test_error,
            "clean_test_error": error_rate(model, data.test_x, data.test_y),
            "entropy_lower_bound": entropy_lower_bound(train_error, test_error, n).to_dict(),
            "needed": min(kept, key=lambda p: p["bits"]) if kept else None, "pruned": pruned,
            "fit_seconds": round(fit_seconds, 1), "prune_seconds": round(time.perf_counter() - start, 1)}


def experiment(s: dict, data, seed: int, codec: Codec) -> dict:
    """Every randomization level under settings ``s``; the JSON-safe result."""
    pruning = sum(1 for v in s["sparsities"] if v > 0)
    total = len(s["fractions"]) * (s["steps"] + pruning * s["retrain_steps"])
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(s["threads"])
    try:
        with tqdm(total=total, unit="step", mininterval=1.0) as bar:
            levels = [level(f, data, s, seed, codec, bar) for f in s["fractions"]]
    finally:
        torch.set_num_threads(threads)
    return {"settings": s, "seed": seed, "n": s["train_size"], "codec": codec.spec().to_dict(),
            "data": data.source, "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "wall_seconds": round(time.perf_counter() - start, 1), "levels": levels}


def run(args) -> int:
    s = settings(args)
    codec = make_codec(s)
    data = load_mnist(args.data)
    if s["train_size"] > len(data.train_y):
        raise ConfigError(f"--train-size {s['train_size']} exceeds the {len(data.train_y)} training examples")
    args.out.mkdir(parents=True, exist_ok=True)
    result = experiment(s, data, args.seed, codec)
    result["command"] = command(args)
    (args.out / "randomization.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    (args.out / "randomization.md").write_text(table)
    plot(result, args.out)
    print_json(result) if args.json else print(table)
    return 0


def command(args) -> str:
    """The command line that reproduces this run (the options given, in their order)."""
    parts = ["pacbits reproduce randomization"] + (["--quick"] if args.quick else [])
    parts += [f"{flag} {getattr(args, key)}" for flag, (key, _, _) in OPTIONS.items() if getattr(args, key) is not None]
    parts += [f"--data {args.data}"] if args.data is not None else []
    return " ".join(parts + [f"--seed {args.seed}", f"--out {args.out}"])
