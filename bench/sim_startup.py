#!/usr/bin/env python3
"""Simulator start-up: `python -m h7psram.sim --board B --max-seconds 0.32 ELF` as a whole process,
from its start to the first `>>> ` on its output and to its exit, the median of several runs.

Each run is a new process of this Python (the interpreter itself, not a shim in front of it),
with the UART on a pipe, so idle time runs ahead of wall-clock time as in a test. With several
--tree options the runs alternate between the package trees (A B A B ...), so a before/after
comparison shares the machine's load. The instruction count and simulated time the simulator
prints (--stats) are collected from every run: they must not differ between trees.

    PYTHONPATH=scripts python bench/sim_startup.py ELF [--board devebox_h7a3] [--runs 5]
        [--tree OLD/scripts --tree scripts] [--cold]

--cold gives every run an empty board cache (H7PSRAM_CACHE_DIR), i.e. the first start after a
devicetree change; by default the cache is warmed by one untimed run per tree first.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STATS = re.compile(r"sim: (\d+) instructions, ([\d.]+) s simulated")


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def one_run(tree: Path, argv: list[str], cache: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), H7PSRAM_CACHE_DIR=str(cache))
    # as a user's Python does: the warm-up run leaves .pyc files, later runs load them instead of
    # compiling every module again (about 1 s of CPU for the simulator's sources)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "h7psram.sim", *argv], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = b""
    prompt_s = None
    assert proc.stdout is not None
    while True:
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
        if prompt_s is None and b">>> " in seen:
            prompt_s = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.wait()
    exit_s = time.perf_counter() - t0
    stats = STATS.search(err)
    if proc.returncode or stats is None or prompt_s is None:
        raise SystemExit(f"run failed (exit {proc.returncode}, prompt seen: {prompt_s is not None}):\n{err}")
    return {"prompt_s": prompt_s, "exit_s": exit_s, "cpu_s": children_cpu() - cpu0,
            "instructions": int(stats.group(1)), "sim_s": float(stats.group(2))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("elf", type=Path)
    p.add_argument("--board", default="devebox_h7a3")
    p.add_argument("--runs", type=int, default=5, help="timed runs per tree (default 5)")
    p.add_argument("--max-seconds", default="0.32")
    p.add_argument("--tree", action="append", type=Path,
                   help="a package tree (folder holding h7psram/) to run; repeatable (default: scripts)")
    p.add_argument("--cold", action="store_true", help="an empty board cache for every run")
    args = p.parse_args()
    trees = [t.resolve() for t in (args.tree or [REPO / "scripts"])]
    argv = ["--board", args.board, "--max-seconds", args.max_seconds, "--stats", str(args.elf)]
    results: dict[Path, list[dict]] = {t: [] for t in trees}
    print(f"python {sys.executable}, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    with tempfile.TemporaryDirectory(prefix="sim-startup-") as tmp:
        warm = Path(tmp) / "warm"
        for tree in trees:
            one_run(tree, argv, warm)           # compiles the .pyc files and fills the cache
        for i in range(args.runs):
            for tree in trees:
                cache = Path(tmp) / f"cold-{i}-{len(results[tree])}-{trees.index(tree)}" if args.cold else warm
                r = one_run(tree, argv, cache)
                results[tree].append(r)
                print(f"  {tree}: >>> after {r['prompt_s']:.3f} s, exit {r['exit_s']:.3f} s, "
                      f"CPU {r['cpu_s']:.3f} s, {r['instructions']} instructions, "
                      f"{r['sim_s']:.3f} s simulated", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    for tree, runs in results.items():
        counts = sorted({(r["instructions"], r["sim_s"]) for r in runs})
        print(f"{tree}: median >>> {statistics.median(r['prompt_s'] for r in runs):.3f} s, "
              f"exit {statistics.median(r['exit_s'] for r in runs):.3f} s, "
              f"CPU {statistics.median(r['cpu_s'] for r in runs):.3f} s "
              f"({len(runs)} runs); instructions/simulated: {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
