"""Markdown tables and PNG plots of a label-randomization result (``randomization.json``)."""
from __future__ import annotations

from pathlib import Path

PLOTS = ("accuracy_vs_sparsity.png", "bits_vs_randomization.png")


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(head: list[str], rows: list[list]) -> list[str]:
    return [_row(head), "|" + "---:|" * len(head), *(_row(r) for r in rows)]


def markdown(result: dict) -> str:
    """The summary table (bits needed, Theorem 6.1) and the training accuracy at every sparsity."""
    s, n = result["settings"], result["n"]
    head = ["labels randomized", "train error", "test error", "clean test error", "Thm 6.1 H(ĥ) ≥ bits",
            f"sparsity at ≥ {s['threshold']:.0%} coded train acc", "coded train acc", "bitstream bits",
            "bits / example"]
    rows = []
    for lv in result["levels"]:
        need = lv["needed"]
        rows.append([f"{lv['fraction']:.0%}", f"{lv['train_error']:.2%}", f"{lv['test_error']:.2%}",
                     f"{lv['clean_test_error']:.2%}", f"{lv['entropy_lower_bound']['bits']:,.0f}",
                     *([f"{need['sparsity']:.1%}", f"{need['coded_train_accuracy']:.2%}", f"{need['bits']:,}",
                        f"{need['bits'] / n:.1f}"] if need else ["none", "–", "–", "–"])])
    sparsities = [p["sparsity"] for p in result["levels"][0]["pruned"]] if result["levels"] else []
    grid = [[f"{lv['fraction']:.0%}", *(f"{p['train_accuracy']:.1%}" for p in lv["pruned"])] for lv in result["levels"]]
    coded = [[f"{lv['fraction']:.0%}", *(f"{p['bits']:,}" for p in lv["pruned"])] for lv in result["levels"]]
    spars = [f"{v:.1%}" for v in sparsities]
    return "\n".join([
        f"Command: `{result['command']}` ({result['wall_seconds'] / 60:.1f} min on {result['cpus']} CPUs, "
        f"{s['threads']} torch thread(s)); n = {n} training examples, LeNet-300-100, "
        f"codec {_codec_name(result)}.", "",
        *_table(head, rows), "",
        "Training accuracy after pruning and retraining (Figure 1), by sparsity:", "",
        *_table(["labels randomized", *spars], grid), "",
        "Bitstream bits, by sparsity:", "",
        *_table(["labels randomized", *spars], coded), ""])


def _codec_name(result: dict) -> str:
    c = result["codec"]
    q = c.get("quantizer")
    return f"{q['bits']}-bit k-means (float16 codebook) + {c['coder']['id']}" if q else f"exact values + {c['coder']['id']}"


def plot(result: dict, out: Path) -> list[Path]:
    """Training accuracy vs sparsity per fraction, and bits needed vs fraction with Theorem 6.1's bound."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    threshold, n = result["settings"]["threshold"], result["n"]
    paths = [out / name for name in PLOTS]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for lv in result["levels"]:
        kept = [100 * (1 - p["sparsity"]) for p in lv["pruned"]]
        ax.plot(kept, [100 * p["train_accuracy"] for p in lv["pruned"]], "o-", ms=3,
                label=f"{lv['fraction']:.0%} random")
    ax.axhline(100 * threshold, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("weights kept (%, log scale)")
    ax.set_ylabel("training accuracy (%)")
    ax.set_title(f"LeNet-300-100, {n} MNIST examples: pruned and retrained")
    ax.legend(title="labels", fontsize=8)
    fig.tight_layout()
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    fractions = [100 * lv["fraction"] for lv in result["levels"]]
    needed = [(100 * lv["fraction"], lv["needed"]["bits"]) for lv in result["levels"] if lv["needed"]]
    if needed:
        ax.plot(*zip(*needed), "o-", label=f"bitstream, fewest keeping ≥ {threshold:.0%} train acc")
    ax.plot(fractions, [max(lv["entropy_lower_bound"]["bits"], 1.0) for lv in result["levels"]], "s--",
            label="Theorem 6.1 lower bound on H(ĥ)")
    ax.set_yscale("log")
    ax.set_xlabel("labels randomized (%)")
    ax.set_ylabel("bits")
    ax.set_title(f"Bits to describe the fit ({_codec_name(result)})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)
    return paths
