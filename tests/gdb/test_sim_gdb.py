"""The simulator's GDB server against real GDB (gdb-multiarch) in batch mode, on the
self-test image: breakpoints, finish, Cortex-M registers, peripheral and PSRAM-window
reads, an injected fault stopping in GDB with a backtrace through the exception frame."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from gdbsim import DQSE, GDB, WCCR, SimUnderGdb
from gdbsim import words as _words
from h7psram.selftest_build import build_selftest

pytestmark = [
    pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed"),
    pytest.mark.skipif(GDB is None, reason="no GDB for Arm (apt install gdb-multiarch)"),
]


@pytest.fixture(scope="module")
def elf(tmp_path_factory) -> Path:
    return build_selftest("devebox_h7a3", tmp_path_factory.mktemp("gdbimg"), ["SELFTEST_QUICK_MEMTEST"])


@pytest.fixture
def sim(elf, tmp_path):
    s = SimUnderGdb(elf, tmp_path)
    yield s
    s.close()


def test_break_finish_registers_and_memory(sim):
    out = sim.gdb("info registers", "break psram_init", "continue", "finish", f"x/wx {WCCR:#x}",
                  "info registers xpsr msp psp primask basepri faultmask control fpscr d0",
                  "break psram_memtest_run", "continue", "finish",
                  "x/4wx 0x90000000", "x/4wx 0x907ff000",
                  "set {unsigned int}0x90400000 = 0xcafef00d", "x/wx 0x90400000",
                  "stepi", "info registers pc", "kill")
    assert "pc             0x80002b0" in out or re.search(r"pc\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <Reset_Handler>", out), out
    assert "Breakpoint 1, psram_init" in out and "Value returned is $1 = PSRAM_OK" in out, out
    assert _words(out, WCCR)[0] & DQSE
    for reg in ("xpsr", "msp", "psp", "primask", "basepri", "faultmask", "control", "fpscr", "d0"):
        assert re.search(rf"^{reg}\s+0x|^{reg}\s+\S", out, re.M), (reg, out)
    assert "Breakpoint 2, psram_memtest_run" in out and "Value returned is $2 = 0" in out, out
    # the quick memtest's last pass leaves its pattern in the first and last 4 KiB
    first, last = _words(out, 0x90000000), _words(out, 0x907FF000)
    assert any(first) and any(last), out
    assert _words(out, 0x90400000) == [0xCAFEF00D]


def test_injected_fault_stops_with_backtrace(sim):
    out = sim.gdb("break psram_init", "continue", "set $r0 = 0x60000000", "continue", "bt",
                  "x/wx 0xe000ed28", "kill")
    assert "Program received signal SIGSEGV" in out and "HardFault_Handler" in out, out
    bt = out[out.index("#0"):]
    assert re.search(r"#1\s+<signal handler called>", bt), bt
    assert re.search(r"#2\s+0x[0-9a-f]+ in psram_init \(info=0x60000000", bt), bt
    assert re.search(r"#3\s+0x[0-9a-f]+ in main \(\)", bt), bt
    assert _words(out, 0xE000ED28)[0] & 0x8200 == 0x8200      # CFSR: BFARVALID | PRECISERR


def test_ctrl_c_interrupts_a_running_target(sim):
    out = sim.gdb("continue", "info registers pc", "kill", interrupt_after=3.0)
    assert "Program received signal SIGINT" in out, out
    assert re.search(r"pc\s+0x[0-9a-f]+", out), out
