"""The README's LeNet-5 bound with another coder, on the committed network (no retraining).

``docs/lenet5/`` holds the full ``pacbits reproduce lenet5`` run: the bitstream
(``lenet5.pbits``, coded by ``lenet5-paper``) and ``report.json`` (its σ per tensor,
training error and seed). This script decodes that network, codes it with another
preset (default ``lenet5-structured``: the same DNS + 4-bit k-means recipe, coded by
``csr-structured``), checks that the decoded networks are identical, and computes the
bounds exactly as ``reproduce`` does (:func:`pacbits.experiments.lenet5.bounds`: Occam
and noise-robust, confidence split between them). σ was searched on the network, not
on the code, and the Monte Carlo draws depend only on the network, σ and the seed, so
both carry over: the Hoeffding correction needs only the draws' mean and number, taken
from the report (``stochastic_train_error``, ``monte_carlo_draws``). ``--redraw``
draws them again with the run's seeds instead (5 noisy passes over MNIST: minutes)
and checks that their mean is the report's.

Usage::

    python benchmarks/lenet5_recode.py [--codec lenet5-structured] [--redraw [--data MNIST_DIR]]

Writes ``benchmarks/results/lenet5_<codec>.json`` and prints the Table 1 row.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from pacbits.core import Codec, decompress
from pacbits.data import load_mnist
from pacbits.experiments import lenet5 as pipeline
from pacbits.models import lenet5
from pacbits.stochastic import batch_errors

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "docs" / "lenet5"
RESULTS = Path(__file__).parent / "results"


def recode(codec_id: str, draws: np.ndarray | None = None) -> tuple[dict, object, dict]:
    """(summary, the Compressed stream, the bounds) of the run's network coded by ``codec_id``.

    ``draws``: per-draw Monte Carlo error rates; default the report's mean, repeated.
    """
    report = json.loads((RUN / "report.json").read_text())
    state = decompress((RUN / "lenet5.pbits").read_bytes())
    packed = Codec.from_spec(codec_id).compress(state)
    recoded = decompress(packed.data)
    assert all(torch.equal(recoded[k], state[k]) for k in state), "the codec changed the network"
    if draws is None:
        draws = np.full(report["monte_carlo_draws"], report["stochastic_train_error"])  # same Hoeffding correction
        assert abs(float(draws.mean()) - report["stochastic_train_error"]) < 1e-15
    b = pipeline.bounds(packed.report, report["sigma"], report["train_error"], np.asarray(draws).tolist(), report["n"])
    out = {"codec": codec_id, "network": str((RUN / "lenet5.pbits").relative_to(ROOT)),
           "compressed_bits": packed.report.total_bits, "effective_bits": b["robust"].kl.bits,
           "bound": b["bound"], "bound_reported": b["reported"], "occam_bound": b["occam"].bound,
           "noise_robust_bound": b["robust"].bound, "train_error": report["train_error"],
           "stochastic_train_error": float(np.mean(draws)), "monte_carlo_draws": int(np.size(draws)),
           "reference": {"codec": report["codec"]["id"], "compressed_bits": report["compressed_bits"],
                         "effective_bits": report["effective_bits"], "bound": report["bound"],
                         "occam_bound": report["occam_bound"], "original_bits": report["original_bits"]},
           "bits": packed.report.to_dict()}
    return out, packed, b


def redraw(codec_id: str, data_dir: Path | None) -> np.ndarray:
    """The run's Monte Carlo draws again: same network, σ and seeds; their mean must be the report's."""
    report = json.loads((RUN / "report.json").read_text())
    model = lenet5()
    model.load_state_dict(decompress((RUN / "lenet5.pbits").read_bytes()))
    data = load_mnist(data_dir)
    cfg = pipeline.SCHEDULE["noise"]
    passes = report["monte_carlo_draws"] * cfg["batch_size"] // len(data.train_y)
    print(f"redrawing {report['monte_carlo_draws']} noisy mini-batches ({passes} passes)", file=sys.stderr)
    draws = batch_errors(model, data.train_x, data.train_y, report["sigma"], batch_size=cfg["batch_size"],
                         passes=passes, seed=report["seed"] + pipeline.SEEDS["draws"])
    assert abs(float(np.mean(draws)) - report["stochastic_train_error"]) < 1e-12, "draws differ from the run's"
    return draws


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codec", default="lenet5-structured")
    ap.add_argument("--redraw", action="store_true", help="redraw the Monte Carlo errors (minutes)")
    ap.add_argument("--data", type=Path, default=None)
    args = ap.parse_args(argv)
    out, packed, b = recode(args.codec, redraw(args.codec, args.data) if args.redraw else None)
    ref = out["reference"]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"lenet5_{args.codec}.json").write_text(json.dumps(out, indent=2) + "\n")
    print(packed.report.table(), "", b["robust"].table(), "",
          pipeline.table1(ref["original_bits"], out["compressed_bits"], out["effective_bits"], out["bound"]), sep="\n")
    print(f"\nbound {100 * out['bound']:.2f} % ({out['bound_reported']}; Occam {100 * out['occam_bound']:.2f} %); "
          f"{ref['codec']}: {ref['compressed_bits']:,} bits, bound {100 * ref['bound']:.2f} % "
          f"(Occam {100 * ref['occam_bound']:.2f} %)")
    return out


if __name__ == "__main__":
    main()
