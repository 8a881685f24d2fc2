"""The codec leaderboard on the trained LeNet-5: ``pacbits bench`` with ``benchmarks/leaderboard.json``.

Every registered preset (``lenet5-paper`` with csr-arithmetic, the paper's own coder
``lenet5-paper2019``, ...) plus the config's combinations (the same 4-bit k-means
coded by huffman and fixed-width codes). Other arguments go to ``pacbits bench``.

Usage::

    python benchmarks/leaderboard.py [--weights STATE_DICT.pt] [--out out/leaderboard] [pacbits bench options]

Copies ``leaderboard.{json,md,png}`` from the output folder to ``benchmarks/results/``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from pacbits.cli import main
from pacbits.experiments.bench_report import NAMES

HERE = Path(__file__).parent

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("out/leaderboard"))
    args, rest = ap.parse_known_args()
    config = os.path.relpath(HERE / "leaderboard.json")
    code = main(["bench", "--config", config, "--out", str(args.out), *rest])
    if code == 0:
        for name in NAMES:
            shutil.copy(args.out / name, HERE / "results" / name)
    sys.exit(code)
