"""``pacbits bench``: every codec applied to one trained network, ranked by the bound it certifies.

The network is any model (a registered id or ``module:factory``) with its trained
weights, on any data set (:mod:`pacbits.loading`); by default the LeNet-5 of
``pacbits reproduce lenet5`` on MNIST.

The candidates (:mod:`.bench_codecs`) are every registered codec preset, third-party ones
from entry points included, and every combination a ``--config`` file lists. Each codes
the same model: one-shot pruners run, training-time pruners take the model's zeros.
Per codec: the exact bits by part, the decoded network's errors, and the Occam
(Theorem 4.1) and noise-robust (Theorem 4.3) bounds of ``reproduce lenet5``
(:func:`pacbits.certification.certified_bounds`). The σ search and the Monte Carlo draws
(:func:`~pacbits.experiments.lenet5.noise`) run once per distinct decoded network, keyed by
a hash of its state_dict and cached under ``--out``: codecs that decode to the same network
share σ and draws, and a rerun resumes.

Given bitstreams (``--stream``, :mod:`.bench_streams`), subspace ones included, are
candidates too: bits ``8·len(file)``, the network decoded from them. An identity stream goes
through the same noise path; a subspace stream gets the Occam bound only, at the Occam
share ``1 − δ/2`` of the codec rows (its σ would live on the coded coordinates w, not on
the decoded tensors the per-network σ search perturbs).

Choosing the best of the K candidates (codecs and streams) after seeing their bounds is
paid by a union bound: ``ln K`` nats added to every KL (one prior mixing the K
candidates' priors), and the Monte Carlo confidence δ′ split over the D distinct networks
whose draws were looked at. Then every row's ``best_of_k_bound`` holds simultaneously, at
the same confidence, and the smallest may be reported.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from pacbits.certification import certified_bounds
from pacbits.core import CodecReport, ConfigError, EncodeError, PacbitsError, PluginError, decompress, default_registry
from pacbits.core.bounds import BoundReport, pac_bayes_report
from pacbits.evaluate import error_rate
from pacbits.loading import device as as_device
from pacbits.loading import load_data, load_model, load_weights

from . import lenet5 as pipeline
from .bench_codecs import Candidate, candidates
from .bench_report import PARTS, write
from .bench_streams import Stream, load_streams

DEFAULT_MODEL = "lenet5"
DEFAULT_WEIGHTS = Path("out/lenet5/quantized.pt")  # `pacbits reproduce lenet5 [--quick]`
QUICK_WEIGHTS = Path("out/lenet5-quick/quantized.pt")  # `make run`, used when the former is missing
BATCH = pipeline.SCHEDULE["noise"]["batch_size"]


@dataclass
class Bench:
    """One leaderboard run: the network (``model`` with ``weights``), the data, the candidates (codecs and
    ``streams``, with the transfer priors they name), the noise effort."""

    out: Path
    model: str = DEFAULT_MODEL
    weights: Path = DEFAULT_WEIGHTS
    data: str | Path | None = None
    codecs: list[str] | None = None
    config: Path | None = None
    thorough: bool = False
    passes: int | None = None
    train_examples: int | None = None
    seed: int = 0
    device: str = "cpu"
    command: str = ""
    streams: list[Path] = dataclasses.field(default_factory=list)
    stream_priors: list[Path] = dataclasses.field(default_factory=list)

    def __post_init__(self):
        self.out, self.weights = Path(self.out), Path(self.weights)
        if self.passes is None:
            self.passes = pipeline.SCHEDULE["noise"]["passes"] if self.thorough else pipeline.QUICK["passes"]
        if self.passes < 1:
            raise ConfigError(f"--passes must be >= 1, got {self.passes}")
        n = self.train_examples
        if n is not None and (n < BATCH or n % BATCH):
            raise ConfigError(f"--train-examples must be a positive multiple of {BATCH} (the Monte Carlo "
                              f"mini-batch), got {n}")


def run(b: Bench) -> tuple[list[dict], dict, list[Path]]:
    """Rank every candidate codec on the network; write ``leaderboard.{json,md,png}``; rows, summary, paths."""
    start = time.perf_counter()
    only_streams = bool(b.streams) and (b.codecs == [] and not b.config or default_missing(b.weights))
    if only_streams and b.codecs != []:
        print(f"bench: no trained model at {b.weights}: ranking the --stream bitstreams alone", file=sys.stderr)
    plan = [] if only_streams else candidates(default_registry(), b.codecs, b.config)
    model = network_from(b.model, b.weights) if plan else None
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()} if plan else {}
    data = training_subset(load_data(b.data), b.train_examples)
    streams = load_streams(b.streams, b.stream_priors, b.model, data.name)
    settings = {"data": data.source, "train_examples": len(data.train_y), "quick": not b.thorough,
                "passes": b.passes, "seed": b.seed, "noise": pipeline.SCHEDULE["noise"],
                "quick_noise": {k: pipeline.QUICK[k] for k in ("search_examples", "search_steps")}}
    b.out.mkdir(parents=True, exist_ok=True)
    rows, reports = bench(plan, model, state, data, settings, b.out / "networks", as_device(b.device), streams)
    summary = pay_for_choice(rows, reports)
    summary.update(command=b.command, model=b.model, weights=str(b.weights) if plan else None, n=len(data.train_y),
                   n_test=len(data.test_y), wall_seconds=round(time.perf_counter() - start, 1), cpus=os.cpu_count(),
                   threads=torch.get_num_threads())
    return rows, summary, write(rows, summary, b.out)


def network_from(model: str, weights: Path) -> torch.nn.Module:
    """The model ``model`` (an id or module:factory) holding the state_dict at ``weights``."""
    if Path(model).is_file():
        raise ConfigError(f"--model names the network (a model id or module:factory), not a file; "
                          f"pass the state_dict {model} with --weights")
    if weights == DEFAULT_WEIGHTS and not weights.exists() and QUICK_WEIGHTS.exists():
        weights = QUICK_WEIGHTS
    if default_missing(weights):
        raise ConfigError(f"no trained model at {weights}: make it with `pacbits reproduce lenet5 --quick` "
                          "(a few minutes; without --quick, the paper's schedule) or pass --weights STATE_DICT.pt")
    return load_weights(load_model(model), weights, f"model {model!r}")


def default_missing(weights: Path) -> bool:
    """Whether ``weights`` is the default model and neither it nor ``make run``'s quick one exists."""
    return weights == DEFAULT_WEIGHTS and not weights.exists() and not QUICK_WEIGHTS.exists()


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


