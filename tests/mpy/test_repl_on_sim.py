"""The board's own MicroPython firmware on the simulator, through its REPL on a real pseudo-terminal:
the 8 MiB heap, Ctrl-C, Ctrl-D and machine.reset() as on the board. One simulator per board."""

from __future__ import annotations

import re
import time

import pytest

from h7psram.boards import load_board

pytestmark = pytest.mark.micropython


def test_boot_log_then_prompt(board_repl):
    board, _, repl = board_repl
    b = load_board(board)
    log = repl.boot_log
    eid = log.index("spiram eid ")
    memtest = log.index("spiram memtest pass")
    banner = re.search(rf"MicroPython v\S+ on \S+; {re.escape(b.title)} with {b.mcu}\r\n", log)
    assert banner, log
    assert eid < memtest < banner.start() < log.rindex(">>> ")
    assert bytes.fromhex(log[eid + 11:eid + 11 + 23]).startswith(b.psram.id_bytes)


def test_heap_above_9_mb_and_an_8_mb_bytearray(board_repl):
    _, _, repl = board_repl
    free = int(repl.line("import gc; gc.collect(); print(gc.mem_free())"))
    assert free > 9_000_000
    assert repl.line("import uctypes; b = bytearray(8_000_000); print(len(b), hex(uctypes.addressof(b) & 0xff000000))") == "8000000 0x90000000"
    # the buffer is real memory: write the ends, read them back
    assert repl.line("b[0] = 0x5a; b[-1] = 0xa5; print(b[0], b[-1], sum(b[1:4096]))") == "90 165 0"
    after = int(repl.line("gc.collect(); print(gc.mem_free())"))
    assert free - 8_016_384 <= after <= free - 8_000_000
    assert "MemoryError" in repl.line("c = bytearray(4_000_000)")
    repl.line("b = None; gc.collect()")


def test_ctrl_c_interrupts_a_running_loop(board_repl):
    _, _, repl = board_repl
    repl.sim.write(b"n = 0\r")
    repl.sim.wait_for(r">>> ", 30)
    repl.sim.write(b"while True: n += 1\r\r")
    time.sleep(1.0)
    repl.sim.write(b"\x03")
    text = repl.sim.wait_for(r"KeyboardInterrupt: *\r\n>>> ", 60)
    assert "Traceback" in text
    assert int(repl.line("print(n)")) > 1000     # the loop ran before it was interrupted


def test_ctrl_d_soft_reset_gives_a_fresh_interpreter(board_repl):
    board, _, repl = board_repl
    repl.line("marker = 12345")
    repl.sim.write(b"\x04")
    text = repl.sim.wait_for(r"MPY: soft reboot\r\n[\s\S]*>>> ", 60)
    assert load_board(board).title in text
    assert "spiram memtest" not in text        # a soft reset does not re-run the board's boot
    assert "NameError" in repl.line("marker")
    assert int(repl.line("import gc; print(gc.mem_free())")) > 9_000_000


def test_machine_reset_reboots_to_the_banner(board_repl):
    board, _, repl = board_repl
    repl.sim.write(b"import machine; machine.reset()\r")
    text = repl.sim.wait_for(r"MicroPython v[^\n]*\n[^\n]*\n>>> ", 180)
    assert "spiram memtest pass" in text       # a hard reset runs the board's boot again
    assert load_board(board).title in text
    assert int(repl.line("import gc; print(gc.mem_free())")) > 9_000_000
