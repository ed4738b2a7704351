#!/usr/bin/env python3
"""Where the simulator's time goes: start-up phases, then a cProfile of the run split into the
engine (unicorn's own time inside emu_start), MMIO callbacks, exception entry/return, UART I/O,
cache-loop takeovers and the run loop's own Python.

Scenarios (results in docs/benchmarks.md, "Simulator start-up and profile"):

* ``boot``: the phases of ``python -m h7psram.sim --board B --max-seconds 0.32 ELF`` in-process
  (imports, board, Machine, ELF load), then the run to the end, profiled;
* ``idle``: after the boot, ``--idle S`` more simulated seconds at the REPL (nothing typed);
* ``mpytest``: the simulator as its own process on a pty under cProfile, while
  ``west mpytest --device PTY`` runs the named upstream test files against it (needs the
  workspace: run from it, or set H7PSRAM_WORKSPACE).

    PYTHONPATH=scripts python bench/sim_profile.py ELF [--board devebox_h7a3] [--idle 2]
        [--mpytest basics/int_small.py basics/list1.py ...] [--top 15]

Profiling slows the Python side (every call is counted) and not the engine, so the shares of
the Python categories are upper bounds; the unprofiled figures are printed first.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

# category -> (file suffix, function name) patterns of the functions unicorn calls back into
MMIO = ("_bus_read", "_bus_write", "_scs_read", "_scs_write", "<lambda>")
# the binding calls the hooks of Machine (_on_intr: exception return and SVC; _on_invalid;
# _on_unmapped) through its own decorator, named "wrapper"
EXCEPTION_HOOKS = ("_on_intr", "_on_invalid", "_on_unmapped", "wrapper")


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> str:
    wall, cpu = clock()
    return f"{wall - start[0]:.3f} s wall, {cpu - start[1]:.3f} s CPU"


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def interpreter_start() -> None:
    for flags in ([], ["-S"]):
        t0, c0 = time.perf_counter(), children_cpu()
        for _ in range(5):
            subprocess.run([sys.executable, *flags, "-c", "pass"], check=True)
        print(f"  python {' '.join(flags + ['-c', 'pass'])}: {(time.perf_counter() - t0) / 5 * 1000:.0f} ms "
              f"wall, {(children_cpu() - c0) / 5 * 1000:.0f} ms CPU per process (5 runs)")


def categories(source: "cProfile.Profile | str", top: int) -> None:
    out = io.StringIO()
    stats = pstats.Stats(source, stream=out)
    entries = stats.stats  # type: ignore[attr-defined]
    emu = [k for k in entries if k[2] == "emu_start"]
    total = sum(v[3] for k, v in entries.items() if k[2] in ("run",) and k[0].endswith("machine.py"))
    buckets = {"engine (unicorn, inside emu_start)": sum(entries[k][2] for k in emu)}
    # functions called from inside emu_start are unicorn's callbacks into Python
    callbacks: dict[str, float] = {}
    for key, (_cc, _nc, _tt, _ct, callers) in entries.items():
        for caller, (_c, _n, _t, ct) in callers.items():
            if caller in emu:
                name = key[2]
                what = ("MMIO callbacks" if name in MMIO else
                        "unicorn hooks (exception return, SVC, ...)" if name in EXCEPTION_HOOKS else
                        f"other callbacks ({name})")
                callbacks[what] = callbacks.get(what, 0.0) + ct
    buckets.update(callbacks)
    for label, names in (("exception entry/return (run loop)", ("_deliver",)),
                         ("UART I/O (poll, pty)", ("poll",)),
                         ("cache-loop takeover", ("run_pending", "continue_active")),
                         ("idle (WFI skip, input wait)", ("_idle",))):
        buckets[label] = sum(v[3] for k, v in entries.items() if k[2] in names
                             and any(c[2] == "run" for c in v[4]))
    print(f"  profiled run: {total:.3f} s")
    for label, seconds in buckets.items():
        print(f"    {label:45s} {seconds:7.3f} s  {100 * seconds / total if total else 0:5.1f} %")
    rest = total - sum(buckets.values())
    print(f"    {'run loop and slice bookkeeping (rest)':45s} {rest:7.3f} s  {100 * rest / total if total else 0:5.1f} %")
    stats.sort_stats("tottime").print_stats(top)
    print("\n".join("    " + line for line in out.getvalue().splitlines()[6:] if line.strip()))


def boot_and_idle(elf: Path, board_name: str, idle: float, top: int) -> None:
    t = clock()
    from h7psram.sim.machine import Machine  # noqa: F401 (the import is what is timed)
    import h7psram.sim.cli  # noqa: F401
    print(f"  import h7psram.sim.cli + machine (unicorn): {since(t)}")
    t = clock()
    from h7psram.boards import load_board
    board = load_board(board_name)
    print(f"  load_board({board_name}) (cache at {os.environ.get('H7PSRAM_CACHE_DIR', '~/.cache/h7psram')}): "
          f"{since(t)}; devicetree imported: {'devicetree.edtlib' in sys.modules}")

    def machine():
        t = clock()
        m = Machine(board, uart="none")
        print(f"  Machine(): {since(t)}")
        t = clock()
        m.load_elf(str(elf))
        print(f"  load_elf: {since(t)}")
        return m

    m = machine()
    t = clock()
    r = m.run(max_seconds=0.32)
    print(f"  run 0.32 s simulated, unprofiled: {since(t)}, {r.instructions} instructions, "
          f"{r.sim_ns / 1e9:.4f} s simulated, prompt seen: {m.uart.output_contains('>>> ')}")
    m.close()
    m = machine()
    prof = cProfile.Profile()
    prof.enable()
    m.run(max_seconds=0.32)
    prof.disable()
    print("boot, profiled:")
    categories(prof, top)
    if idle:
        t = clock()
        r = m.run(max_seconds=idle)
        print(f"idle REPL, {idle} s simulated more, unprofiled: {since(t)}, {r.instructions} instructions")
        prof = cProfile.Profile()
        prof.enable()
        m.run(max_seconds=idle)
        prof.disable()
        print("idle REPL, profiled:")
        categories(prof, top)
    m.close()


def mpytest(elf: Path, board: str, tests: list[str], top: int, out: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "scripts"))
    sim = subprocess.Popen([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "h7psram.sim",
                            "--board", board, "--pty", str(elf)], env=env, stdout=subprocess.PIPE, text=True)
    assert sim.stdout is not None
    line = sim.stdout.readline()
    match = re.match(r"pty: (\S+)", line)
    if not match:
        sim.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    # as `west mpytest` does with its own simulator: power up by opening the port, let the boot
    # (memtest included) reach the prompt, then hand the port over
    import serial
    with serial.Serial(match.group(1), 115200, timeout=1) as port:
        seen, deadline = b"", time.monotonic() + 120
        while b">>> " not in seen and time.monotonic() < deadline:
            seen += port.read(256)
    t = clock()
    res = subprocess.run(["west", "mpytest", "--device", match.group(1), "--board", board, *tests],
                         env=env, capture_output=True, text=True)
    print(f"  west mpytest {' '.join(tests)}: exit {res.returncode}, {since(t)} (CPU of this process only)")
    print("\n".join("    " + l for l in res.stdout.splitlines()[-len(tests) - 2:]))
    sim.send_signal(signal.SIGTERM)
    sim.wait(60)
    print("simulator during the mpytest run, profiled:")
    categories(str(out), top)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("elf", type=Path)
    p.add_argument("--board", default="devebox_h7a3")
    p.add_argument("--idle", type=float, default=2.0, help="simulated seconds at the idle REPL (0: none)")
    p.add_argument("--mpytest", nargs="+", metavar="TEST", help="upstream test files to run over the pty")
    p.add_argument("--top", type=int, default=15, help="functions listed by own time")
    args = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("interpreter:")
    interpreter_start()
    if args.mpytest:
        mpytest(args.elf.resolve(), args.board, args.mpytest, args.top, Path("/tmp") / f"sim-profile-{os.getpid()}.prof")
    else:
        print("boot, phases:")
        boot_and_idle(args.elf, args.board, args.idle, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
