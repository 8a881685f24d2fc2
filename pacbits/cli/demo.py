"""``pacbits demo``: compress a small model with the default codec, decode it, show the bits."""
from __future__ import annotations

import torch

from pacbits.codecs.presets import DEFAULT_CODEC
from pacbits.core import Codec, decompress

from ._common import add_seed


def small_model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(8 * 12 * 12, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10),
    )


def register(sub) -> None:
    p = sub.add_parser("demo", help="compress a small random model with the default codec and show the bits")
    p.add_argument("--codec", default=DEFAULT_CODEC)
    add_seed(p)
    p.set_defaults(func=run)


def run(args) -> int:
    sd = small_model(args.seed).state_dict()
    codec = Codec.from_spec(args.codec)
    out = codec.compress(sd)
    back = decompress(out.data)
    expect = {n: torch.from_numpy(t.dense()) for n, t in codec.triplets(sd).items()}
    exact = all(torch.equal(back[n], expect.get(n, sd[n])) for n in sd)
    dense_bits = sum(32 * t.numel() for t in sd.values())
    print(f"codec {codec.id}: {codec.spec().to_dict()}")
    print(out.report.table())
    print(f"dense float32: {dense_bits} bits; compressed {out.report.total_bits} bits "
          f"({dense_bits / out.report.total_bits:.1f}x); decoded tensors match the codec's triplets: {exact}")
    return 0 if exact else 1
