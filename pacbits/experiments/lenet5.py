"""``pacbits reproduce lenet5``: the paper's headline experiment (Table 1, MNIST row).

Dense LeNet-5 -> Dynamic Network Surgery -> 4-bit k-means with fine-tuned centers
-> real bitstream (the codec preset's coder) -> per-tensor noise search -> Monte
Carlo stochastic training error -> Theorem 4.1 and 4.3 bounds, every cost paid.

The pruner, quantizer and coder come from a codec preset (default
``lenet5-paper``), so ``--codec`` swaps any stage: any pruner and quantizer that
implement :class:`~pacbits.core.TrainingTime` (attach / update / detach) run during
training; a one-shot-only one is refused before training starts. The training
schedule is :data:`SCHEDULE` (the paper's Appendix B.1 adapted to a 2-core CPU);
``quick`` scales it down to a few minutes. Each phase checkpoints under ``out``,
and a rerun resumes from the last finished phase. :func:`reproduce` returns a
:class:`Outcome`; the command line (:mod:`pacbits.cli.reproduce`) prints it.
"""
from __future__ import annotations

import copy
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from pacbits.certification import certified_bounds
from pacbits.core import Codec, CodecReport, ConfigError, decompress, default_registry, training_time
from pacbits.core.bounds import BoundReport
from pacbits.core.files import write_atomic
from pacbits.core.schedules import piecewise
from pacbits.evaluate import error_rate
from pacbits.loading import device as as_device
from pacbits.loading import load_data
from pacbits.models import lenet5
from pacbits.stochastic import batch_errors, kept_range, search_sigma
from pacbits.train import batches, train

from .lenet5_schedule import DEFAULT_CODEC, QUICK, SCHEDULE, SEEDS


@dataclass
class Run:
    """One run's settings and where it writes; ``passes=None``: the schedule's (``quick``'s) number."""

    out: Path
    codec_id: str = DEFAULT_CODEC
    quick: bool = False
    seed: int = 0
    passes: int | None = None
    step_override: tuple[int, int, int] | None = None
    data: str | Path | None = None
    device: str = "cpu"

    def __post_init__(self):
        self.out = Path(self.out)
        if self.passes is None:
            self.passes = QUICK["passes"] if self.quick else SCHEDULE["noise"]["passes"]
        if self.passes < 1:
            raise ConfigError(f"passes must be >= 1, got {self.passes}")

    def steps(self, phase: str) -> int:
        if self.step_override:
            return self.step_override[("baseline", "dns", "kmeans").index(phase)]
        return QUICK[phase] if self.quick else SCHEDULE[phase]["steps"]

    def settings(self) -> dict:
        return {"codec": self.codec_id, "quick": self.quick, "seed": self.seed, "passes": self.passes,
                "steps": [self.steps(p) for p in ("baseline", "dns", "kmeans")],
                "schedule": SCHEDULE,
                "quick_steps": QUICK if self.quick else None}


def parse_steps(text: str) -> tuple[int, int, int]:
    try:
        steps = tuple(int(v) for v in text.split(","))
    except ValueError:
        steps = ()
    if len(steps) != 3 or min(steps) < 1:
        raise ConfigError(f"--steps must be three positive integers B,P,F, got {text!r}")
    return steps


def note(message: str) -> None:
    """A status line, on stderr."""
    print(message, file=sys.stderr)


