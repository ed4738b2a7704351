"""The boot log of the MicroPython image: PSRAM ID, memtest, then the banner naming the board.

Written against the adapter API that this project's plugin and Zephyr's pytest-twister-harness
share: the ``boot_lines`` fixture reads the boot with ``dut.readlines_until`` and the board comes
from ``dut.device_config.platform``.
"""

from __future__ import annotations

import re

from h7psram.boards import load_board


def _index(lines: list[str], pattern: str) -> int:
    for number, line in enumerate(lines):
        if re.search(pattern, line):
            return number
    log = "\n".join(lines)
    raise AssertionError(f"/{pattern}/ not in the boot log:\n{log}")


def test_psram_id_is_the_boards_part(dut, boot_lines: list[str]) -> None:
    part = load_board(dut.device_config.platform).psram
    line = boot_lines[_index(boot_lines, r"^spiram eid")]
    found = re.fullmatch(r"spiram eid((?: [0-9a-f]{2}){8})", line)
    assert found, f"malformed ID line {line!r}"
    assert bytes.fromhex(found.group(1)).startswith(part.id_bytes), f"{part.part} expects {part.id_bytes.hex(' ')}"


def test_memtest_passes_before_the_banner(boot_lines: list[str]) -> None:
    eid = _index(boot_lines, r"^spiram eid")
    memtest = _index(boot_lines, r"^spiram memtest pass$")
    banner = _index(boot_lines, r"^MicroPython v")
    log = "\n".join(boot_lines)
    assert eid < memtest < banner, log
    assert not any(re.search(r"fail|not found|wrong id", line) for line in boot_lines), log


def test_banner_names_the_board_and_the_h7a3(dut, boot_lines: list[str]) -> None:
    board = load_board(dut.device_config.platform)
    banner = boot_lines[_index(boot_lines, r"^MicroPython v")]
    assert re.fullmatch(rf"MicroPython v\S+ on \S+; {re.escape(board.title)} with {re.escape(board.mcu)}", banner), banner
    assert board.mcu == "STM32H7A3"


def test_boot_ends_with_the_banner(boot_lines: list[str]) -> None:
    # the boot is over at the banner's last line; the prompt after it has no newline
    assert boot_lines[-1] == 'Type "help()" for more information.', "\n".join(boot_lines)
