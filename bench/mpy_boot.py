#!/usr/bin/env python3
"""Start-to-REPL time of the real MicroPython firmware on the simulated boards: wall time,
simulated instructions and time, instructions per second; each board booted N times from a
blank flash (so every boot creates the filesystem, as a fresh board does).

Usage: python bench/mpy_boot.py [--repeat N] [BOARD ...]
Results go to docs/benchmarks.md by hand ("MicroPython on the simulator" section).
"""
from __future__ import annotations

import argparse
import os
import statistics

from mpy_common import build_dirs, boot


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("boards", nargs="*", default=["devebox_h7a3", "weact_mini_h7a3"])
    args = ap.parse_args()
    dirs = build_dirs(args.boards)
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("| board | phase | wall | instructions | simulated | instr/s |")
    print("|---|---|---|---|---|---|")
    for board, bdir in dirs.items():
        walls = []
        for _ in range(args.repeat):
            m, phase = boot(board, bdir / "firmware.elf")
            m.close()
            walls.append(phase.wall_s)
            print(phase.row(board), flush=True)
        print(f"<!-- {board}: median {statistics.median(walls):.2f} s, min {min(walls):.2f} s -->")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
