"""Subspace (intrinsic-dimension) codec on MNIST or Fashion-MNIST: the tightest bounds pacbits gives.

θ = θ₀ + P·w over every parameter of the classic LeNet-5 (``lenet5-small``), only the
d coordinates w trained (Adam, one-cycle) and coded -> quantization-aware fine-tuning to
L float16 centers for each L of a declared grid -> real bitstream (``subspace``
parametrization, ``csr-arithmetic`` coder) decoded and evaluated -> Gaussian noise on w
searched, Monte Carlo stochastic error through the decoded map -> Occam and noise-robust
kl-inverse bounds. Every bit is paid: container, parametrization bytes (model, seed, d,
projection), codebook, counts, coordinates and the Elias-delta length prior. Everything
that defines the network is in the stream, so choosing d, L, the projection or the
learning rate after seeing the data costs nothing more (docs/subspace.md, "What is paid").

``--prior CHECKPOINT`` takes θ₀ from a network trained on another data set (a transfer
prior, named in the stream by its SHA-256); ``--write-prior FILE`` trains such a network.
Phases checkpoint under ``--out``; a rerun resumes.
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from pacbits.core import Codec, ConfigError, decompress, default_registry
from pacbits.core.bounds import noise_robust_kl, occam_kl_report, pac_bayes_report
from pacbits.core.parametrization import state_dict_sha256
from pacbits.evaluate import error_rate
from pacbits.plugins.subspace import Subspace, model_factories
from pacbits.subspace import SubspaceNet
from pacbits.train import batches, train

DATASETS = ("mnist", "fashion-mnist")
#: per data set: the subspace, the float training, the quantization grid and fine-tuning (docs/subspace.md,
#: Results: on MNIST 40,000 float steps quantized worse than 15,000, on Fashion-MNIST better)
SCHEDULE = {
    "mnist": {"model": "lenet5-small", "d": 2000, "projection": "sparse", "k": 8, "scale": "fan-in",
              "steps": 15000, "batch_size": 128, "lr": 0.01, "levels": [4, 5, 6], "rates": [0.0],
              "qat_steps": 2000, "qat_lr": 0.001, "qat_schedule": "cosine"},
    "fashion-mnist": {"model": "lenet5-small", "d": 1000, "projection": "sparse", "k": 8, "scale": "fan-in",
                      "steps": 40000, "batch_size": 128, "lr": 0.01, "levels": [7, 9, 11], "rates": [0.0],
                      "qat_steps": 3000, "qat_lr": 0.001, "qat_schedule": "cosine"},
}
QUICK = {"steps": 500, "qat_steps": 60, "levels": [7], "search_examples": 2000, "search_steps": 4, "passes": 1}
NOISE = {"tolerance": 0.003, "search_examples": 10000, "search_steps": 8, "batch_size": 50, "passes": 0}
#: λ grid of the mixture prior, relative to the codebook's range (fixed in advance)
LAMBDA_GRID = (1e-3, 1.0, 32)
CONFIDENCE = 0.95
LENGTH_PRIOR = "elias-delta"
SEEDS = {"subspace": 0, "train": 1, "qat": 2, "search": 3, "draws": 4, "test_draws": 5, "prior": 6}
PRIOR_SCHEDULE = {"steps": 3000, "batch_size": 128, "lr": 0.001}


def load_dataset(name: str, data_dir):
    if name == "mnist":
        from pacbits.data import load_mnist
        return load_mnist(data_dir)
    from pacbits.data.fashion_mnist import load_fashion_mnist
    return load_fashion_mnist(data_dir)


def settings_of(args) -> dict:
    s = dict(SCHEDULE[args.dataset])
    if args.quick:
        s.update(steps=QUICK["steps"], qat_steps=QUICK["qat_steps"], levels=QUICK["levels"])
    if args.d is not None:
        s["d"] = args.d
    if args.projection is not None:
        s["projection"] = args.projection
    if args.levels is not None:
        try:
            s["levels"] = sorted({int(v) for v in args.levels.split(",")})
        except ValueError:
            raise ConfigError(f"--levels must be comma-separated integers, got {args.levels!r}") from None
        if min(s["levels"]) < 2:
            raise ConfigError(f"--levels must be >= 2, got {args.levels!r}")
    if args.rates is not None:
        try:
            s["rates"] = sorted({float(v) for v in args.rates.split(",")})
        except ValueError:
            raise ConfigError(f"--rates must be comma-separated numbers, got {args.rates!r}") from None
        if min(s["rates"]) < 0 or not all(math.isfinite(r) for r in s["rates"]):
            raise ConfigError(f"--rates must be finite and >= 0, got {args.rates!r}")
    if args.steps is not None:
        try:
            s["steps"], s["qat_steps"] = (int(v) for v in args.steps.split(","))
        except ValueError:
            raise ConfigError(f"--steps must be two integers T,Q, got {args.steps!r}") from None
    noise = dict(NOISE)
    if args.quick:
        noise.update(search_examples=QUICK["search_examples"], search_steps=QUICK["search_steps"],
                     passes=QUICK["passes"])
    if args.passes is not None:
        if args.passes < 0:
            raise ConfigError(f"--passes must be >= 0, got {args.passes}")
        noise["passes"] = args.passes
    return {"dataset": args.dataset, "seed": args.seed, "quick": args.quick, "train_examples": args.train_examples,
            "schedule": s, "noise": noise}


def check_resumable(out: Path, settings: dict) -> None:
    path = out / "settings.json"
    settings = json.loads(json.dumps(settings))
    if path.exists() and json.loads(path.read_text()) != settings:
        raise ConfigError(f"{out} holds checkpoints of a run with other settings (see {path}); "
                          "use another --out or delete the folder")
    path.write_text(json.dumps(settings, indent=2) + "\n")


def train_float(net: SubspaceNet, data, s: dict, seed: int) -> None:
    opt = torch.optim.Adam([net.w], lr=s["lr"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s["lr"], total_steps=s["steps"], pct_start=0.1)
    train(net, batches(data.train_x, data.train_y, s["batch_size"], seed=seed + SEEDS["train"]), opt, s["steps"],
          scheduler=sched, desc=f"subspace d={net.param.d}")


def train_quantized(net: SubspaceNet, levels: int, rate: float, data, s: dict, seed: int) -> torch.Tensor:
    """Quantization-aware fine-tuning of w and the centers (entropy-constrained at ``rate``; Adam, learning
    rate cosine-annealed from ``qat_lr`` to 0); returns the coded coordinates."""
    net.quantize(levels, rate=rate)
    opt = torch.optim.Adam([net.w, net.centers], lr=s["qat_lr"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, s["qat_steps"])
    train(net, batches(data.train_x, data.train_y, s["batch_size"], seed=seed + SEEDS["qat"] + levels), opt,
          s["qat_steps"], scheduler=sched, desc=f"quantize L={levels} μ={rate:g}")
    return net.quantized_w()


def decoded_model(data: bytes, model_id: str, prior):
    model = model_factories()[model_id]()
    state = decompress(data, prior=prior)
    model.load_state_dict(state)
    return model, state


def noisy_rates(param: Subspace, w: np.ndarray, sigma: float, x, y, *, batch_size: int, passes: int, seed: int,
                prior=None, desc: str = "noisy passes") -> np.ndarray:
    """Error of each mini-batch under its own draw ``w + σ·N(0, I)``, mapped by the decoder's own ``expand``.

    The batches of a pass partition the data, so their rates are independent [0, 1] variables whose
    mean estimates the stochastic error (``pacbits.stochastic.batch_errors``, here through the subspace).
    """
    from tqdm.auto import tqdm

    n = x.shape[0]
    if n % batch_size:
        raise ConfigError(f"{n} examples do not split into Monte Carlo batches of {batch_size}")
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    model = model_factories()[param.model]()
    model.eval()
    rates = []
    with torch.no_grad():
        for _ in range(passes):
            order = torch.randperm(n, generator=gen)
            for i in tqdm(range(0, n, batch_size), desc=desc, leave=False, mininterval=1.0):
                draw = w + sigma * rng.standard_normal(w.size)
                model.load_state_dict(param.expand({"w": torch.from_numpy(draw)}, prior))
                b = order[i:i + batch_size]
                rates.append(int((model(x[b]).argmax(1) != y[b]).sum()) / batch_size)
    return np.array(rates)


def search_sigma(param: Subspace, w: np.ndarray, x, y, base_error: float, tolerance: float, steps: int, seed: int,
                 prior=None) -> float:
    """Largest σ (bisection on log σ/range over [1e-3, 1]) whose noisy error on ``(x, y)`` stays within
    ``base_error + tolerance``; the same noise at every trial. σ may depend on the data: it is the
    posterior's, not the prior's, and its error is measured afresh with other draws."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((2, w.size))
    model = model_factories()[param.model]()
    span = float(np.ptp(w)) or 1.0

    def err(s: float) -> float:
        out = []
        for zi in z:
            model.load_state_dict(param.expand({"w": torch.from_numpy(w + s * span * zi)}, prior))
            out.append(error_rate(model, x, y))
        return float(np.mean(out))

    lo, hi = 1e-3, 1.0
    if err(lo) > base_error + tolerance:
        return 0.0
    for _ in range(steps):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if err(mid) <= base_error + tolerance else (lo, mid)
    return lo * span


