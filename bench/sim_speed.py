#!/usr/bin/env python3
"""Simulator speed: instructions per second on a CPU-bound and an MMIO-bound test image,
and (with H7PSRAM_SIM_MPY_ELF set) MicroPython's wall time to its first `>>> `.

Usage: PYTHONPATH=scripts python bench/sim_speed.py [--repeat N]
Results go to docs/benchmarks.md by hand ("Simulator" section).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests" / "sim"))

from conftest import CFLAGS, FIRMWARE, MiniBoard  # noqa: E402
from h7psram.sim import Machine  # noqa: E402


def build(out: Path, name: str, *defines: str) -> Path:
    elf = out / f"{name}{''.join('-' + d.lower() for d in defines)}.elf"
    subprocess.run([shutil.which("arm-none-eabi-gcc") or "arm-none-eabi-gcc", *CFLAGS,
                    *(f"-D{d}" for d in defines), "-I", str(FIRMWARE), "-T", str(FIRMWARE / "link.ld"),
                    "-o", str(elf), str(FIRMWARE / "startup.c"), str(FIRMWARE / f"{name}.c"), "-lgcc"],
                   check=True)
    return elf


def measure(elf: Path, until: str, board=None, **kwargs) -> tuple[float, int, int]:
    m = Machine(board or MiniBoard(), **kwargs)
    m.load_elf(str(elf))
    t0 = time.perf_counter()
    r = m.run(until_text=until, max_seconds=60)
    wall = time.perf_counter() - t0
    m.close()
    assert r.reason == "text", r
    return wall, r.instructions, r.sim_ns


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--devebox-elf", metavar="ELF",
                    help="also boot this MicroPython build for devebox_h7a3 (PSRAM self-test + REPL on USART1)")
    args = ap.parse_args()
    print(f"host: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        cpu = build(out, "bench")
        mmio = build(out, "bench", "MMIO_LOOP")
        for label, elf, until in (("CPU-bound CRC32 loop", cpu, "crc done"),
                                  ("MMIO-bound USART ISR poll (200000 reads)", mmio, "mmio done")):
            runs = [measure(elf, until) for _ in range(args.repeat)]
            best = min(runs)
            print(f"{label}: {best[1] / 1e6:.1f} M instructions, best wall {best[0]:.3f} s "
                  f"-> {best[1] / best[0] / 1e6:.1f} M instr/s "
                  f"(all: {', '.join(f'{w:.3f}' for w, _, _ in runs)} s)")
            if "MMIO" in label:
                print(f"  per MMIO read (whole loop): {best[0] / 200000 * 1e6:.2f} us")
    elf = os.environ.get("H7PSRAM_SIM_MPY_ELF")
    if elf and Path(elf).is_file():
        from h7psram.boards import load_board
        board = load_board("devebox_h7a3")
        for _ in range(args.repeat):
            m = Machine(board, uart_name="USART3")
            m.load_elf(elf)
            t0 = time.perf_counter()
            r = m.run(until_text=">>> ", max_seconds=30)
            first = time.perf_counter() - t0
            m.reset()                           # memory (and the new filesystem) kept
            t1 = time.perf_counter()
            r2 = m.run(until_text=">>> ", max_seconds=30)
            second = time.perf_counter() - t1
            m.uart.read_available()
            i0, t2 = m.instructions, time.perf_counter()
            m.uart.write(b"for i in range(300000): pass\r\r")
            r3 = m.run(until_text=">>> ", max_seconds=60)
            loop = time.perf_counter() - t2
            loop_instr = r3.instructions - i0
            m.close()
            print(f"MicroPython 'for i in range(300000): pass': {loop:.2f} s wall, "
                  f"{loop_instr / 1e6:.1f} M instr -> {loop_instr / loop / 1e6:.1f} M instr/s")
            print(f"MicroPython to '>>> ': first boot {first:.2f} s wall ({r.instructions / 1e6:.1f} M instr "
                  f"budget, {r.sim_ns / 1e6:.0f} ms simulated), second boot {second:.2f} s wall "
                  f"({(r2.instructions - r.instructions) / 1e6:.1f} M, "
                  f"{(r2.sim_ns - r.sim_ns) / 1e6:.0f} ms simulated)")
    else:
        print("MicroPython: skipped (set H7PSRAM_SIM_MPY_ELF to a NUCLEO_H7A3ZI_Q firmware.elf)")
    if args.devebox_elf:
        from h7psram.boards import load_board
        for _ in range(args.repeat):
            m = Machine(load_board("devebox_h7a3"))
            m.load_elf(args.devebox_elf)
            t0 = time.perf_counter()
            r = m.run(until_text=">>> ", max_seconds=30)
            wall = time.perf_counter() - t0
            ops = sum(m.scs.cache_ops.values())
            m.close()
            print(f"devebox_h7a3 MicroPython to '>>> ' ({r.reason}): {wall:.2f} s wall, "
                  f"{r.sim_ns / 1e6:.0f} ms simulated, {r.instructions / 1e6:.1f} M instr, "
                  f"{ops / 1e6:.2f} M cache maintenance writes")


if __name__ == "__main__":
    main()
