"""The README's main job, last step: boot a firmware on the simulated board and
ask its REPL how much heap it has.

    python -m h7psram.demo -d build

Prints the boot log (PSRAM ID, memtest verdict, MicroPython banner), then
sends ``gc.mem_free()`` to the REPL over the simulator's pseudo-terminal and
prints the answer. Exit status 0 when the REPL answered, 1 when the firmware
did not reach it, 2 when the input cannot be used.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from h7psram import buildinfo
from h7psram.errors import H7Error, InputError
from h7psram.sim.process import SimProcess


def run(build_dir: Path, timeout: float) -> int:
    info = buildinfo.read_build_info(build_dir)
    elf = info.elf
    if not elf.exists():
        raise InputError(f"{elf}: firmware ELF not found (run 'west build' first)")
    print(f"demo: booting {elf} on the simulated {info.board}", flush=True)
    started = time.monotonic()
    with SimProcess(info.board, elf) as sim:
        try:
            boot = sim.wait_for(r">>> ", timeout)
        except (TimeoutError, RuntimeError) as err:
            print(f"demo: the firmware did not reach the REPL: {err}", file=sys.stderr)
            return 1
        print(boot.replace("\r\n", "\n"), flush=True)
        print(f"demo: REPL prompt after {time.monotonic() - started:.2f} s wall", flush=True)
        sim.write(b"import gc; gc.collect(); print(gc.mem_free())\r")
        answer = sim.wait_for(r"\r\n>>> ", timeout)
        print(">>> " + answer.replace("\r\n", "\n"), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m h7psram.demo", description=__doc__.splitlines()[0])
    ap.add_argument("-d", "--build-dir", default="build", type=Path)
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds to wait for each answer (default 120)")
    args = ap.parse_args(argv)
    try:
        return run(args.build_dir, args.timeout)
    except H7Error as err:
        print(f"demo: error: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