def bounds(report, sigma: float, train_error: float, draws, n: int) -> dict:
    """Occam (decoded network) and noise-robust (stochastic network) kl-inverse bounds, each at confidence
    1 − δ/2 (union bound); the smaller is reported. The λ grid is paid (ln G); σ is the posterior's.
    Without noise (``sigma = 0``: ``--passes 0``, declared before training) the Occam bound alone gets 1 − δ."""
    half = 1 - (1 - CONFIDENCE) / 2 if sigma > 0 else CONFIDENCE
    occam = pac_bayes_report(occam_kl_report(report.total_bits, LENGTH_PRIOR), n, {"top-1": train_error}, confidence=half, forms=("kl",))
    out = {"occam": occam, "robust": None, "bound": occam.bound, "reported": "Occam (Theorem 4.1)"}
    if sigma > 0:
        w = next(t for t in report.tensors if t.coded)
        lam = max(float(np.ptp(w.codebook.astype(np.float64))), 1e-12) * np.geomspace(*LAMBDA_GRID[:2],
                                                                                      int(LAMBDA_GRID[2]))
        kl = noise_robust_kl(report, {w.name: sigma}, {w.name: lam}, prior=LENGTH_PRIOR, noisy_choice=False)
        robust = pac_bayes_report(kl, n,
                                  {"top-1": np.asarray(draws)}, confidence=half, forms=("kl",))
        out["robust"] = robust
        if robust.bound < occam.bound:
            out.update(bound=robust.bound, reported="noise-robust (Theorem 4.3)")
    out["statement"] = (f"Both bounds hold together with probability >= {CONFIDENCE:g}: each at confidence "
                        f"{half:g} (union bound); the smaller is reported." if sigma > 0 else
                        f"The Occam bound holds with probability >= {CONFIDENCE:g} (no noisy bound was declared).")
    return out