def train_baseline(data, steps: int, seed: int, device: torch.device | str = "cpu") -> torch.nn.Module:
    cfg = SCHEDULE["baseline"]
    torch.manual_seed(seed + SEEDS["init"])
    model = lenet5().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"])
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 / (1 + cfg["decay_rate"] * (t // cfg["decay_every"])))
    train(model, batches(data.train_x, data.train_y, cfg["batch_size"], seed=seed + SEEDS["baseline"]), opt, steps,
          scheduler=decay, desc="baseline")
    return model


def prune(model: torch.nn.Module, data, pruner, steps: int, seed: int) -> torch.nn.Module:
    """Prune in place with a training-time pruner (attach, update each step, detach); returns the plain model."""
    cfg = SCHEDULE["dns"]
    pruner = training_time(pruner, "reproduce lenet5")
    params = pruner.attach(model, steps)
    opt = torch.optim.SGD(model.parameters() if params is None else params, lr=1.0, momentum=cfg["momentum"],
                          weight_decay=cfg["weight_decay"])
    lr = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: piecewise(cfg["lr"], t * cfg["steps"] // steps))
    train(model, batches(data.train_x, data.train_y, cfg["batch_size"], seed=seed + SEEDS["dns"]), opt, steps,
          scheduler=lr, callbacks=[lambda t: pruner.update(model, t)], desc="prune")
    return pruner.detach(model)


def quantize(model: torch.nn.Module, data, quantizer, steps: int, seed: int) -> torch.nn.Module:
    """Quantize in place with a training-time quantizer and fine-tune what it returns (its centers); plain model out."""
    cfg = SCHEDULE["kmeans"]
    quantizer = training_time(quantizer, "reproduce lenet5")
    params = quantizer.attach(model, steps)
    params = list(model.parameters()) if params is None else list(params)
    if params:
        opt = torch.optim.Adam(params, lr=cfg["lr"])
        train(model, batches(data.train_x, data.train_y, cfg["batch_size"], seed=seed + SEEDS["kmeans"]), opt,
              steps, callbacks=[lambda t: quantizer.update(model, t)], desc="fine-tune centers")
    return quantizer.detach(model)


def checkpointed(run: Run, name: str, make) -> torch.nn.Module:
    """Load phase ``name`` from ``run.out`` if it finished before, else run ``make()`` and save a plain state_dict."""
    path = run.out / f"{name}.pt"
    model = lenet5()
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        note(f"{name}: resumed from {path}")
        return model.to(as_device(run.device))
    model.load_state_dict({k: v.cpu() for k, v in make().state_dict().items()})
    state = model.state_dict()
    write_atomic(path, lambda f: torch.save(state, f), force=True)  # an interrupted save leaves no half checkpoint
    return model.to(as_device(run.device))


def check_resumable(run: Run) -> None:
    """Refuse to mix checkpoints of runs with other settings in one folder."""
    path = run.out / "settings.json"
    settings = json.loads(json.dumps(run.settings()))
    if path.exists() and json.loads(path.read_text()) != settings:
        raise ConfigError(f"{run.out} holds checkpoints of a run with other settings (see {path}); "
                          "use another --out or delete the folder")
    path.write_text(json.dumps(settings, indent=2) + "\n")


def noise(run: Run, model: torch.nn.Module, data) -> dict:
    """Per-tensor sigma searched on a training subset; fresh per-draw training errors at that sigma."""
    path = run.out / "noise.json"
    if path.exists():
        note(f"noise: resumed from {path}")
        return json.loads(path.read_text())
    cfg = SCHEDULE["noise"]
    n = min(QUICK["search_examples"] if run.quick else cfg["search_examples"], len(data.train_y))
    steps = QUICK["search_steps"] if run.quick else cfg["search_steps"]
    start = time.perf_counter()
    sigma = search_sigma(model, data.train_x[:n], data.train_y[:n], tolerance=cfg["tolerance"], steps=steps,
                         seed=run.seed + SEEDS["search"])
    note(f"noise: sigma {', '.join(f'{k} {v:.3g}' for k, v in sigma.items())}; {run.passes} noisy passes")
    rates = batch_errors(model, data.train_x, data.train_y, sigma, batch_size=cfg["batch_size"], passes=run.passes,
                         seed=run.seed + SEEDS["draws"])
    state = model.state_dict()
    out = {"sigma": sigma, "relative_sigma": {k: s / kept_range(state[k]) for k, s in sigma.items()},
           "train_error_draws": rates.tolist(), "seconds": round(time.perf_counter() - start, 1)}
    path.write_text(json.dumps(out, indent=2) + "\n")
    return out


def bounds(report: CodecReport, sigma: dict, train_error: float, draws: list[float], n: int) -> dict:
    """:func:`pacbits.certification.certified_bounds` at this experiment's confidence and λ grid."""
    b = SCHEDULE["bound"]
    return certified_bounds(report, sigma, train_error, draws, n, confidence=b["confidence"], lambda_grid=b["lambda_grid"])


def table1(original_bits: int, compressed_bits: int, effective_bits: float, bound: float) -> str:
    """A row in the form of the paper's Table 1, beside the paper's MNIST row."""
    kib = lambda b: f"{b / 8192:.2f} KiB"
    head = ("", "original size", "compressed size", "robustness adj.", "effective size", "error bound (95%)")
    rows = [("paper (LeNet-5)", "1.64 MiB", "8.1 KiB", "1.88 KiB", "6.23 KiB", "< 46 %"),
            ("pacbits", kib(original_bits) if original_bits < 8 * 2**20 else f"{original_bits / 8 / 2**20:.2f} MiB",
             kib(compressed_bits), kib(compressed_bits - effective_bits), kib(effective_bits), f"{100 * bound:.2f} %")]
    w = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(n) for c, n in zip(r, w)) for r in (head, *rows))


@dataclass
class Outcome:
    """What :func:`reproduce` measured: ``result`` is ``report.json``; the reports print as tables."""

    result: dict
    codec_report: CodecReport
    robust: BoundReport
    paths: list[Path] = field(default_factory=list)

    def table1(self) -> str:
        r = self.result
        return table1(r["original_bits"], r["compressed_bits"], r["effective_bits"], r["bound"])


def reproduce(run: Run) -> Outcome:
    """Train, prune, quantize, code, search the noise, bound; write checkpoints, ``report.json`` and the bitstream."""
    spec = default_registry().get("codec", run.codec_id)
    reg = default_registry()
    pruner = training_time(reg.create("pruner", spec.pruner), "reproduce lenet5") if spec.pruner else None
    quantizer = training_time(reg.create("quantizer", spec.quantizer), "reproduce lenet5") if spec.quantizer else None
    run.out.mkdir(parents=True, exist_ok=True)
    check_resumable(run)
    data = load_data(run.data)
    dev = as_device(run.device)
    start = time.perf_counter()

    dense = checkpointed(run, "baseline", lambda: train_baseline(data, run.steps("baseline"), run.seed, dev))
    pruned = dense if pruner is None else checkpointed(
        run, "pruned", lambda: prune(copy.deepcopy(dense), data, pruner, run.steps("dns"), run.seed))
    model = pruned if quantizer is None else checkpointed(
        run, "quantized", lambda: quantize(copy.deepcopy(pruned), data, quantizer, run.steps("kmeans"), run.seed))

    codec = Codec.from_spec(spec)
    state = {k: v.cpu() for k, v in model.state_dict().items()}
    packed = codec.compress(state)
    bitstream = run.out / "lenet5.pbits"
    write_atomic(bitstream, packed.data, force=True)
    decoded = lenet5()
    decoded.load_state_dict(decompress(bitstream.read_bytes()))
    if not all(torch.equal(decoded.state_dict()[k], state[k]) for k in state):
        raise ConfigError(f"codec {run.codec_id!r} did not code the evaluated network exactly "
                          "(its quantizer changed already-quantized weights)")
    decoded.to(dev)

    errors = {"baseline_test_error": error_rate(dense, data.test_x, data.test_y),
              "pruned_test_error": error_rate(pruned, data.test_x, data.test_y),
              "train_error": error_rate(decoded, data.train_x, data.train_y),
              "test_error": error_rate(decoded, data.test_x, data.test_y)}
    nz = noise(run, decoded, data)
    sigma = nz["sigma"]
    stochastic_test = batch_errors(decoded, data.test_x, data.test_y, sigma, batch_size=SCHEDULE["noise"]["batch_size"],
                                   seed=run.seed + SEEDS["test_draws"])
    b = bounds(packed.report, sigma, errors["train_error"], nz["train_error_draws"], len(data.train_y))
    robust = b["robust"]
    effective_bits = robust.kl.bits
    original_bits = sum(32 * t.numel() for t in state.values())
    weights = [t for n, t in state.items() if t.dim() >= 2]
    result = {
        "codec": codec.spec().to_dict(), "quick": run.quick, "seed": run.seed, "n": len(data.train_y),
        "data": data.source, "device": str(dev),
        "original_bits": original_bits, "compressed_bits": packed.report.total_bits, "effective_bits": effective_bits,
        "robustness_adjustment_bits": packed.report.total_bits - effective_bits,
        "bound": b["bound"], "bound_reported": b["reported"], "statement": b["statement"],
        "occam_bound": b["occam"].bound, "noise_robust_bound": robust.bound,
        **errors, "stochastic_train_error": float(np.mean(nz["train_error_draws"])),
        "stochastic_test_error": float(stochastic_test.mean()),
        "weight_density": sum(int((w != 0).sum()) for w in weights) / sum(w.numel() for w in weights),
        "sigma": sigma, "relative_sigma": nz["relative_sigma"], "monte_carlo_draws": len(nz["train_error_draws"]),
        "wall_seconds": round(time.perf_counter() - start, 1),
        "bits": packed.report.to_dict(), "occam_report": b["occam"].to_dict(), "noise_robust_report": robust.to_dict(),
    }
    report = run.out / "report.json"
    report.write_text(json.dumps(result, indent=2) + "\n")
    return Outcome(result, packed.report, robust, [report, bitstream])
