"""Real GDB (gdb-multiarch, batch mode) against the simulator running the MicroPython firmware of
devebox_h7a3: the PSRAM bring-up, the GC heap the firmware put in the PSRAM window, and an
injected fault stopping in GDB with a backtrace through the exception frame."""
from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from gdbsim import DQSE, GDB, WCCR, SimUnderGdb, words

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mpy"))
import firmware_builds as fb  # noqa: E402

BOARD = "devebox_h7a3"
pytestmark = [
    pytest.mark.micropython,
    pytest.mark.skipif(GDB is None, reason="no GDB for Arm (apt install gdb-multiarch)"),
]


@pytest.fixture(scope="module")
def elf() -> Path:
    ws, why = fb.workspace_or_reason()
    if ws is None:
        pytest.skip(why)
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    try:
        return fb.build_board(BOARD, ws) / "firmware.elf"
    except (fb.BuildFailed, fb.InputError) as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture
def sim(elf, tmp_path):
    # the REPL UART on a pty nobody opens: GDB owns this test's terminal
    s = SimUnderGdb(elf, tmp_path, BOARD, ("--pty",))
    yield s
    s.close()


def test_psram_init_wccr_and_the_gc_heap_in_psram(sim):
    out = sim.gdb("break psram_init", "continue", "finish", f"x/wx {WCCR:#x}",
                  "break pyexec_friendly_repl", "continue",
                  "p/x mp_state_ctx.mem.area.next", "p/x *mp_state_ctx.mem.area.next",
                  "x/4wx 0x90000000", "kill", timeout=300)
    assert "Breakpoint 1, psram_init" in out and "in h7psram_board_early_init ()" in out, out
    assert "Value returned is $1 = PSRAM_OK" in out, out
    assert words(out, WCCR)[0] & DQSE, out
    assert "Breakpoint 2, pyexec_friendly_repl" in out, out
    # the split heap's second area is the PSRAM window: its descriptor is the first thing there
    assert re.search(r"^\$2 = 0x90000000$", out, re.M), out
    area = re.search(r"^\$3 = \{next = (0x\w+), gc_alloc_table_start = (0x\w+), gc_alloc_table_byte_len = (0x\w+), "
                     r"gc_finaliser_table_start = (0x\w+)", out, re.M)
    assert area, out
    # ... which GDB reads back word for word through the OCTOSPI model's window
    assert words(out, 0x90000000) == [int(v, 16) for v in area.groups()], out
    assert 0x90000000 < int(area.group(2), 16) < 0x90800000


def test_injected_fault_in_psram_init_stops_with_backtrace(sim):
    out = sim.gdb("break psram_init", "continue", "set $r0 = 0x60000000", "continue", "bt",
                  "x/wx 0xe000ed28", "kill", timeout=300)
    assert "Program received signal SIGSEGV" in out and "HardFault_Handler" in out, out
    bt = out[out.index("#0"):]
    assert re.search(r"#1\s+<signal handler called>", bt), bt
    assert re.search(r"#2\s+0x[0-9a-f]+ in psram_init \(info=0x60000000", bt), bt
    assert re.search(r"#3\s+0x[0-9a-f]+ in h7psram_board_early_init \(\)", bt), bt
    assert words(out, 0xE000ED28)[0] & 0x8200 == 0x8200      # CFSR: BFARVALID | PRECISERR