def bench(plan: list[Candidate], model: torch.nn.Module | None, state: dict, data, settings: dict, cache: Path,
          device: torch.device = torch.device("cpu"), streams: list[Stream] = ()) -> tuple[list[dict], dict]:
    """A row per codec and per stream, and each coded row's bounds (``lenet5.bounds``) and network by row name.

    A network's errors, σ and draws are cached in ``cache``, in a folder named by the hash of its weights and
    of ``settings`` (data, noise schedule, seed): a rerun with the same settings resumes.
    """
    networks, rows, reports = {}, [], {}
    n = len(data.train_y)
    bar = tqdm(plan + list(streams), desc="candidates", unit="row")
    for cand in bar:
        if isinstance(cand, Stream):
            bar.set_postfix_str(cand.label)
            rows.append(stream_row(cand, data, settings, cache, device, networks, reports))
            continue
        bar.set_postfix_str(cand.spec.id)
        try:
            packed = cand.codec.compress(state)
        except (EncodeError, PluginError) as e:
            tqdm.write(f"{cand.spec.id}: cannot code this model: {e}", file=sys.stderr)
            rows.append(failed(cand, e))
            continue
        decoded = copy.deepcopy(model).cpu()
        decoded.load_state_dict(decompress(packed.data))
        key, net = evaluated(decoded, data, settings, cache, device, networks, noisy=True)
        b = pipeline.bounds(packed.report, net["sigma"], net["train_error"], net["train_error_draws"], n)
        reports[cand.spec.id] = b, net
        exact = all(torch.equal(v.cpu(), state[k]) for k, v in decoded.state_dict().items())
        rows.append({"codec": cand.spec.id, "source": cand.source, "spec": cand.spec.to_dict(),
                     **row(packed.report, decoded, key, exact, net, b)})
    return rows, reports


def evaluated(decoded: torch.nn.Module, data, settings: dict, cache: Path, device: torch.device, networks: dict,
              noisy: bool) -> tuple[str, dict]:
    """The hash of ``decoded``'s weights and its :func:`network` figures, computed once per hash (``networks``)."""
    key = digest(decoded.state_dict())
    decoded.to(device)
    if key not in networks or noisy and "sigma" not in networks[key]:
        run = pipeline.Run(cache / digest(decoded.state_dict(), settings), "bench", settings["quick"],
                           settings["seed"], settings["passes"], device=str(device))
        networks[key] = network(decoded, data, run, noisy)
    return key, networks[key]


