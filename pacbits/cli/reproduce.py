"""``pacbits reproduce EXPERIMENT``: rerun one of the paper's experiments.

Each experiment here is a pair ``(add_options(parser), run(args) -> int)`` that parses
and prints; the experiment itself (:mod:`pacbits.experiments`) returns objects.
Adding one is one entry in :data:`EXPERIMENTS`. Every experiment gets the shared
``--out``, ``--seed``, ``--data``, ``--device`` and ``--json`` options.
"""
from __future__ import annotations

import re
from pathlib import Path

from pacbits.core import ConfigError

from ._common import add_data, add_device, add_json, add_out, add_seed, print_json


# --- lenet5 ---------------------------------------------------------------------------------------

def lenet5_options(p) -> None:
    from pacbits.experiments.lenet5_schedule import DEFAULT_CODEC, QUICK, SCHEDULE

    p.add_argument("--codec", default=DEFAULT_CODEC, help=f"codec preset (default {DEFAULT_CODEC}); its pruner "
                                                          "and quantizer must work during training")
    p.add_argument("--quick", action="store_true", help="reduced schedule, a few minutes (the README's main job)")
    p.add_argument("--passes", type=int, default=None,
                   help="noisy passes over the training set for the Monte Carlo error "
                        f"(default {SCHEDULE['noise']['passes']}, --quick {QUICK['passes']})")
    p.add_argument("--steps", default=None, metavar="B,P,F",
                   help="override the training steps of the baseline, pruning and fine-tuning phases (smoke tests)")


def lenet5_run(args) -> int:
    from pacbits.experiments import lenet5

    run = lenet5.Run(args.out, args.codec, args.quick, args.seed, args.passes,
                     lenet5.parse_steps(args.steps) if args.steps else None, args.data, args.device)
    outcome = lenet5.reproduce(run)
    r = outcome.result
    if args.json:
        print_json(r)
        return 0
    print(outcome.codec_report.table(), "", outcome.robust.table(), "", outcome.table1(), sep="\n")
    print(f"\ndecoded network: train error {100 * r['train_error']:.2f} %, test error "
          f"{100 * r['test_error']:.2f} % (dense {100 * r['baseline_test_error']:.2f} %); "
          f"stochastic network: train {100 * r['stochastic_train_error']:.2f} %, "
          f"test {100 * r['stochastic_test_error']:.2f} %; weight density {100 * r['weight_density']:.2f} %")
    print(f"bound {100 * r['bound']:.2f} % ({r['bound_reported']}; Occam {100 * r['occam_bound']:.2f} %). "
          f"{r['statement']}\nwrote {' and '.join(str(p) for p in outcome.paths)}")
    return 0


# --- randomization ----------------------------------------------------------------------------------

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


RANDOMIZATION_OPTIONS = {  # option -> (setting, parser(flag, text), help)
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


def randomization_options(p) -> None:
    from pacbits.experiments.randomization_settings import QUICK, SETTINGS

    p.add_argument("--quick", action="store_true", help="small subset and few steps: a few minutes")
    show = lambda v: ",".join(f"{x:g}" for x in v) if isinstance(v, list) else str(v)
    for flag, (key, _, text) in RANDOMIZATION_OPTIONS.items():
        default = show(SETTINGS[key]) + (f", --quick {show(QUICK[key])}" if key in QUICK else "")
        p.add_argument(flag, dest=key, help=f"{text} (default {default})")


def randomization_run(args) -> int:
    from pacbits.experiments import randomization

    overrides = {key: parse(flag, getattr(args, key)) for flag, (key, parse, _) in RANDOMIZATION_OPTIONS.items()
                 if getattr(args, key) is not None}
    settings = randomization.settings(args.quick, overrides)
    result = randomization.reproduce(settings, args.out, args.data, args.seed, command(args), args.device)
    print_json(result) if args.json else print(randomization.markdown(result))
    return 0


def command(args) -> str:
    """The command line that reproduces this randomization run (the options given, in their order)."""
    parts = ["pacbits reproduce randomization"] + (["--quick"] if args.quick else [])
    parts += [f"{flag} {getattr(args, key)}" for flag, (key, _, _) in RANDOMIZATION_OPTIONS.items()
              if getattr(args, key) is not None]
    parts += [f"--data {args.data}"] if args.data is not None else []
    parts += [f"--device {args.device}"] if args.device != "cpu" else []
    return " ".join(parts + [f"--seed {args.seed}", f"--out {args.out}"])


# --- subspace -------------------------------------------------------------------------------------

def subspace_options(p) -> None:
    """Options of reproduce subspace; torch-free (the parser is built before any experiment runs)."""
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist", help="data set (default mnist)")
    p.add_argument("--prior", type=Path, default=None, metavar="CHECKPOINT",
                   help="θ₀ from this state_dict, trained on another data set (a transfer prior; see --write-prior)")
    p.add_argument("--write-prior", type=Path, default=None, metavar="FILE",
                   help="only train a dense network on --dataset and save it as FILE (a transfer prior for the other)")
    p.add_argument("--quick", action="store_true", help="reduced schedule, a few minutes")
    p.add_argument("--d", type=int, default=None, help="subspace dimension (default: the data set's schedule)")
    p.add_argument("--projection", default=None, help="sparse, kronecker or dense (default: the schedule's)")
    p.add_argument("--levels", default=None, help="comma-separated level counts to try (default: the schedule's)")
    p.add_argument("--rates", default=None, metavar="MU,...",
                   help="entropy-constrained assignment rates μ to try with each level count (default: the "
                        "schedule's; 0 is plain k-means)")
    p.add_argument("--steps", default=None, metavar="T,Q", help="override float and fine-tuning steps (smoke tests)")
    p.add_argument("--train-examples", type=int, default=None, help="use the first N training examples (smoke tests)")
    p.add_argument("--passes", type=int, default=None,
                   help="noisy passes over the training set for the Monte Carlo error and the noise-robust "
                        "bound (default 0: the Occam bound only; --quick 1)")


def subspace_run(args) -> int:
    from pacbits.experiments import subspace

    result = subspace.run(args)  # prints its tables unless --json
    if args.json:
        print_json(result)
    return 0


#: experiment -> (one-line summary, add its options, run it)
EXPERIMENTS = {
    "lenet5": ("the paper's LeNet-5 row of Table 1: train, prune, quantize, code and bound on MNIST",
               lenet5_options, lenet5_run),
    "randomization": ("label randomization (paper section 6): networks that memorize need more bits",
                      randomization_options, randomization_run),
    "subspace": ("subspace codec θ = θ₀ + P·w on MNIST or Fashion-MNIST: the tightest bounds",
                 subspace_options, subspace_run),
}


def register(sub) -> None:
    p = sub.add_parser("reproduce", help="rerun one of the paper's experiments",
                       description="Rerun one of the paper's experiments and write its figures and tables.")
    experiments = p.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    for name, (summary, options, run) in EXPERIMENTS.items():
        q = experiments.add_parser(name, help=summary, description=summary)
        add_out(q, f"out/{name}")
        add_seed(q)
        add_data(q)
        add_device(q)
        add_json(q)
        options(q)
        q.set_defaults(func=run)
