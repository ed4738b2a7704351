"""The self-test image finds the PSRAM, reads its ID and passes the full memtest."""

from __future__ import annotations

import re

from h7psram.boards import load_board
from h7psram.twister.device import DeviceAdapter


def _lines(dut: DeviceAdapter) -> list[str]:
    return [line.strip() for line in dut.boot_log.splitlines() if line.strip()]


def test_first_line_names_the_board(dut: DeviceAdapter) -> None:
    assert _lines(dut)[0] == f"psram selftest {dut.image.board}", dut.boot_log


def test_id_matches_the_boards_part(dut: DeviceAdapter) -> None:
    part = load_board(dut.image.board).psram
    found = re.search(r"^spiram eid((?: [0-9a-f]{2}){8})$", dut.boot_log, re.MULTILINE)
    assert found, f"no 'spiram eid' line in:\n{dut.boot_log}"
    id_bytes = bytes.fromhex(found.group(1))
    assert id_bytes.startswith(part.id_bytes), f"{part.part}: expected MFID/KGD {part.id_bytes.hex(' ')}"


def test_memtest_passes(dut: DeviceAdapter) -> None:
    lines = _lines(dut)
    assert lines[-1] == "spiram memtest pass", dut.boot_log
    assert lines[1].startswith("spiram eid"), dut.boot_log
