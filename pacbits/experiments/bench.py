"""``pacbits bench``: every codec applied to one trained LeNet-5, ranked by the bound it certifies.

The candidates (:mod:`.bench_codecs`) are every registered codec preset, third-party ones
from entry points included, and every combination a ``--config`` file lists. Each codes
the same model: one-shot pruners run, training-time pruners take the model's zeros.
Per codec: the exact bits by part, the decoded network's errors, and the Occam
(Theorem 4.1) and noise-robust (Theorem 4.3) bounds of ``reproduce lenet5``
(:func:`pacbits.experiments.lenet5.bounds`). The σ search and the Monte Carlo draws
(:func:`~pacbits.experiments.lenet5.noise`) run once per distinct decoded network, keyed by
a hash of its state_dict and cached under ``--out``: codecs that decode to the same network
share σ and draws, and a rerun resumes.

Choosing the best of the K codecs after seeing their bounds is paid by a union bound:
``ln K`` nats added to every KL (one prior mixing the K codecs' priors), and the Monte
Carlo confidence δ′ split over the D distinct networks whose draws were looked at. Then
every row's ``best_of_k_bound`` holds simultaneously, at the same confidence, and the
smallest may be reported.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from pacbits.cli._common import load_state_dict
from pacbits.core import CodecReport, ConfigError, EncodeError, PacbitsError, PluginError, decompress, default_registry
from pacbits.core.bounds import BoundReport, pac_bayes_report
from pacbits.data import load_mnist
from pacbits.evaluate import error_rate
from pacbits.models import lenet5
from pacbits.cli._common import print_json  # the one JSON document on stdout

from . import lenet5 as pipeline
from .bench_codecs import Candidate, candidates
from .bench_report import PARTS, markdown, write

DEFAULT_MODEL = Path("out/lenet5/quantized.pt")
BATCH = pipeline.SCHEDULE["noise"]["batch_size"]


def add_arguments(p) -> None:
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                   help=f"LeNet-5 state_dict to compress (default {DEFAULT_MODEL}: the pruned and quantized "
                        "network of `pacbits reproduce lenet5`)")
    p.add_argument("--codecs", nargs="*", metavar="ID",
                   help="registered presets to run (default: every one; an empty list runs only --config's)")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="JSON file of pruners, quantizers and coders: every combination is run too (docs/bench.md)")
    p.add_argument("--thorough", action="store_true",
                   help="sigma search and Monte Carlo passes of `reproduce lenet5` without --quick "
                        "(default: its --quick settings)")
    p.add_argument("--passes", type=int, help="noisy passes over the training set for the Monte Carlo error "
                                              f"(default {pipeline.QUICK['passes']}, --thorough "
                                              f"{pipeline.SCHEDULE['noise']['passes']})")
    p.add_argument("--train-examples", type=int, metavar="N",
                   help=f"use the first N training examples only (a multiple of {BATCH})")


def run(args) -> int:
    start = time.perf_counter()
    passes = args.passes or (pipeline.SCHEDULE["noise"]["passes"] if args.thorough else pipeline.QUICK["passes"])
    if passes < 1:
        raise ConfigError(f"--passes must be >= 1, got {passes}")
    if args.train_examples is not None and (args.train_examples < BATCH or args.train_examples % BATCH):
        raise ConfigError(f"--train-examples must be a positive multiple of {BATCH} (the Monte Carlo "
                          f"mini-batch), got {args.train_examples}")
    plan = candidates(default_registry(), args.codecs, args.config)
    state = load_model(args.model)
    data = training_subset(load_mnist(args.data), args.train_examples)
    settings = {"data": data.source, "train_examples": len(data.train_y), "quick": not args.thorough,
                "passes": passes, "seed": args.seed, "noise": pipeline.SCHEDULE["noise"],
                "quick_noise": {k: pipeline.QUICK[k] for k in ("search_examples", "search_steps")}}
    args.out.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        rows, reports = bench(plan, state, data, settings, args.out / "networks")
    summary = pay_for_choice(rows, reports)
    summary.update(command=command(args), model=str(args.model), n=len(data.train_y), n_test=len(data.test_y),
                   wall_seconds=round(time.perf_counter() - start, 1), cpus=os.cpu_count(),
                   threads=torch.get_num_threads())
    paths = write(rows, summary, args.out)
    if args.json:
        print_json(rows)
        return 0
    print(markdown(rows, summary))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def load_model(path: Path) -> dict[str, torch.Tensor]:
    """A LeNet-5 state_dict from ``path``; ConfigError saying what is wrong otherwise."""
    if path == DEFAULT_MODEL and not path.exists():
        raise ConfigError(f"no trained model at {path}: make it with `pacbits reproduce lenet5 --quick` "
                          "(a few minutes; without --quick, the paper's schedule) or pass --model STATE_DICT.pt")
    state = load_state_dict(path)
    try:
        lenet5().load_state_dict(state)
    except RuntimeError as e:
        raise ConfigError(f"{path}: not a LeNet-5 state_dict ({' '.join(str(e).split())})") from None
    return state


def training_subset(data, n: int | None):
    """``data`` with its first ``n`` training examples only; the count must split into Monte Carlo batches."""
    if n is not None:
        data = dataclasses.replace(data, train_x=data.train_x[:n], train_y=data.train_y[:n])
    if len(data.train_y) % BATCH:
        raise ConfigError(f"{data.source}: {len(data.train_y)} training examples do not split into Monte Carlo "
                          f"batches of {BATCH}; pass --train-examples N with N a multiple of {BATCH}")
    return data


def digest(state: dict[str, torch.Tensor], extra: dict | None = None) -> str:
    """SHA-256 (hex, 16 digits) of a state_dict's names, dtypes, shapes and bytes, and of ``extra`` as JSON."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}:".encode())
        h.update(t.numpy().tobytes())
    h.update(json.dumps(extra, sort_keys=True).encode())
    return h.hexdigest()[:16]


