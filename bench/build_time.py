"""Build times: `west build` against MicroPython's own make.

Runs, each from an empty temporary build directory unless noted:

* ``west build -b BOARD``                       (CMake + make + memcheck + outputs)
* ``west build`` again with nothing changed     (the incremental no-op)
* ``make -C ports/stm32 BOARD_DIR=<repo>/boards/BOARD``  MicroPython's make alone, same board
* ``make -C ports/stm32 BOARD=NUCLEO_H7A3ZI_Q``  MicroPython's make for its own H7A3 board
* the same make again with nothing changed

Every make run builds its own mpy-cross first (as `west build` does) and writes
only below the temporary directory: BUILD= and MICROPY_MPYCROSS= point there,
because MicroPython passes a command-line BUILD= on to its mpy-cross sub-make.

Wall time on a shared machine mostly measures the other jobs; the CPU time
(user + sys of all child processes) is the fairer comparison and is printed too.

    PYTHONPATH=scripts python bench/build_time.py [--board devebox_h7a3] [--jobs 2] [--skip-reference]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from h7psram import build  # noqa: E402


@dataclass
class Timing:
    what: str
    wall_s: float
    cpu_s: float
    ok: bool


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(what: str, cmds: list[list[str]], cwd: Path) -> Timing:
    print(f"-- {what}", flush=True)
    cpu0, wall0 = children_cpu(), time.monotonic()
    ok = True
    for cmd in cmds:
        r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode:
            print(f"   failed: {' '.join(cmd)}\n{r.stderr[-2000:]}", flush=True)
            ok = False
            break
    t = Timing(what, time.monotonic() - wall0, children_cpu() - cpu0, ok)
    print(f"   {t.wall_s:.1f} s wall, {t.cpu_s:.1f} s CPU", flush=True)
    return t


def make_cmds(ws: build.Workspace, out: Path, jobs: int, board_args: list[str]) -> list[list[str]]:
    env_free = ["env", "-u", "MAKEFLAGS", "-u", "MFLAGS"]
    cross = out / "mpy-cross"
    fw = out / "fw"
    return [
        [*env_free, "make", "-C", str(ws.micropython / "mpy-cross"), f"-j{jobs}", f"BUILD={cross}"],
        [*env_free, "make", "-C", str(ws.micropython / "ports" / "stm32"), f"-j{jobs}", *board_args,
         f"BUILD={fw}", f"STM32LIB_DIR={ws.stm32lib}", f"MICROPY_MPYCROSS={cross}/mpy-cross",
         f"{fw}/firmware.elf", f"{fw}/firmware.bin", f"{fw}/firmware.hex", f"{fw}/firmware.dfu"],
    ]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--board", default="devebox_h7a3")
    p.add_argument("--reference", default="NUCLEO_H7A3ZI_Q", help="MicroPython's own board to compare")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--skip-reference", action="store_true", help="only the west build runs")
    args = p.parse_args()
    ws = build.locate_workspace(REPO)
    load = os.getloadavg()[0]
    results: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="h7psram-bench-") as tmp:
        tmpd = Path(tmp)
        bdir = tmpd / "west-build"
        results.append(timed(f"west build -b {args.board} (clean)",
                             [["west", "build", "-b", args.board, "-d", str(bdir)]], REPO))
        results.append(timed("west build (nothing changed)", [["west", "build", "-d", str(bdir)]], REPO))
        if not args.skip_reference:
            same = make_cmds(ws, tmpd / "make-same", args.jobs, [f"BOARD_DIR={REPO / 'boards' / args.board}"])
            results.append(timed(f"make BOARD_DIR=boards/{args.board} (clean)", same, REPO))
            results.append(timed(f"make BOARD_DIR=boards/{args.board} (nothing changed)", same[1:], REPO))
            ref = make_cmds(ws, tmpd / "make-ref", args.jobs, [f"BOARD={args.reference}"])
            results.append(timed(f"make BOARD={args.reference} (clean)", ref, REPO))
            results.append(timed(f"make BOARD={args.reference} (nothing changed)", ref[1:], REPO))
    print(f"\nload average at start: {load:.1f}; jobs: {args.jobs}\n")
    print("| build | wall | CPU (user+sys) |")
    print("|---|---|---|")
    for t in results:
        flag = "" if t.ok else " (FAILED)"
        print(f"| {t.what}{flag} | {t.wall_s:.1f} s | {t.cpu_s:.1f} s |")
    return 0 if all(t.ok for t in results) else 1


if __name__ == "__main__":
    sys.exit(main())
