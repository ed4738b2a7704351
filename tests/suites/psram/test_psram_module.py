"""psram.info(), psram.memtest() and raw read/write through the memory-mapped window."""

from __future__ import annotations

import pytest

from h7psram.boards import load_board
from h7psram.twister.raw_repl import Repl


def test_info_describes_the_boards_part(repl: Repl) -> None:
    part = load_board(repl.dut.device_config.platform).psram
    info = repl.eval("__import__('psram').info()")
    assert info["part"] == part.part
    assert info["id"].startswith(part.id_bytes), info["id"].hex(" ")
    assert (info["base"], info["size"]) == (part.base, part.size)
    assert info["mapped"] is True and info["heap"] is True
    assert info["status"] == "ok"
    assert info["memtest"] == "spiram memtest pass"
    assert 0 < info["clock"] <= part.max_clock_hz


def test_memtest_is_refused_while_the_psram_holds_the_heap(repl: Repl) -> None:
    with pytest.raises(OSError, match="GC heap") as failure:
        repl.exec("import psram\npsram.memtest()")
    assert "<stdin>" in failure.value.device_traceback  # type: ignore[attr-defined]


def test_raw_write_and_read_round_trip(repl: Repl) -> None:
    # Write through psram.write() into a buffer the GC gave us in the PSRAM, then check it from
    # both sides: the bytearray sees the bytes, and psram.read() returns them.
    out = repl.exec(
        "import psram, uctypes\n"
        "buf = bytearray(2 * 1024 * 1024)\n"   # larger than the internal heap: must be in PSRAM
        "addr = uctypes.addressof(buf) + 4096\n"
        "data = bytes((i * 7 + 3) & 0xFF for i in range(1024))\n"
        "psram.write(addr, data)\n"
        "back = bytearray(1024)\n"
        "psram.read(addr, back)\n"
        "off = addr - 0x90000000\n"
        "back2 = bytearray(16)\n"
        "psram.read(off, back2)\n"
        "print(hex(addr), back == data, buf[4096:4096 + 1024] == data, back2 == data[:16])\n")
    addr, read_ok, seen_in_buffer, offset_ok = out.split()
    assert 0x90000000 <= int(addr, 16) < 0x90800000, f"buffer at {addr} is not in the PSRAM window"
    assert (read_ok, seen_in_buffer, offset_ok) == ("True", "True", "True"), out


def test_access_outside_the_part_is_a_value_error(repl: Repl) -> None:
    with pytest.raises(ValueError, match="outside the PSRAM"):
        repl.exec("import psram\npsram.read(0x907FFFF0, bytearray(32))")


def test_bandwidth_reports_the_bus_limit_of_the_programmed_clock(repl: Repl) -> None:
    # the figures themselves are bus figures only on a board or the simulator's full model
    # (--psram-exact); on its plain-RAM path they are CPU speed (docs/driver.md)
    out = repl.eval("(lambda p: (p.bandwidth(), p.info()['clock']))(__import__('psram'))")
    bw, clock = out
    assert set(bw) == {"read", "write", "limit", "clock", "span"}, bw
    assert bw["clock"] == clock and bw["limit"] == clock // 2, (bw, clock)
    assert bw["span"] == 64 * 1024
    assert bw["read"] > 0 and bw["write"] > 0


def test_bandwidth_keeps_the_contents_of_its_span(repl: Repl) -> None:
    # the span is the top 64 KiB of the part, inside the GC heap: whatever it holds (objects, or
    # what the boot memtest left in free memory) must read the same after the measurement
    out = repl.exec(
        "import psram\n"
        "i = psram.info()\n"
        "top = i['base'] + i['size'] - 65536\n"
        "before = bytearray(65536)\n"
        "after = bytearray(65536)\n"
        "psram.read(top, before)\n"
        "psram.bandwidth()\n"
        "psram.read(top, after)\n"
        "print(before == after, len(set(before)) > 1)\n")
    assert out.split() == ["True", "True"], out