def write_prior(args, data) -> dict:
    """Train a dense network of the schedule's model on ``--dataset`` and save it (a transfer prior)."""
    s = SCHEDULE[args.dataset]
    torch.manual_seed(args.seed + SEEDS["prior"])
    model = model_factories()[s["model"]]()
    steps = settings_of(args)["schedule"]["steps"] if (args.quick or args.steps) else PRIOR_SCHEDULE["steps"]
    opt = torch.optim.Adam(model.parameters(), lr=PRIOR_SCHEDULE["lr"])
    train(model, batches(data.train_x, data.train_y, PRIOR_SCHEDULE["batch_size"], seed=args.seed), opt, steps,
          desc=f"prior on {args.dataset}")
    args.write_prior.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.write_prior)
    meta = {"dataset": args.dataset, "model": s["model"], "steps": steps,
            "state_dict_sha256": state_dict_sha256(model.state_dict()),
            "test_error": error_rate(model, data.test_x, data.test_y)}
    Path(str(args.write_prior) + ".json").write_text(json.dumps(meta, indent=2) + "\n")
    if not args.json:
        print(f"wrote {args.write_prior}: {meta}")
    return meta


def load_prior(path: Path, dataset: str, model_id: str) -> tuple[dict, str]:
    """The prior's state_dict and its label; refuses a prior trained on the data set being bounded."""
    from pacbits.loading import load_state_dict

    state = load_state_dict(path)
    meta_path = Path(str(path) + ".json")
    source = json.loads(meta_path.read_text()).get("dataset") if meta_path.is_file() else None
    if source is None:
        raise ConfigError(f"{path}: no {meta_path.name} naming the data set the prior was trained on "
                          "(write priors with --write-prior)")
    if source == dataset:
        raise ConfigError(f"{path} was trained on {dataset}, the data set being bounded: a prior may not see the sample")
    want = {n: tuple(t.shape) for n, t in model_factories()[model_id]().state_dict().items()}
    if {n: tuple(t.shape) for n, t in state.items()} != want:
        raise ConfigError(f"{path}: not a {model_id} state_dict")
    return state, f"transfer prior (θ₀ trained on {source})"


