"""The self-test image finds the PSRAM, reads its ID and passes the full memtest.

The suite builds the image itself (conftest.py), so it runs under this project's plugin only.
"""

from __future__ import annotations

import re

import pytest

from h7psram.boards import load_board

pytestmark = pytest.mark.own_image


def test_first_line_names_the_board(dut, boot_lines: list[str]) -> None:
    assert boot_lines[0] == f"psram selftest {dut.device_config.platform}", "\n".join(boot_lines)


def test_id_matches_the_boards_part(dut, boot_lines: list[str]) -> None:
    part = load_board(dut.device_config.platform).psram
    log = "\n".join(boot_lines)
    found = re.search(r"^spiram eid((?: [0-9a-f]{2}){8})$", log, re.MULTILINE)
    assert found, f"no 'spiram eid' line in:\n{log}"
    id_bytes = bytes.fromhex(found.group(1))
    assert id_bytes.startswith(part.id_bytes), f"{part.part}: expected MFID/KGD {part.id_bytes.hex(' ')}"


def test_memtest_passes(boot_lines: list[str]) -> None:
    assert boot_lines[-1] == "spiram memtest pass", "\n".join(boot_lines)
    assert boot_lines[1].startswith("spiram eid"), "\n".join(boot_lines)
