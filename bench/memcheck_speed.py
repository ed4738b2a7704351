#!/usr/bin/env python3
"""Time `memcheck` on a real firmware ELF: library call and the whole command.

usage: python3 bench/memcheck_speed.py ELF [--board devebox_h7a3] [--runs 10]

Prints the median and worst wall time of `check_elf` (in-process, ELF parsing
included) and of the `h7psram-memcheck` command as a fresh process (Python
start-up and imports included), which is what a user waits for.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from h7psram import boards, memcheck


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("elf")
    ap.add_argument("--board", default="devebox_h7a3")
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()

    board = boards.load_board(args.board)
    lib = []
    for _ in range(args.runs):
        t = time.perf_counter()
        report = memcheck.check_elf(args.elf, board)
        lib.append(time.perf_counter() - t)
    cmd = []
    for _ in range(args.runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "h7psram.memcheck", "--elf", args.elf,
                        "--board", args.board], capture_output=True, check=False)
        cmd.append(time.perf_counter() - t)
    sections = sum(1 for _ in report.regions)
    print(f"elf: {args.elf} ({'ok' if report.ok else 'violations'}; {sections} regions)")
    print(f"check_elf:        median {statistics.median(lib) * 1000:.1f} ms, "
          f"max {max(lib) * 1000:.1f} ms over {args.runs} runs")
    print(f"command (process): median {statistics.median(cmd) * 1000:.1f} ms, "
          f"max {max(cmd) * 1000:.1f} ms over {args.runs} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
