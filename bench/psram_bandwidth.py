#!/usr/bin/env python3
"""PSRAM bandwidth the firmware measures (DWT CYCCNT, drivers/psram/psram_bandwidth.c) on the
simulator's full OCTOSPI model (`Octospi.exact`, CLI --psram-exact), for both boards:

- the self-test image (D-cache off: every 32-bit read is its own OCTOSPI command), its
  `spiram bandwidth` line;
- MicroPython's `psram.bandwidth()` (D-cache on: reads are 32-byte line fills), with the window
  switched to the full model after the boot, so only the measurement runs through it.

These are the model's figures, not a chip's. Usage: python bench/psram_bandwidth.py [BOARD ...]
Results go to docs/benchmarks.md by hand ("PSRAM bandwidth" section).
"""
from __future__ import annotations

import argparse
import ast
import re
import tempfile
import time
from pathlib import Path

from mpy_common import Machine, boot, build_dirs, load_board, repl_line

from h7psram.selftest_build import build_selftest

LINE = re.compile(r"spiram bandwidth read (\S+) MB/s write (\S+) MB/s limit (\S+) MB/s")


def selftest_row(board: str, top: Path) -> str:
    elf = build_selftest(board, top / board, ["SELFTEST_QUICK_MEMTEST"])
    m = Machine(load_board(board), uart="none")
    try:
        m.peripherals["OCTOSPI1"].exact = True
        m.load_elf(str(elf))
        t = time.perf_counter()
        m.run(max_seconds=2.0, until_text=" MB/s\r\n")
        wall = time.perf_counter() - t
        found = LINE.search(m.uart.output().decode(errors="replace"))
        if not found:
            raise SystemExit(f"bench: no bandwidth line from the {board} self-test")
        read, write, limit = found.groups()
        return f"| {board} | self-test (D-cache off) | {read} | {write} | {limit} | {wall:.1f} s |"
    finally:
        m.close()


def micropython_row(board: str, elf: Path) -> str:
    m, _ = boot(board, elf)
    try:
        ospi = m.peripherals["OCTOSPI1"]
        ospi.exact = True
        ospi.reevaluate()
        phase = repl_line(m, "bandwidth", "import psram; print(psram.bandwidth())")
        bw = ast.literal_eval(phase.output.strip().splitlines()[-2])
        mb = {k: f"{bw[k] / 1e6:.1f}" for k in ("read", "write", "limit")}
        return (f"| {board} | MicroPython `psram.bandwidth()` (D-cache on) | {mb['read']} | {mb['write']} | "
                f"{mb['limit']} | {phase.wall_s:.1f} s |")
    finally:
        m.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-micropython", action="store_true", help="self-test image only")
    ap.add_argument("boards", nargs="*", default=["devebox_h7a3", "weact_mini_h7a3"])
    args = ap.parse_args()
    print("| board | image | read MB/s | write MB/s | limit MB/s | wall |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for board in args.boards:
            print(selftest_row(board, Path(tmp)), flush=True)
    if not args.no_micropython:
        for board, bdir in build_dirs(args.boards).items():
            print(micropython_row(board, bdir / "firmware.elf"), flush=True)


if __name__ == "__main__":
    main()
