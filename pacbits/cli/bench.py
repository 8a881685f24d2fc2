"""``pacbits bench``: every codec on one trained network, ranked by the bound it certifies."""
from __future__ import annotations

from pathlib import Path

from ._common import add_data, add_device, add_json, add_out, add_seed, print_json

DEFAULT_WEIGHTS = "out/lenet5/quantized.pt"


def register(sub) -> None:
    p = sub.add_parser("bench", help="rank every codec by the bound it certifies on one trained network",
                       description="Run every registered codec preset (and every combination a --config file "
                                   "lists) on one trained network and write the leaderboard as JSON, markdown "
                                   "and PNG.")
    add_out(p, "out/bench")
    add_seed(p)
    add_data(p)
    add_device(p)
    add_json(p)
    p.add_argument("--model", default="lenet5", metavar="ID|module:factory",
                   help="the network: a registered model id or module:factory (default lenet5)")
    p.add_argument("--weights", type=Path, default=Path(DEFAULT_WEIGHTS), metavar="STATE_DICT.pt",
                   help=f"its trained state_dict (default {DEFAULT_WEIGHTS}, else out/lenet5-quick/quantized.pt "
                        "from make run: the pruned and quantized LeNet-5 "
                        "of `pacbits reproduce lenet5`)")
    p.add_argument("--codecs", nargs="*", metavar="ID",
                   help="registered presets to run (default: every one; an empty list runs only --config's)")
    p.add_argument("--config", type=Path, metavar="FILE",
                   help="JSON file of pruners, quantizers and coders: every combination is run too (docs/bench.md)")
    p.add_argument("--stream", action="append", type=Path, default=[], metavar="FILE.pbits", dest="streams",
                   help="a finished bitstream to rank beside the codecs, e.g. a subspace stream of "
                        "`pacbits reproduce subspace` (repeatable; alone with --codecs and no ids, or with no model)")
    p.add_argument("--stream-prior", action="append", type=Path, default=[], metavar="PRIOR.pt", dest="stream_priors",
                   help="a transfer prior a --stream names by its SHA-256 (repeatable; each stream takes its own)")
    p.add_argument("--thorough", action="store_true",
                   help="sigma search and Monte Carlo passes of `reproduce lenet5` without --quick "
                        "(default: its --quick settings)")
    p.add_argument("--passes", type=int, help="noisy passes over the training set for the Monte Carlo error "
                                              "(default 1, --thorough 5)")
    p.add_argument("--train-examples", type=int, metavar="N",
                   help="use the first N training examples only (a multiple of 50, the Monte Carlo batch)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pacbits.experiments import bench
    from pacbits.experiments.bench_report import markdown

    b = bench.Bench(args.out, args.model, args.weights, args.data, args.codecs, args.config, args.thorough,
                    args.passes, args.train_examples, args.seed, args.device, command(args), args.streams,
                    args.stream_priors)
    rows, summary, paths = bench.run(b)
    if args.json:
        print_json(rows)
        return 0
    print(markdown(rows, summary))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def command(args) -> str:
    """The command line of this run."""
    parts = ["pacbits bench", f"--model {args.model}"]
    parts += [f"--weights {args.weights}"] if str(args.weights) != DEFAULT_WEIGHTS else []
    parts += [f"--codecs {' '.join(args.codecs)}".rstrip()] if args.codecs is not None else []
    parts += [f"--config {args.config}"] if args.config else []
    parts += [f"--stream {p}" for p in args.streams] + [f"--stream-prior {p}" for p in args.stream_priors]
    parts += ["--thorough"] if args.thorough else []
    parts += [f"--passes {args.passes}"] if args.passes else []
    parts += [f"--train-examples {args.train_examples}"] if args.train_examples else []
    parts += [f"--data {args.data}"] if args.data else []
    parts += [f"--device {args.device}"] if args.device != "cpu" else []
    return " ".join(parts + [f"--seed {args.seed}", f"--out {args.out}"])