def stream_row(s: Stream, data, settings: dict, cache: Path, device: torch.device, networks: dict,
               reports: dict) -> dict:
    """A ``--stream``'s row: the noise path for an identity stream, the Occam bound alone for a subspace one."""
    decoded = copy.deepcopy(s.model).cpu()
    key, net = evaluated(decoded, data, settings, cache, device, networks, noisy=s.param is None)
    n = len(data.train_y)
    if s.param is None:
        b = pipeline.bounds(s.report, net["sigma"], net["train_error"], net["train_error_draws"], n)
    else:
        half = 1 - (1 - pipeline.SCHEDULE["bound"]["confidence"]) / 2  # the Occam share of the codec rows' bounds
        b = certified_bounds(s.report, None, net["train_error"], None, n, confidence=half)
        net = {"train_error": net["train_error"], "test_error": net["test_error"]}
    reports[s.label] = b, net
    return {"codec": s.label, "source": "stream", "spec": s.spec, "prior": s.prior,
            **row(s.report, decoded, key, None, net, b)}


def network(decoded: torch.nn.Module, data, run: pipeline.Run, noisy: bool = True) -> dict:
    """A decoded network's exact train and test errors and, if ``noisy``, σ and per-draw stochastic errors;
    cached in ``run.out``."""
    run.out.mkdir(parents=True, exist_ok=True)
    path = run.out / "errors.json"
    if path.exists():
        errors = json.loads(path.read_text())
    else:
        errors = {"train_error": error_rate(decoded, data.train_x, data.train_y),
                  "test_error": error_rate(decoded, data.test_x, data.test_y)}
        path.write_text(json.dumps(errors, indent=2) + "\n")
    return {**errors, **pipeline.noise(run, decoded, data)} if noisy else errors


def row(report: CodecReport, decoded: torch.nn.Module, key: str, exact: bool | None, net: dict, b: dict) -> dict:
    """A coded row's figures; without a noise-robust bound (``b["robust"]`` None) its noisy fields are None."""
    weights = [w for w in decoded.state_dict().values() if w.dim() >= 2]
    parts = report.total.to_dict()
    robust, draws = b["robust"], net.get("train_error_draws")
    effective = robust.kl.bits if robust else None
    return {
        "network": key, "exact": exact,
        "density": sum(int((w != 0).sum()) for w in weights) / sum(w.numel() for w in weights),
        "bits": {p: parts[p] for p in PARTS}, "total_bits": report.total_bits,
        "robustness_adjustment_bits": report.total_bits - effective if robust else None, "effective_bits": effective,
        "test_error": net["test_error"], "train_error": net["train_error"],
        "stochastic_train_error": float(np.mean(draws)) if robust else None,
        "monte_carlo_draws": len(draws) if robust else 0, "sigma": net.get("sigma"),
        "occam_bound": b["occam"].bound, "noise_robust_bound": robust.bound if robust else None,
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
    k, d = len(coded), len({r["network"] for r in coded if r["monte_carlo_draws"]})
    for r in coded:
        b, net = reports[r["codec"]]
        bounds = [union_bound(b["occam"], {"top-1": net["train_error"]}, k, max(d, 1))]
        if b["robust"] is not None:
            bounds.append(union_bound(b["robust"], {"top-1": np.asarray(net["train_error_draws"])}, k, d))
        r.update(best_of_k_bound=min(bounds), k=k, union_cost_nats=math.log(k))
    rows.sort(key=lambda r: (r["bound"] is None, r.get("best_of_k_bound", 0.0), r["codec"]))
    for i, r in enumerate(rows[:k], 1):
        r.update(rank=i, best=i == 1)
    confidence = pipeline.SCHEDULE["bound"]["confidence"]
    streams = sum(r["source"] == "stream" for r in coded)
    mc = f"the Monte Carlo confidence is split over the {d} distinct decoded networks with draws" if d else \
        "no Monte Carlo draws were looked at"
    return {"k": k, "networks": d, "union_cost_nats": math.log(k), "best": rows[0]["codec"],
            "best_bound": rows[0]["best_of_k_bound"],
            "statement": f"Choosing the best of K = {k} candidates ({k - streams} codecs, {streams} streams) costs "
                         f"ln K = {math.log(k):.3f} nats in every KL, and {mc}; then all K best-of-K bounds hold "
                         f"together with probability >= {confidence:g}, so the smallest may be reported."}


def union_bound(rep: BoundReport, errors: dict, k: int, networks: int) -> float:
    """``rep``'s bound with ``ln k`` added to its KL and its Monte Carlo confidence split over ``networks``."""
    mc = rep.monte_carlo_delta / networks
    delta = rep.pac_bayes_delta + mc
    return pac_bayes_report(rep.kl.union(f"best of {k} codecs", k), rep.n, errors, confidence=1 - delta,
                            forms=rep.forms, alpha=rep.alpha, **({"mc_share": mc / delta} if mc else {})).bound
