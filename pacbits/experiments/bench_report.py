"""The leaderboard of ``pacbits bench`` as JSON (a list of rows), a markdown table and a PNG chart."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

BASELINE = "lenet5-paper2019"  # the paper's own coder (docs/coders.md)
NAMES = ("leaderboard.json", "leaderboard.md", "leaderboard.png")
PARTS = ("header", "positions", "codebook", "indices", "side", "padding")


def write(rows: list[dict], summary: dict, out: Path) -> list[Path]:
    paths = [out / name for name in NAMES]
    paths[0].write_text(json.dumps(rows, indent=2) + "\n")
    paths[1].write_text(markdown(rows, summary) + "\n")
    plot(rows, summary, paths[2])
    return paths


def _line(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _kib(bits: float | None) -> str:
    return "-" if bits is None else f"{bits / 8192:.2f}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"


def markdown(rows: list[dict], summary: dict) -> str:
    """The ranked table, the bits saved against the paper's coder on the same network, and the union-bound cost."""
    coded = [r for r in rows if r["bound"] is not None]
    head = ["rank", "codec", "network", "density", *PARTS, "compressed KiB", "robustness adj. KiB",
            "effective KiB", "test error", "stoch. train error", "Occam (4.1)", "noise-robust (4.3)", "bound",
            f"best of {summary['k']}"]
    model = f"Model `{summary['model']}`" if summary["weights"] else "Streams only"
    lines = [f"Command: `{summary['command']}` ({summary['wall_seconds'] / 60:.1f} min on {summary['cpus']} "
             f"CPUs, {summary['threads']} torch threads). {model}; n = {summary['n']} training "
             f"and {summary['n_test']} test examples. Bits by part are exact; the bounds hold with probability "
             ">= 0.95.", "", _line(head), "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for r in coded:
        lines.append(_line([r["rank"], f"`{r['codec']}`", r["network"][:6], f"{r['density']:.2%}",
                            *(f"{r['bits'][p]:,}" for p in PARTS), _kib(r["total_bits"]),
                            _kib(r["robustness_adjustment_bits"]), _kib(r["effective_bits"]),
                            *map(_pct, (r["test_error"], r["stochastic_train_error"], r["occam_bound"],
                                        r["noise_robust_bound"], r["bound"], r["best_of_k_bound"]))]))
    lines += ["", f"Best: `{summary['best']}`, bound {summary['best_bound']:.2%} after the union bound. "
                  f"{summary['statement']} Rows with the same network decode to the same weights and share "
                  "sigma and Monte Carlo draws."]
    if any(r["source"] == "stream" and r["noise_robust_bound"] is None for r in coded):
        lines += ["", "A `-` noise-robust bound: not computed. A subspace stream codes coordinates w, not the "
                      "decoded tensors that bench's σ search perturbs; its Occam bound is at the codec rows' Occam "
                      "share of the confidence (docs/bench.md)."]
    lines += _against_baseline(coded)
    lines += [f"- `{r['codec']}` could not code this model: {r['error']}" for r in rows if r["bound"] is None]
    return "\n".join(lines)


def _against_baseline(coded: list[dict]) -> list[str]:
    base = next((r for r in coded if r["codec"] == BASELINE), None)
    if base is None:
        return []
    same = [r for r in coded if r["network"] == base["network"] and r is not base]
    out = ["", f"Against the paper's own coder (`{BASELINE}`, {base['total_bits']:,} bits) on the same network:", "",
           _line(["codec", "bits", "saved bits", "saved"]), "|---|---:|---:|---:|"]
    for r in sorted(same, key=lambda r: r["total_bits"]):
        saved = base["total_bits"] - r["total_bits"]
        share = saved / base["total_bits"]
        out.append(_line([f"`{r['codec']}`", f"{r['total_bits']:,}", f"{saved:,}", f"{share:.1%}"]))
    return out


def plot(rows: list[dict], summary: dict, path: Path) -> None:
    """Bound (best-of-K, with both theorems' bounds marked) and compressed/effective size per codec."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    coded = [r for r in rows if r["bound"] is not None]
    y = list(range(len(coded)))
    names = [textwrap.fill(r["codec"], 48) for r in coded]  # a stream's name holds its path
    lines = sum(name.count("\n") + 1 for name in names)
    fig, (left, right) = plt.subplots(1, 2, sharey=True, figsize=(11, 1.4 + 0.4 * lines))
    left.barh(y, [100 * r["best_of_k_bound"] for r in coded], color="tab:blue", label=f"best of {summary['k']}")
    left.scatter([100 * r["occam_bound"] for r in coded], y, marker="|", s=120, color="black", label="Occam (4.1)")
    robust = [(100 * r["noise_robust_bound"], i) for i, r in enumerate(coded) if r["noise_robust_bound"] is not None]
    left.scatter([b for b, _ in robust], [i for _, i in robust], marker="x", color="tab:red",
                 label="noise-robust (4.3)")
    left.set_xlabel("test error bound (%)")
    left.set_yticks(y, names)
    left.invert_yaxis()
    left.legend(fontsize="small", loc="lower left", bbox_to_anchor=(0, 1), ncol=3, frameon=False)
    right.barh(y, [r["total_bits"] / 8192 for r in coded], fill=False, edgecolor="gray", label="compressed")
    right.barh(y, [(r["effective_bits"] or 0) / 8192 for r in coded], height=0.5, color="tab:green",
               label="effective")
    right.set_xlabel("size (KiB)")
    right.legend(fontsize="small", loc="lower left", bbox_to_anchor=(0, 1), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
