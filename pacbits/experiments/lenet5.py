"""``pacbits reproduce lenet5``: the paper's headline experiment (Table 1, MNIST row).

Dense LeNet-5 -> Dynamic Network Surgery -> 4-bit k-means with fine-tuned centers
-> real bitstream (the codec preset's coder) -> per-tensor noise search -> Monte
Carlo stochastic training error -> Theorem 4.1 and 4.3 bounds, every cost paid.

The pruner, quantizer and coder come from a codec preset (default
``lenet5-paper``), so ``--codec`` swaps any stage. The training schedule is
:data:`SCHEDULE` (the paper's Appendix B.1 adapted to a 2-core CPU); ``--quick``
scales it down to a few minutes. Each phase checkpoints under ``--out``, and a
rerun resumes from the last finished phase.
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pacbits.core import Codec, CodecReport, ConfigError, decompress, default_registry, reparam
from pacbits.core.files import write_atomic
from pacbits.core.bounds import noise_robust_kl, occam_kl_report, pac_bayes_report
from pacbits.data import load_mnist
from pacbits.evaluate import error_rate
from pacbits.models import lenet5
from pacbits.stochastic import batch_errors, kept_range, search_sigma
from pacbits.train import batches, train

DEFAULT_CODEC = "lenet5-paper"

SCHEDULE = {
    "baseline": {"steps": 3000, "batch_size": 128, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4,
                 "decay_every": 125, "decay_rate": 0.1},  # lr_t = lr / (1 + rate * floor(t / every))
    "dns": {"steps": 11000, "batch_size": 128, "lr": [[0, 0.01], [8000, 0.001]],  # piecewise constant
            "momentum": 0.9, "weight_decay": 5e-4},
    "kmeans": {"steps": 1000, "batch_size": 128, "lr": 1e-4},
    # sigma searched on a subset; then fresh noise per mini-batch of 50 over `passes` passes of the
    # training set: m = passes * 60000 / 50 Monte Carlo draws for the bound's correction
    "noise": {"tolerance": 0.005, "search_examples": 10000, "search_steps": 6, "batch_size": 50, "passes": 5},
    "bound": {"confidence": 0.95, "lambda_grid": [1e-3, 1.0, 32]},  # geomspace(lo, hi, G) x codebook range
}
QUICK = {"baseline": 400, "dns": 600, "kmeans": 100, "search_examples": 2000, "search_steps": 3, "passes": 1}
#: the pruner's schedule (DNS ramp, update probability) is stretched to the phase's length under --quick
SEEDS = {"init": 0, "baseline": 1, "dns": 2, "kmeans": 3, "search": 4, "draws": 5, "test_draws": 6}


@dataclass
class Run:
    """One run's settings and where it writes."""

    out: Path
    codec_id: str
    quick: bool
    seed: int
    passes: int
    step_override: tuple[int, int, int] | None = None

    def steps(self, phase: str) -> int:
        if self.step_override:
            return self.step_override[("baseline", "dns", "kmeans").index(phase)]
        return QUICK[phase] if self.quick else SCHEDULE[phase]["steps"]

    def settings(self) -> dict:
        return {"codec": self.codec_id, "quick": self.quick, "seed": self.seed, "passes": self.passes,
                "steps": [self.steps(p) for p in ("baseline", "dns", "kmeans")],
                "schedule": SCHEDULE,
                "quick_steps": QUICK if self.quick else None}


def add_arguments(p) -> None:
    p.add_argument("--codec", default=DEFAULT_CODEC, help=f"codec preset (default {DEFAULT_CODEC})")
    p.add_argument("--quick", action="store_true", help="reduced schedule, a few minutes (the README's main job)")
    p.add_argument("--passes", type=int, default=None,
                   help="noisy passes over the training set for the Monte Carlo error "
                        f"(default {SCHEDULE['noise']['passes']}, --quick {QUICK['passes']})")
    p.add_argument("--steps", type=parse_steps, default=None, metavar="B,P,F",
                   help="override the training steps of the baseline, pruning and fine-tuning phases (smoke tests)")


def parse_steps(text: str) -> tuple[int, int, int]:
    try:
        steps = tuple(int(v) for v in text.split(","))
    except ValueError:
        steps = ()
    if len(steps) != 3 or min(steps) < 1:
        raise ConfigError(f"--steps must be three positive integers B,P,F, got {text!r}")
    return steps


