#!/usr/bin/env python3
"""MicroPython workloads on the simulated boards: gc.collect() on a full 8 MiB heap (filled with
small live objects first), and a pystone-like integer loop. Wall time, simulated instructions and
instructions per second of each REPL line, plus the firmware's own ticks_us for it.

Usage: python bench/mpy_workloads.py [BOARD ...]
Results go to docs/benchmarks.md by hand ("MicroPython on the simulator" section).
"""
from __future__ import annotations

import argparse
import os

from mpy_common import boot, build_dirs, repl_line

FILL = ("exec('import gc\\nl=[]\\ntry:\\n while True: l.append(bytearray(4096))\\n"
        "except MemoryError: pass\\nprint(len(l), gc.mem_free())')")
COLLECT = ("import time; t=time.ticks_us(); gc.collect(); "
           "print('us', time.ticks_diff(time.ticks_us(), t), 'free', gc.mem_free())")
LOOP_DEF = ("exec('def loop(n):\\n s=0\\n for i in range(n):\\n  s+=(i*i)%7\\n  s^=i<<1\\n return s')")
LOOP = ("t=time.ticks_us(); r=loop(200000); "
        "print('us', time.ticks_diff(time.ticks_us(), t), 'r', r)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("boards", nargs="*", default=["devebox_h7a3", "weact_mini_h7a3"])
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print("| board | phase | wall | instructions | simulated | instr/s |")
    print("|---|---|---|---|---|---|")
    for board, bdir in build_dirs(args.boards).items():
        m, phase = boot(board, bdir / "firmware.elf")
        print(phase.row(board), flush=True)
        fill = repl_line(m, "fill the heap with 4 KiB bytearrays", FILL, 600)
        print(fill.row(board), "<!--", fill.output.strip().splitlines()[-1], "-->", flush=True)
        col = repl_line(m, "`gc.collect()` on the full heap", COLLECT, 600)
        print(col.row(board), "<!--", col.output.strip().splitlines()[-1], "-->", flush=True)
        repl_line(m, "free", "l=None; gc.collect()", 600)
        repl_line(m, "define", LOOP_DEF)
        loop = repl_line(m, "pystone-like loop, 200 000 iterations", LOOP, 600)
        print(loop.row(board), "<!--", loop.output.strip().splitlines()[-1], "-->", flush=True)
        m.close()
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
