"""``pacbits certify``: code any trained network, evaluate the decoded network, and bound its test error.

Under ``torchrun --nproc-per-node N -m pacbits certify ...`` the evaluation is split
over the N processes (gloo on CPU, NCCL with ``--device cuda``) with exactly the
counts of one process; rank 0 prints and writes.
"""
from __future__ import annotations

from pathlib import Path

from pacbits.codecs import DEFAULT_CODEC

from ._common import add_data, add_device, add_json, add_out, add_seed, codec_spec, print_json


def register(sub) -> None:
    p = sub.add_parser("certify", help="bound the test error of any trained network through its real bitstream",
                       description="Compress the network's state_dict, decode the bitstream, evaluate the decoded "
                                   "network on the training set, optionally search the posterior noise and "
                                   "run the Monte Carlo correction, and bound its test error. Writes "
                                   "report.json and model.pbits to --out.")
    p.add_argument("--model", required=True, metavar="ID|module:factory",
                   help="the network: a registered model id (pacbits plugins) or module:factory")
    p.add_argument("--weights", type=Path, required=True, metavar="STATE_DICT.pt", help="its trained state_dict")
    add_data(p)
    p.add_argument("--codec", default=DEFAULT_CODEC, help=f"codec preset id (default {DEFAULT_CODEC})")
    p.add_argument("--config", help="JSON codec config overriding the preset, e.g. '{\"coder\": {\"id\": \"huffman\"}}'")
    p.add_argument("--noise", action="store_true",
                   help="also search the weight noise and bound the stochastic network (Theorem 4.3)")
    p.add_argument("--passes", type=int, default=1, help="noisy passes over the training set with --noise (default 1)")
    p.add_argument("--confidence", type=float, default=0.95, help="confidence 1 - delta (default 0.95)")
    add_out(p, "out/certify")
    add_seed(p)
    add_device(p)
    add_json(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from pacbits import shards
    from pacbits.certification import certify
    from pacbits.loading import device, load_data, load_model, load_weights

    dev = device(args.device)
    joined = shards.init_from_env(dev)
    try:
        model = load_weights(load_model(args.model), args.weights, f"model {args.model!r}")
        report = certify(model, load_data(args.data), codec_spec(args.codec, args.config), noise=args.noise,
                         confidence=args.confidence, seed=args.seed, device=args.device, passes=args.passes)
        if shards.world()[0] == 0:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "model.pbits").write_bytes(report.data)
            (args.out / "report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
            if args.json:
                print_json(report.to_dict())
            else:
                print(report.table())
                print(f"wrote {args.out / 'report.json'} and {args.out / 'model.pbits'}")
    finally:
        if joined:
            from torch import distributed

            distributed.destroy_process_group()
    return 0