def bench(plan: list[Candidate], state: dict, data, settings: dict, cache: Path) -> tuple[list[dict], dict]:
    """A row per codec, and each coded row's bounds (``lenet5.bounds``) and network by codec id.

    A network's errors, σ and draws are cached in ``cache``, in a folder named by the hash of its weights and
    of ``settings`` (data, noise schedule, seed): a rerun with the same settings resumes.
    """
    networks, rows, reports = {}, [], {}
    n = len(data.train_y)
    bar = tqdm(plan, desc="codecs", unit="codec")
    for cand in bar:
        bar.set_postfix_str(cand.spec.id)
        try:
            packed = cand.codec.compress(state)
        except (EncodeError, PluginError) as e:
            tqdm.write(f"{cand.spec.id}: cannot code this model: {e}", file=sys.stderr)
            rows.append(failed(cand, e))
            continue
        decoded = lenet5()
        decoded.load_state_dict(decompress(packed.data))
        key = digest(decoded.state_dict())
        if key not in networks:
            run = pipeline.Run(cache / digest(decoded.state_dict(), settings), "bench", settings["quick"],
                               settings["seed"], settings["passes"])
            networks[key] = network(decoded, data, run)
        net = networks[key]
        b = pipeline.bounds(packed.report, net["sigma"], net["train_error"], net["train_error_draws"], n)
        reports[cand.spec.id] = b, net
        exact = all(torch.equal(v, state[k]) for k, v in decoded.state_dict().items())
        rows.append(row(cand, packed.report, decoded, key, exact, net, b))
    return rows, reports


def network(decoded: torch.nn.Module, data, run: pipeline.Run) -> dict:
    """A decoded network's exact train and test errors, σ and per-draw stochastic errors; cached in ``run.out``."""
    run.out.mkdir(parents=True, exist_ok=True)
    path = run.out / "errors.json"
    if path.exists():
        errors = json.loads(path.read_text())
    else:
        errors = {"train_error": error_rate(decoded, data.train_x, data.train_y),
                  "test_error": error_rate(decoded, data.test_x, data.test_y)}
        path.write_text(json.dumps(errors, indent=2) + "\n")
    return {**errors, **pipeline.noise(run, decoded, data)}


