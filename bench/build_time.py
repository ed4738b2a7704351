"""Build times: `west build` against MicroPython's own make for the same board folder with the
same make variables, as paired runs (A B A B ...) so both sides share the machine's load.

* clean pairs: ``west build -p always -b BOARD -d W`` (configure, generators, mpy-cross,
  MicroPython's make, memcheck, outputs) against ``make`` of mpy-cross and then of ``ports/stm32``
  into an empty folder with the variables the build passes (BOARD_DIR, STM32LIB_DIR,
  MICROPY_MPYCROSS, FROZEN_MANIFEST, H7PSRAM_GEN_DIR, H7PSRAM_HEAP, H7PSRAM_REPO, H7PSRAM_MBOOT)
  and the four outputs a user gets from make (firmware.elf/.bin/.hex/.dfu);
* no-op pairs: ``west build -d W`` again against the same make again, nothing changed.

CPU time is user + sys of all child processes (resource.getrusage), the fair figure while the
machine is shared; wall time is printed too. The ratio of each pair (west / make) and the median
ratio are printed. A clean build costs about 2.5 min of CPU per side.

    PYTHONPATH=scripts python bench/build_time.py [--board devebox_h7a3] [--pairs 2] [--noop-pairs 5]
    PYTHONPATH=scripts python bench/build_time.py --pairs 0 --west-dir BUILD_DIR   # no-op pairs only,
        # on an existing `west build` directory (the make side runs in its mpy/ folder)

The package tree under test is this script's repository (PYTHONPATH is set to its scripts/ for
`west build`), so a checkout of an older commit measures the state before a change.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
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


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(what: str, cmds: list[list[str]], env: dict[str, str], cwd: Path) -> Timing:
    cpu0, wall0 = children_cpu(), time.monotonic()
    for cmd in cmds:
        r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True)
        if r.returncode:
            raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    t = Timing(what, time.monotonic() - wall0, children_cpu() - cpu0)
    print(f"  {what}: {t.wall_s:.2f} s wall, {t.cpu_s:.2f} s CPU (load {os.getloadavg()[0]:.1f})",
          flush=True)
    return t


def make_cmds(ws: build.Workspace, board: str, out: Path, gen: Path, cross: Path, jobs: int,
              with_cross: bool) -> list[list[str]]:
    """MicroPython's make with the variables `west build` passes (CMakeLists.txt)."""
    env_free = ["env", "-u", "MAKEFLAGS", "-u", "MFLAGS"]
    fw = [*env_free, "make", "-C", str(ws.micropython / "ports" / "stm32"), f"-j{jobs}",
          f"BOARD_DIR={REPO / 'boards' / board}", f"BUILD={out}", f"STM32LIB_DIR={ws.stm32lib}",
          f"MICROPY_MPYCROSS={cross}/mpy-cross", f"FROZEN_MANIFEST={REPO / 'app' / 'manifest.py'}",
          f"H7PSRAM_GEN_DIR={gen}", "H7PSRAM_HEAP=split", f"H7PSRAM_REPO={REPO}", "H7PSRAM_MBOOT=0",
          *(f"{out}/firmware.{ext}" for ext in ("elf", "bin", "hex", "dfu"))]
    cross_cmd = [*env_free, "make", "-C", str(ws.micropython / "mpy-cross"), f"-j{jobs}", f"BUILD={cross}"]
    return [cross_cmd, fw] if with_cross else [fw]


def ratios(pairs: list[tuple[Timing, Timing]]) -> str:
    cpu = [a.cpu_s / b.cpu_s for a, b in pairs]
    wall = [a.wall_s / b.wall_s for a, b in pairs]
    return (f"CPU ratio median {statistics.median(cpu):.3f} ({', '.join(f'{r:.3f}' for r in cpu)}); "
            f"wall ratio median {statistics.median(wall):.3f}; "
            f"west CPU median {statistics.median(a.cpu_s for a, _ in pairs):.2f} s, "
            f"make CPU median {statistics.median(b.cpu_s for _, b in pairs):.2f} s")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--board", default="devebox_h7a3")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--pairs", type=int, default=2, help="clean pairs (default 2)")
    p.add_argument("--noop-pairs", type=int, default=5, help="no-op pairs (default 5)")
    p.add_argument("--west-dir", type=Path, help="with --pairs 0: an existing west build directory")
    args = p.parse_args()
    ws = build.locate_workspace(REPO)
    # west runs in the workspace and loads its commands from the manifest repository; they import
    # the h7psram package of this tree, whose CMakeLists.txt the build then uses
    env = dict(os.environ, PYTHONPATH=str(REPO / "scripts"))
    # as a user's Python does: modules are compiled once, later processes load the .pyc files
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    print(f"tree {REPO}, board {args.board}, -j{args.jobs}, load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="h7psram-bench-") as tmp:
        tmpd = Path(tmp)
        if args.pairs:
            west_dir = tmpd / "west-build"
            gen, ref = tmpd / "gen", tmpd / "make"
            subprocess.run([sys.executable, "-m", "h7psram.build", "generate", "--board", args.board,
                            "--heap", "split", "--gen-dir", str(gen)], env=env, check=True)
        elif args.west_dir:
            west_dir = args.west_dir.resolve()
            gen, ref = west_dir / build.GENERATED_SUBDIR, None
        else:
            p.error("--pairs 0 needs --west-dir")
        west_clean = ["west", "build", "-p", "always", "-b", args.board, "-d", str(west_dir)]
        clean: list[tuple[Timing, Timing]] = []
        for i in range(args.pairs):
            assert ref is not None
            shutil.rmtree(ref, ignore_errors=True)
            a = timed(f"clean {i + 1}: west build -p always", [west_clean], env, ws.topdir)
            b = timed(f"clean {i + 1}: make (mpy-cross + firmware)",
                      make_cmds(ws, args.board, ref / "fw", gen, ref / "mpy-cross", args.jobs, True), env, ws.topdir)
            clean.append((a, b))
        if ref is None:
            make_noop = make_cmds(ws, args.board, west_dir / build.MPY_SUBDIR, gen,
                                  west_dir / "mpy-cross", args.jobs, False)
        else:
            make_noop = make_cmds(ws, args.board, ref / "fw", gen, ref / "mpy-cross", args.jobs, False)
        noop: list[tuple[Timing, Timing]] = []
        if args.noop_pairs:
            # one untimed round first: make's side may still have an output to write (.dfu)
            timed("warm-up: west build", [["west", "build", "-d", str(west_dir)]], env, ws.topdir)
            timed("warm-up: make", make_noop, env, ws.topdir)
        for i in range(args.noop_pairs):
            a = timed(f"no-op {i + 1}: west build", [["west", "build", "-d", str(west_dir)]], env, ws.topdir)
            b = timed(f"no-op {i + 1}: make", make_noop, env, ws.topdir)
            noop.append((a, b))
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    if clean:
        print(f"clean ({len(clean)} pairs): {ratios(clean)}")
    if noop:
        print(f"no-op ({len(noop)} pairs): {ratios(noop)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
