"""Speed of CPU accesses to the PSRAM window through the simulator, per OCTOSPI path.

A word-copy loop (ldr/str, 4 instructions per word) runs on the real Machine:
AXI SRAM -> AXI SRAM as the reference, then SRAM -> window -> SRAM with the
window on the plain-RAM path (good configuration), on the direct MMIO path
(injected stuck bit) and on the burst model (REFRESH=0 with TCEN off).
Usage: PYTHONPATH=scripts python bench/octospi_window.py [--kib N]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "sim"))

from test_octospi_support import bring_up, build_copy_program, make_machine, route_pins, set_copies  # noqa: E402

from h7psram.sim.psram_faults import PsramFaults  # noqa: E402
from h7psram.sim.machine import Machine  # noqa: E402

SRAM_A, SRAM_B, WINDOW = 0x24000000, 0x24080000, 0x90000000


def timed_copy(m: Machine, copies: list[tuple[int, int, int]]) -> float:
    set_copies(m, *copies)
    t0 = time.perf_counter()
    result = m.run(max_seconds=60)
    wall = time.perf_counter() - t0
    assert result.reason == "idle" and m.fault_report is None, result
    return wall


def machine(elf: Path, faults: PsramFaults | None = None, **init: int) -> Machine:
    m = make_machine(faults=faults)
    m.load_elf(str(elf))
    route_pins(m)
    return m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kib", type=int, default=256, help="bytes copied each way, in KiB")
    ap.add_argument("--slow-kib", type=int, default=16, help="size for the MMIO paths")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        elf = build_copy_program(Path(tmp))
        words = args.kib * 256
        slow_words = args.slow_kib * 256
        rows = []

        m = machine(elf)
        base = min(timed_copy(machine(elf), [(SRAM_A, SRAM_B, 0)]) for _ in range(3))
        wall = timed_copy(m, [(SRAM_A, SRAM_B, words), (SRAM_B, SRAM_A, words)])
        rows.append(("AXI SRAM -> AXI SRAM (reference)", "-", 2 * words, wall))

        m = machine(elf)
        drv = bring_up(m)
        drv.memory_mapped()
        wall = timed_copy(m, [(SRAM_A, WINDOW, words), (WINDOW, SRAM_B, words)])
        rows.append(("SRAM -> window -> SRAM", drv.ospi.mapped[0], 2 * words, wall))

        m = machine(elf, PsramFaults(stuck_data_bit=3))
        drv = bring_up(m)
        drv.memory_mapped()
        wall = timed_copy(m, [(SRAM_A, WINDOW, slow_words), (WINDOW, SRAM_B, slow_words)])
        rows.append(("same, stuck data bit injected", drv.ospi.mapped[0], 2 * slow_words, wall))

        m = machine(elf)
        drv = bring_up(m, refresh=0)
        drv.memory_mapped(tcen=False)
        wall = timed_copy(m, [(SRAM_A, WINDOW, slow_words), (WINDOW, SRAM_B, slow_words)])
        rows.append(("same, REFRESH=0 and TCEN=0", drv.ospi.mapped[0], 2 * slow_words, wall))

    print(f"fixed cost of one run (empty copy, best of 3): {base * 1e3:.1f} ms, subtracted below")
    print("| copy loop | window path | words copied | wall s | M words/s | ns per word |")
    print("|---|---|---|---|---|---|")
    for what, path, n, wall in rows:
        net = max(wall - base, 1e-9)
        print(f"| {what} | {path} | {n} | {wall:.3f} | {n / net / 1e6:.2f} | {net / n * 1e9:.0f} |")


if __name__ == "__main__":
    main()