def row(cand: Candidate, report: CodecReport, decoded: torch.nn.Module, key: str, exact: bool, net: dict,
        b: dict) -> dict:
    weights = [w for w in decoded.state_dict().values() if w.dim() >= 2]
    parts = report.total.to_dict()
    effective = b["robust"].kl.bits
    return {
        "codec": cand.spec.id, "source": cand.source, "spec": cand.spec.to_dict(),
        "network": key, "exact": exact,
        "density": sum(int((w != 0).sum()) for w in weights) / sum(w.numel() for w in weights),
        "bits": {p: parts[p] for p in PARTS}, "total_bits": report.total_bits,
        "robustness_adjustment_bits": report.total_bits - effective, "effective_bits": effective,
        "test_error": net["test_error"], "train_error": net["train_error"],
        "stochastic_train_error": float(np.mean(net["train_error_draws"])),
        "monte_carlo_draws": len(net["train_error_draws"]), "sigma": net["sigma"],
        "occam_bound": b["occam"].bound, "noise_robust_bound": b["robust"].bound,
        "bound": b["bound"], "bound_reported": b["reported"],
    }


def failed(cand: Candidate, error: Exception) -> dict:
    return {"codec": cand.spec.id, "source": cand.source, "spec": cand.spec.to_dict(), "error": str(error),
            "total_bits": None, "effective_bits": None, "bound": None}


def pay_for_choice(rows: list[dict], reports: dict) -> dict:
    """Add each coded row's best-of-K bound and rank; sort ``rows`` in place (failed rows last). Returns a summary."""
    coded = [r for r in rows if r["bound"] is not None]
    if not coded:
        raise PacbitsError("no codec could code this model: " + "; ".join(f"{r['codec']}: {r['error']}" for r in rows))
    k, d = len(coded), len({r["network"] for r in coded})
    for r in coded:
        b, net = reports[r["codec"]]
        r["best_of_k_bound"] = min(union_bound(b["occam"], {"top-1": net["train_error"]}, k, d),
                                   union_bound(b["robust"], {"top-1": np.asarray(net["train_error_draws"])}, k, d))
        r.update(k=k, union_cost_nats=math.log(k))
    rows.sort(key=lambda r: (r["bound"] is None, r.get("best_of_k_bound", 0.0), r["codec"]))
    for i, r in enumerate(rows[:k], 1):
        r.update(rank=i, best=i == 1)
    confidence = pipeline.SCHEDULE["bound"]["confidence"]
    return {"k": k, "networks": d, "union_cost_nats": math.log(k), "best": rows[0]["codec"],
            "best_bound": rows[0]["best_of_k_bound"],
            "statement": f"Choosing the best of K = {k} codecs costs ln K = {math.log(k):.3f} nats in every "
                         f"KL, and the Monte Carlo confidence is split over the {d} distinct decoded networks; "
                         f"then all K best-of-K bounds hold together with probability >= {confidence:g}, "
                         "so the smallest may be reported."}


def union_bound(rep: BoundReport, errors: dict, k: int, networks: int) -> float:
    """``rep``'s bound with ``ln k`` added to its KL and its Monte Carlo confidence split over ``networks``."""
    mc = rep.monte_carlo_delta / networks
    delta = rep.pac_bayes_delta + mc
    return pac_bayes_report(rep.kl.union(f"best of {k} codecs", k), rep.n, errors, confidence=1 - delta,
                            forms=rep.forms, alpha=rep.alpha, **({"mc_share": mc / delta} if mc else {})).bound


def command(args) -> str:
    """The command line of this run."""
    parts = ["pacbits bench", f"--model {args.model}"]
    parts += [f"--codecs {' '.join(args.codecs)}".rstrip()] if args.codecs is not None else []
    parts += [f"--config {args.config}"] if args.config else []
    parts += ["--thorough"] if args.thorough else []
    parts += [f"--passes {args.passes}"] if args.passes else []
    parts += [f"--train-examples {args.train_examples}"] if args.train_examples else []
    parts += [f"--data {args.data}"] if args.data else []
    return " ".join(parts + [f"--seed {args.seed}", f"--out {args.out}"])
