"""``pacbits bench``: every codec on one trained LeNet-5, ranked by the bound it certifies."""
from __future__ import annotations

from pacbits.experiments import bench

from ._common import add_data, add_json, add_out, add_seed


def register(sub) -> None:
    p = sub.add_parser("bench", help="rank every codec by the bound it certifies on a trained LeNet-5",
                       description="Run every registered codec preset (and every combination a --config file "
                                   "lists) on one LeNet-5 and write the leaderboard as JSON, markdown and PNG.")
    add_out(p, "out/bench")
    add_seed(p)
    add_data(p)
    add_json(p)
    bench.add_arguments(p)
    p.set_defaults(func=bench.run)
