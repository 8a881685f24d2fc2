"""Fuzz the decoder: structure-aware mutations of real streams of every registered coder.

Seeds and mutations come from :mod:`pacbits.testing.fuzz` (payload bytes, shapes,
coder swaps, configs, dtypes and raw container bytes, each resealed with a valid
CRC). Input ``i`` is a pure function of ``(--seed, i)``, so any failure can be
replayed (``--replay I``). Workers are subprocesses, each under a memory limit
(``RLIMIT_AS`` = its size after start-up + ``--memory``) and a per-input alarm
(``--timeout`` seconds); a worker that dies or stalls is restarted and its input
counted as a crash or a hang. Every input decodes under a ``--max-size`` budget,
and a worker whose peak RSS grows past the limit counts a budget overrun.

Outcome classes: ``ok`` (decoded), ``DecodeError`` (refused), and the failures
``traceback`` (any other exception), ``memory`` (MemoryError), ``hang`` (over
the timeout), ``crash`` (the worker died), ``overrun`` (peak RSS past the limit).

Usage::

    python benchmarks/fuzz.py [--inputs 100000] [--workers 2] [--seed 0]

Writes ``benchmarks/results/fuzz.json`` and ``benchmarks/results/fuzz.md``; inputs
that fail are saved in ``benchmarks/results/fuzz-failures/``.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
FAILURES = ("traceback", "memory", "hang", "crash", "overrun")


def input_of(seeds, coder_ids, seed: int, i: int):
    """``(coder id, mutator, bytes)`` of input ``i``: a pure function of ``(seed, i)``."""
    import numpy as np

    from pacbits.testing.fuzz import mutate

    rng = np.random.default_rng([seed, i])
    cid, data = seeds[rng.integers(len(seeds))]
    kind, out = mutate(data, rng, coder_ids)
    return cid, kind, out


class Hang(KeyboardInterrupt):  # passes through every except clause that lets Ctrl-C through
    pass


def _alarm(signum, frame):
    raise Hang()


def worker(args) -> None:
    """Decode inputs ``start, start + step, ...`` below ``stop``; one JSON line per input on stdout."""
    from pacbits.core import default_registry
    from pacbits.testing.fuzz import run_one, seed_streams

    reg = default_registry()
    seeds, ids = seed_streams(reg, args.seed), reg.ids("coder")
    vm = int(re.search(r"VmSize:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (vm + args.memory, resource.RLIM_INFINITY))
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    signal.signal(signal.SIGALRM, _alarm)
    for i in range(args.start, args.stop, args.step):
        cid, kind, data = input_of(seeds, ids, args.seed, i)
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, args.timeout)
        try:
            outcome, detail = run_one(data, reg, args.max_size)
        except Hang:
            outcome, detail = "hang", f"over {args.timeout} s"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        dt = time.perf_counter() - t0
        if dt > args.timeout and outcome != "hang":  # a C call the alarm could not interrupt
            outcome, detail = "hang", f"{dt:.1f} s"
        grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base_rss
        if outcome == "ok" and grew > args.memory:
            outcome, detail = "overrun", f"peak RSS grew by {grew} bytes"
        print(json.dumps({"i": i, "coder": cid, "mutator": kind, "outcome": outcome, "detail": detail[:200],
                          "seconds": dt, "bytes": len(data), "rss_growth": grew}), flush=True)


def category(detail: str) -> str:
    """A DecodeError message without its numbers, names and quoted parts: the check that fired."""
    d = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", detail)
    d = re.sub(r"\(.*?\)|\[.*?\]", "(…)", d)
    d = re.sub(r"0x[0-9a-f]+|-?\d+(\.\d+)?(e[-+]?\d+)?", "N", d)
    return d[:90]


def spawn(args, start: int) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--worker", "--start", str(start), "--stop", str(args.inputs),
           "--step", str(args.workers), "--seed", str(args.seed), "--max-size", str(args.max_size),
           "--memory", str(args.memory), "--timeout", str(args.timeout)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=Path(__file__).resolve().parents[1])


def run(args) -> dict:
    import select

    from tqdm import tqdm

    rows, procs = [], {}
    nxt = {w: w for w in range(args.workers)}  # the next input each worker owes
    for w in range(args.workers):
        procs[w] = spawn(args, w)
    last = {w: time.monotonic() for w in procs}
    bar = tqdm(total=args.inputs, unit="input", file=sys.stderr)
    t0 = time.perf_counter()
    while procs:
        ready, _, _ = select.select([p.stdout for p in procs.values()], [], [], 1.0)
        for w, p in list(procs.items()):
            if p.stdout in ready:
                line = p.stdout.readline()
                if line:
                    row = json.loads(line)
                    rows.append(row)
                    nxt[w] = row["i"] + args.workers
                    last[w] = time.monotonic()
                    bar.update(1)
                    continue
            dead = p.poll() is not None and p.stdout in ready
            stalled = time.monotonic() - last[w] > args.timeout + 60  # start-up included
            if dead or stalled:
                if nxt[w] < args.inputs and (stalled or p.returncode != 0):
                    p.kill()
                    p.wait()
                    rows.append({"i": nxt[w], "coder": "?", "mutator": "?", "outcome": "hang" if stalled else "crash",
                                 "detail": f"worker {'stalled' if stalled else f'exited {p.returncode}'}",
                                 "seconds": None, "bytes": None, "rss_growth": None})
                    bar.update(1)
                    nxt[w] += args.workers
                if nxt[w] < args.inputs:
                    procs[w] = spawn(args, nxt[w])
                    last[w] = time.monotonic()
                else:
                    del procs[w]
    bar.close()
    return summarize(args, rows, time.perf_counter() - t0)


def summarize(args, rows: list[dict], wall: float) -> dict:
    from pacbits.core import default_registry
    from pacbits.testing.fuzz import seed_streams

    by = lambda key: {k: dict(collections.Counter(r["outcome"] for r in rows if r[key] == k))
                      for k in sorted({r[key] for r in rows})}
    refusals = collections.Counter(category(r["detail"]) for r in rows if r["outcome"] == "DecodeError")
    failures = [r for r in rows if r["outcome"] in FAILURES]
    seconds = sorted(r["seconds"] for r in rows if r["seconds"] is not None)
    reg = default_registry()
    seeds, ids = seed_streams(reg, args.seed), reg.ids("coder")
    if failures:
        (RESULTS / "fuzz-failures").mkdir(parents=True, exist_ok=True)
    for r in failures[:100]:
        if r["coder"] != "?":
            (RESULTS / "fuzz-failures" / f"{r['i']}.pbits").write_bytes(input_of(seeds, ids, args.seed, r["i"])[2])
    return {
        "command": f"python benchmarks/fuzz.py --inputs {args.inputs} --workers {args.workers} --seed {args.seed}",
        "inputs": len(rows), "coders": ids, "seed_streams": dict(collections.Counter(c for c, _ in seeds)),
        "outcomes": dict(collections.Counter(r["outcome"] for r in rows)),
        "failures": len(failures), "failure_examples": failures[:20],
        "by_coder": by("coder"), "by_mutator": by("mutator"),
        "top_refusals": refusals.most_common(25),
        "seconds": {"median": seconds[len(seconds) // 2] if seconds else None, "max": seconds[-1] if seconds else None,
                    "over_1s": sum(s > 1 for s in seconds)},
        "max_rss_growth_bytes": max((r["rss_growth"] or 0) for r in rows) if rows else 0,
        "limits": {"max_size": args.max_size, "memory": args.memory, "timeout_s": args.timeout},
        "wall_seconds": round(wall, 1), "load_before": args.load_before, "load_after": os.getloadavg(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }


def markdown(s: dict) -> str:
    lines = [f"# Fuzzing the decoder: {s['inputs']:,} inputs, {s['failures']} failures", "",
             f"Command: `{s['command']}` ({s['wall_seconds']:.0f} s wall; load average before "
             f"{s['load_before'][0]:.1f}, after {s['load_after'][0]:.1f}: "
             f"{'quiet' if s['load_before'][0] < 1.5 else 'shared'} machine).", "",
             f"Limits per input: decoding budget {s['limits']['max_size']:,} bytes, memory "
             f"{s['limits']['memory'] >> 20} MiB over the worker's start-up size, {s['limits']['timeout_s']} s.",
             "", "| outcome | inputs |", "| --- | --- |"]
    lines += [f"| {k} | {v:,} |" for k, v in sorted(s["outcomes"].items())]
    lines += ["", f"Failures (traceback, memory, hang, crash, overrun): **{s['failures']}**. Decode time per input: "
              f"median {s['seconds']['median'] * 1e3:.1f} ms, max {s['seconds']['max']:.2f} s. Largest peak-RSS "
              f"growth of a worker: {s['max_rss_growth_bytes'] / 2**20:.0f} MiB.", "",
              "| coder (seed streams) | " + " | ".join(["ok", "DecodeError", "failures"]) + " |", "| --- | --- | --- | --- |"]
    for c, counts in s["by_coder"].items():
        fails = sum(v for k, v in counts.items() if k in FAILURES)
        lines.append(f"| {c} ({s['seed_streams'].get(c, 0)}) | {counts.get('ok', 0):,} | {counts.get('DecodeError', 0):,} | {fails} |")
    lines += ["", "| mutator | ok | DecodeError | failures |", "| --- | --- | --- | --- |"]
    for m, counts in s["by_mutator"].items():
        fails = sum(v for k, v in counts.items() if k in FAILURES)
        lines.append(f"| {m} | {counts.get('ok', 0):,} | {counts.get('DecodeError', 0):,} | {fails} |")
    lines += ["", "Most frequent refusals (numbers and names elided):", "", "| DecodeError | inputs |", "| --- | --- |"]
    lines += [f"| {c.replace('|', '/')} | {n:,} |" for c, n in s["top_refusals"][:15]]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inputs", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-size", type=int, default=16 << 20, help="decoding budget per input (bytes)")
    p.add_argument("--memory", type=int, default=1 << 30, help="memory limit per worker over its start-up size")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per input")
    p.add_argument("--replay", type=int, help="decode input I here and print the outcome")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--stop", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--step", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.worker:
        worker(args)
        return 0
    if args.replay is not None:
        from pacbits.core import default_registry
        from pacbits.testing.fuzz import run_one, seed_streams

        reg = default_registry()
        cid, kind, data = input_of(seed_streams(reg, args.seed), reg.ids("coder"), args.seed, args.replay)
        print(cid, kind, len(data), *run_one(data, reg, args.max_size))
        return 0
    args.load_before = os.getloadavg()
    summary = run(args)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fuzz.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "fuzz.md").write_text(markdown(summary))
    print(markdown(summary))
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