def scaled_pruner_config(config: dict, steps: int) -> dict:
    """Stretch the pruner's step schedule (ramp end, probability steps) from the full DNS length to ``steps``."""
    f = steps / SCHEDULE["dns"]["steps"]
    out = dict(config)
    for key in ("begin", "end"):
        if key in out:
            out[key] = int(out[key] * f)
    if "prob" in out:
        out["prob"] = [[int(t * f), p] for t, p in out["prob"]]
    return out


def train_baseline(data, steps: int, seed: int) -> torch.nn.Module:
    cfg = SCHEDULE["baseline"]
    torch.manual_seed(seed + SEEDS["init"])
    model = lenet5()
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"])
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 / (1 + cfg["decay_rate"] * (t // cfg["decay_every"])))
    train(model, batches(data.train_x, data.train_y, cfg["batch_size"], seed=seed + SEEDS["baseline"]), opt, steps,
          scheduler=decay, desc="baseline")
    return model


def prune(model: torch.nn.Module, data, pruner_config: dict, steps: int, seed: int) -> torch.nn.Module:
    """Prune in place with a training-time pruner; returns the model with its masks baked in."""
    cfg = SCHEDULE["dns"]
    pruner = default_registry().create("pruner", scaled_pruner_config(pruner_config, steps))
    pruner.attach(model)
    opt = torch.optim.SGD(model.parameters(), lr=1.0, momentum=cfg["momentum"], weight_decay=cfg["weight_decay"])
    lr = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: reparam.piecewise(cfg["lr"], t * cfg["steps"] // steps))
    train(model, batches(data.train_x, data.train_y, cfg["batch_size"], seed=seed + SEEDS["dns"]), opt, steps,
          scheduler=lr, callbacks=[lambda t: pruner.update(model, t)], desc="prune")
    return reparam.detach(model)


def quantize(model: torch.nn.Module, data, quantizer_config: dict, steps: int, seed: int) -> torch.nn.Module:
    """Quantize in place and fine-tune the centers; returns the model with its codebooks baked in."""
    cfg = SCHEDULE["kmeans"]
    centers = default_registry().create("quantizer", quantizer_config).attach(model)
    opt = torch.optim.Adam(centers, lr=cfg["lr"])
    train(model, batches(data.train_x, data.train_y, cfg["batch_size"], seed=seed + SEEDS["kmeans"]), opt, steps,
          desc="fine-tune centers")
    return reparam.detach(model)


def checkpointed(run: Run, name: str, make) -> torch.nn.Module:
    """Load phase ``name`` from ``run.out`` if it finished before, else run ``make()`` and save a plain state_dict."""
    path = run.out / f"{name}.pt"
    model = lenet5()
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        print(f"{name}: resumed from {path}")
        return model
    model.load_state_dict(reparam.bake(make()))
    state = model.state_dict()
    write_atomic(path, lambda f: torch.save(state, f), force=True)  # an interrupted save leaves no half checkpoint
    return model


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
        print(f"noise: resumed from {path}")
        return json.loads(path.read_text())
    cfg = SCHEDULE["noise"]
    n = min(QUICK["search_examples"] if run.quick else cfg["search_examples"], len(data.train_y))
    steps = QUICK["search_steps"] if run.quick else cfg["search_steps"]
    start = time.perf_counter()
    sigma = search_sigma(model, data.train_x[:n], data.train_y[:n], tolerance=cfg["tolerance"], steps=steps,
                         seed=run.seed + SEEDS["search"])
    print(f"noise: sigma {', '.join(f'{k} {v:.3g}' for k, v in sigma.items())}; {run.passes} noisy passes")
    rates = batch_errors(model, data.train_x, data.train_y, sigma, batch_size=cfg["batch_size"], passes=run.passes,
                         seed=run.seed + SEEDS["draws"])
    state = model.state_dict()
    out = {"sigma": sigma, "relative_sigma": {k: s / kept_range(state[k]) for k, s in sigma.items()},
           "train_error_draws": rates.tolist(), "seconds": round(time.perf_counter() - start, 1)}
    path.write_text(json.dumps(out, indent=2) + "\n")
    return out


def lambda_grids(report: CodecReport) -> dict[str, np.ndarray]:
    """Prior scales per coded tensor, fixed in advance relative to its coded codebook's range (DESIGN §5.4)."""
    lo, hi, g = SCHEDULE["bound"]["lambda_grid"]
    grid = np.geomspace(lo, hi, int(g))
    return {t.name: max(float(np.ptp(t.codebook.astype(np.float64))), 1e-12) * grid
            for t in report.tensors if t.coded and t.r}


def bounds(report: CodecReport, sigma: dict, train_error: float, draws: list[float], n: int) -> dict:
    """Occam (decoded model) and noise-robust (stochastic model) bounds, confidence split evenly between them."""
    confidence = SCHEDULE["bound"]["confidence"]
    half = 1 - (1 - confidence) / 2
    occam = pac_bayes_report(occam_kl_report(report.total_bits), n, {"top-1": train_error}, confidence=half)
    sig = {t.name: sigma.get(t.name) for t in report.tensors if t.coded}
    robust_kl = noise_robust_kl(report, sig, lambda_grids(report))
    robust = pac_bayes_report(robust_kl, n, {"top-1": np.asarray(draws)}, confidence=half)
    best = min((occam, robust), key=lambda r: r.bound)
    return {"occam": occam, "robust": robust, "bound": best.bound,
            "reported": "noise-robust (Theorem 4.3)" if best is robust else "Occam (Theorem 4.1)",
            "statement": f"Both bounds hold together with probability >= {confidence:g}: each was computed "
                         f"at confidence {half:g} (union bound), and the smaller is reported."}


def table1(original_bits: int, compressed_bits: int, effective_bits: float, bound: float) -> str:
    """A row in the form of the paper's Table 1, beside the paper's MNIST row."""
    kib = lambda b: f"{b / 8192:.2f} KiB"
    head = ("", "original size", "compressed size", "robustness adj.", "effective size", "error bound (95%)")
    rows = [("paper (LeNet-5)", "1.64 MiB", "8.1 KiB", "1.88 KiB", "6.23 KiB", "< 46 %"),
            ("pacbits", kib(original_bits) if original_bits < 8 * 2**20 else f"{original_bits / 8 / 2**20:.2f} MiB",
             kib(compressed_bits), kib(compressed_bits - effective_bits), kib(effective_bits), f"{100 * bound:.2f} %")]
    w = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(n) for c, n in zip(r, w)) for r in (head, *rows))


def run(args) -> int:
    passes = args.passes or (QUICK["passes"] if args.quick else SCHEDULE["noise"]["passes"])
    if passes < 1:
        raise ConfigError(f"--passes must be >= 1, got {passes}")
    run = Run(args.out, args.codec, args.quick, args.seed, passes, args.steps)
    spec = default_registry().get("codec", run.codec_id)
    if not (spec.pruner and spec.quantizer):
        raise ConfigError(f"codec {run.codec_id!r} needs a pruner and a quantizer for this experiment")
    run.out.mkdir(parents=True, exist_ok=True)
    check_resumable(run)
    data = load_mnist(args.data)
    start = time.perf_counter()

    dense = checkpointed(run, "baseline", lambda: train_baseline(data, run.steps("baseline"), run.seed))
    pruned = checkpointed(run, "pruned", lambda: prune(copy.deepcopy(dense), data, spec.pruner, run.steps("dns"),
                                                       run.seed))
    model = checkpointed(run, "quantized", lambda: quantize(copy.deepcopy(pruned), data, spec.quantizer,
                                                            run.steps("kmeans"), run.seed))

    codec = Codec.from_spec(spec)
    packed = codec.compress(model.state_dict())
    write_atomic(run.out / "lenet5.pbits", packed.data, force=True)
    decoded = lenet5()
    decoded.load_state_dict(decompress((run.out / "lenet5.pbits").read_bytes()))
    evaluated = model.state_dict()
    if not all(torch.equal(decoded.state_dict()[k], evaluated[k]) for k in evaluated):
        raise ConfigError(f"codec {run.codec_id!r} did not code the evaluated network exactly "
                          "(its quantizer changed already-quantized weights)")

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
    original_bits = sum(32 * t.numel() for t in model.state_dict().values())
    weights = [t for n, t in model.state_dict().items() if t.dim() >= 2]
    result = {
        "codec": codec.spec().to_dict(), "quick": run.quick, "seed": run.seed, "n": len(data.train_y),
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
    (run.out / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(packed.report.table(), "", robust.table(), "", table1(original_bits, packed.report.total_bits,
                                                               effective_bits, b["bound"]), sep="\n")
    print(f"\ndecoded network: train error {100 * errors['train_error']:.2f} %, test error "
          f"{100 * errors['test_error']:.2f} % (dense {100 * errors['baseline_test_error']:.2f} %); "
          f"stochastic network: train {100 * result['stochastic_train_error']:.2f} %, "
          f"test {100 * result['stochastic_test_error']:.2f} %; weight density {100 * result['weight_density']:.2f} %")
    print(f"bound {100 * b['bound']:.2f} % ({b['reported']}; Occam {100 * result['occam_bound']:.2f} %). "
          f"{b['statement']}\nwrote {run.out / 'report.json'} and {run.out / 'lenet5.pbits'}")
    return 0
