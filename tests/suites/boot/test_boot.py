"""The boot log of the MicroPython image: PSRAM ID, memtest, then the banner naming the board."""

from __future__ import annotations

import re

from h7psram.boards import load_board
from h7psram.twister.device import DeviceAdapter


def _lines(dut: DeviceAdapter) -> list[str]:
    return [line.strip() for line in dut.boot_log.splitlines() if line.strip()]


def _index(lines: list[str], pattern: str, log: str) -> int:
    for number, line in enumerate(lines):
        if re.search(pattern, line):
            return number
    raise AssertionError(f"/{pattern}/ not in the boot log:\n{log}")


def test_psram_id_is_the_boards_part(dut: DeviceAdapter) -> None:
    part = load_board(dut.device_config.platform).psram
    line = _lines(dut)[_index(_lines(dut), r"^spiram eid", dut.boot_log)]
    found = re.fullmatch(r"spiram eid((?: [0-9a-f]{2}){8})", line)
    assert found, f"malformed ID line {line!r}"
    assert bytes.fromhex(found.group(1)).startswith(part.id_bytes), f"{part.part} expects {part.id_bytes.hex(' ')}"


def test_memtest_passes_before_the_banner(dut: DeviceAdapter) -> None:
    lines = _lines(dut)
    eid = _index(lines, r"^spiram eid", dut.boot_log)
    memtest = _index(lines, r"^spiram memtest pass$", dut.boot_log)
    banner = _index(lines, r"^MicroPython v", dut.boot_log)
    assert eid < memtest < banner, dut.boot_log
    assert not any(re.search(r"fail|not found|wrong id", line) for line in lines), dut.boot_log


def test_banner_names_the_board_and_the_h7a3(dut: DeviceAdapter) -> None:
    board = load_board(dut.device_config.platform)
    lines = _lines(dut)
    banner = lines[_index(lines, r"^MicroPython v", dut.boot_log)]
    assert re.fullmatch(rf"MicroPython v\S+ on \S+; {re.escape(board.title)} with {re.escape(board.mcu)}", banner), banner
    assert board.mcu == "STM32H7A3"


def test_boot_ends_with_the_banner(dut: DeviceAdapter) -> None:
    # the boot is over at the banner's last line; the prompt after it has no newline
    assert _lines(dut)[-1] == 'Type "help()" for more information.', dut.boot_log
