"""The simulator's shortcut for cache maintenance loops (sim/cache_loops.py) changes nothing the
firmware can see: same output, same cache operation counts, about the same simulated time, with
SysTick interrupts cutting the loops short. Built from tests/mpy/firmware with arm-none-eabi-gcc
(the start-up code, console and linker script of the simulator tests are reused)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from h7psram.boards import load_board  # noqa: E402
from h7psram.sim import Machine  # noqa: E402
from h7psram.sim.cache_loops import decode_loop  # noqa: E402

SIM_FW = REPO / "tests" / "sim" / "firmware"
CFLAGS = ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-O1", "-g",
          "-ffreestanding", "-nostdlib", "-nostartfiles", "-Wall", "-Werror"]
SIZE = 1 << 20


@pytest.fixture(scope="module")
def elf(tmp_path_factory) -> Path:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc is not installed")
    out = tmp_path_factory.mktemp("cache-loop") / "cache_loop.elf"
    subprocess.run([gcc, *CFLAGS, "-I", str(SIM_FW), "-T", str(SIM_FW / "link.ld"), "-o", str(out),
                    str(SIM_FW / "startup.c"), str(Path(__file__).parent / "firmware" / "cache_loop.c"),
                    "-lgcc"], check=True, capture_output=True, text=True)
    return out


def run(elf: Path, shortcut: bool) -> tuple[Machine, str]:
    m = Machine(load_board("devebox_h7a3"), uart="none")
    m.load_elf(str(elf))
    m.cache_loops.enabled = shortcut
    r = m.run(max_seconds=2)
    assert r.reason == "idle", r
    return m, m.uart.read_available().decode()


def function_bytes(elf: Path, name: str) -> tuple[int, bytes]:
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        e = ELFFile(f)
        sym = next(s for s in e.get_section_by_name(".symtab").iter_symbols() if s.name == name)
        text = e.get_section_by_name(".text")
        start = (sym["st_value"] & ~1) - text["sh_addr"]
        return sym["st_value"] & ~1, text.data()[start:start + sym["st_size"]]


def test_shortcut_changes_nothing_the_firmware_sees(elf):
    slow, slow_out = run(elf, shortcut=False)
    fast, fast_out = run(elf, shortcut=True)
    lines = sum(-(-(SIZE + 4 * i) // 32) for i in range(4))
    for m in (slow, fast):
        assert m.scs.cache_ops["DCCIMVAC"] == lines
        assert m.scs.cache_ops["DCIMVAC"] == 200 * 64
    assert slow.cache_loops.loops_run == 0
    assert fast.cache_loops.loops_run >= 4
    assert fast.cache_loops.lines_skipped > 0.9 * lines
    # interrupts still arrive during the loops, at about the same simulated times
    slow_ticks = [int(t) for t in re.findall(r"ticks (\d+)", slow_out)]
    fast_ticks = [int(t) for t in re.findall(r"ticks (\d+)", fast_out)]
    assert len(slow_ticks) == len(fast_ticks) == 4 and slow_ticks[0] >= 4
    for a, b in zip(slow_ticks, fast_ticks):
        assert abs(a - b) <= max(2, a // 10), (slow_ticks, fast_ticks)
    assert "cache loops done" in fast_out
    # the slice in which a loop is noticed stops early and is counted as half its length, as
    # any early-stopped slice (docs/simulator.md, Limits): here one per SysTick at 10 kHz
    assert abs(fast.instructions - slow.instructions) <= slow.instructions * 15 // 100


def test_only_pure_loops_are_taken_over(elf):
    def shapes(name: str) -> list:
        base, code = function_bytes(elf, name)

        def halfword(addr: int) -> int:
            off = addr - base
            return struct.unpack_from("<H", code, off)[0] if 0 <= off <= len(code) - 2 else 0

        return [s for s in (decode_loop(halfword, base + off) for off in range(0, len(code), 2)) if s]

    pure = shapes("clean_invalidate")
    assert len(pure) == 1
    shape = pure[0]
    assert shape.start <= shape.store < shape.branch < shape.exit
    assert 3 <= shape.body <= 8
    assert shape.to_branch(shape.start) == shape.body
    # the table loop reads the line address from memory: left to the model
    assert shapes("invalidate_from_table") == []