def run(args) -> dict:
    data = load_dataset(args.dataset, args.data)
    if args.train_examples is not None:
        import dataclasses
        data = dataclasses.replace(data, train_x=data.train_x[:args.train_examples],
                                   train_y=data.train_y[:args.train_examples])
    if args.write_prior is not None:
        return write_prior(args, data)
    settings = settings_of(args)
    s, nz = settings["schedule"], settings["noise"]
    prior, prior_label = (None, None) if args.prior is None else load_prior(args.prior, args.dataset, s["model"])
    settings["prior"] = None if prior is None else state_dict_sha256(prior)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    check_resumable(out, settings)
    start = time.perf_counter()
    param = Subspace(s["model"], s["d"], seed=args.seed + SEEDS["subspace"], projection=s["projection"], k=s["k"],
                     scale=s["scale"], init="prior" if prior is not None else "uniform-fan-in",
                     prior_sha256=settings["prior"])
    codec = Codec(default_registry().create("coder", "csr-arithmetic"), targets="floating", id="subspace",
                  parametrization=param)
    torch.manual_seed(args.seed)
    net = SubspaceNet(param, prior)
    ckpt = out / "float.pt"
    if ckpt.exists():
        net.load_state_dict(torch.load(ckpt, weights_only=True))
        print(f"float: resumed from {ckpt}", file=sys.stderr)
    else:
        train_float(net, data, s, args.seed)
        torch.save(net.state_dict(), ckpt)
    w_float = net.w.detach().clone()
    n = len(data.train_y)

    # one quantized network per (level count, rate); the best by its Occam bound is kept: every choice is
    # in the stream, so the prior over streams already covers it (docs/subspace.md, "What is paid")
    rows = []
    for levels, rate in [(L, r) for L in s["levels"] for r in s["rates"]]:
        path = out / (f"quantized-L{levels}.pt" if rate == 0 else f"quantized-L{levels}-r{rate:g}.pt")
        if path.exists():
            wq = torch.load(path, weights_only=True)["w"]
        else:
            net.w.data.copy_(w_float)
            wq = train_quantized(net, levels, rate, data, s, args.seed)
            torch.save({"w": wq}, path)
        packed = codec.compress({"w": wq.half()})  # float16 centers: 16 bits each in the codebook
        model, state = decoded_model(packed.data, s["model"], prior)
        train_error = error_rate(model, data.train_x, data.train_y)
        occam = bounds(packed.report, 0.0, train_error, None, n)["bound"]
        rows.append({"levels": levels, "rate": rate, "distinct": int(torch.unique(wq).numel()), "bits": packed.report.total_bits,
                     "train_error": train_error, "occam_bound": occam, "packed": packed, "w": wq})
        print(f"L={levels} μ={rate:g}: {packed.report.total_bits} bits, train error {100 * train_error:.2f} %, "
              f"Occam bound {100 * occam:.2f} %", file=sys.stderr)
    best = min(rows, key=lambda r: r["occam_bound"])
    packed, wq = best["packed"], best["w"]
    stream = out / "subspace.pbits"
    stream.write_bytes(packed.data)
    model, state = decoded_model(stream.read_bytes(), s["model"], prior)
    digest = state_dict_sha256(state)
    if digest != state_dict_sha256(param.expand({"w": wq}, prior)):
        raise ConfigError("the bitstream does not decode to the evaluated network")
    errors = {"train_error": error_rate(model, data.train_x, data.train_y),
              "test_error": error_rate(model, data.test_x, data.test_y)}

    noise_path = out / "noise.json"
    wnp = wq.double().numpy()
    if noise_path.exists() and json.loads(noise_path.read_text()).get("levels") == [best["levels"], best["rate"]]:
        noise = json.loads(noise_path.read_text())
        print(f"noise: resumed from {noise_path}", file=sys.stderr)
    elif nz["passes"] == 0:
        noise = {"levels": [best["levels"], best["rate"]], "sigma": 0.0, "train_error_draws": []}
    else:
        m = min(nz["search_examples"], n)
        sigma = search_sigma(param, wnp, data.train_x[:m], data.train_y[:m],
                             error_rate(model, data.train_x[:m], data.train_y[:m]), nz["tolerance"],
                             nz["search_steps"], args.seed + SEEDS["search"], prior)
        draws = noisy_rates(param, wnp, sigma, data.train_x, data.train_y, batch_size=nz["batch_size"],
                            passes=nz["passes"], seed=args.seed + SEEDS["draws"], prior=prior) if sigma > 0 else []
        noise = {"levels": [best["levels"], best["rate"]], "sigma": sigma, "train_error_draws": list(map(float, draws))}
        noise_path.write_text(json.dumps(noise) + "\n")
    sigma, draws = noise["sigma"], noise["train_error_draws"]
    stochastic_test = (noisy_rates(param, wnp, sigma, data.test_x, data.test_y, batch_size=nz["batch_size"], passes=1,
                                   seed=args.seed + SEEDS["test_draws"], prior=prior).mean() if sigma > 0
                       else errors["test_error"])
    b = bounds(packed.report, sigma, errors["train_error"], draws, n)
    robust = b["robust"]
    effective_bits = robust.kl.bits if robust is not None else b["occam"].kl.bits
    result = {
        "dataset": args.dataset, "parametrization": param.get_config(), "prior": prior_label,
        "prior_sha256": settings["prior"], "model": s["model"], "quick": args.quick, "seed": args.seed, "n": n,
        "bound": b["bound"], "bound_reported": b["reported"], "statement": b["statement"],
        "occam_bound": b["occam"].bound, "noise_robust_bound": robust.bound if robust else None,
        "compressed_bits": packed.report.total_bits, "effective_bits": effective_bits,
        **errors, "stochastic_train_error": float(np.mean(draws)) if len(draws) else errors["train_error"],
        "stochastic_test_error": float(stochastic_test), "sigma": sigma, "monte_carlo_draws": len(draws),
        "levels": best["levels"], "rate": best["rate"], "state_dict_sha256": digest,
        "float_train_error": None, "levels_tried": [{k: v for k, v in r.items() if k not in ("packed", "w")}
                                                   for r in rows],
        "schedule": s, "wall_seconds": round(time.perf_counter() - start, 1),
        "bits": packed.report.to_dict(), "occam_report": b["occam"].to_dict(),
        "noise_robust_report": robust.to_dict() if robust else None,
    }
    net.w.data.copy_(w_float)
    net.centers = None
    result["float_train_error"] = error_rate(net, data.train_x, data.train_y)
    (out / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        return result
    print(packed.report.table(), "", (robust or b["occam"]).table(), sep="\n")
    print(f"\n{args.dataset}, {prior_label or 'data-independent prior (θ₀ from the seed)'}: d = {s['d']}, "
          f"L = {best['levels']}, μ = {best['rate']:g}; decoded network train {100 * errors['train_error']:.2f} %, test "
          f"{100 * errors['test_error']:.2f} %; {packed.report.total_bits} bits")
    print(f"bound {100 * b['bound']:.2f} % ({b['reported']}; Occam {100 * result['occam_bound']:.2f} %). "
          f"{b['statement']}\nwrote {out / 'report.json'} and {stream}")
    return result
