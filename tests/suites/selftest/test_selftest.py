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
    assert boot_lines[-2] == "spiram memtest pass", "\n".join(boot_lines)
    assert boot_lines[1].startswith("spiram eid"), "\n".join(boot_lines)


def test_bandwidth_line_ends_a_pass(dut, boot_lines: list[str]) -> None:
    # on the simulator's plain-RAM path the figures are CPU speed, not bus figures (the bounds
    # are checked on the full model in tests/driver/test_bandwidth_in_sim.py): only the format
    # and the limit, which is 4 bits per CLK of a clock the part allows, are checked here
    found = re.fullmatch(r"spiram bandwidth read (\d+\.\d) MB/s write (\d+\.\d) MB/s limit (\d+\.\d) MB/s",
                         boot_lines[-1])
    assert found, "\n".join(boot_lines)
    read, write, limit = (float(v) for v in found.groups())
    assert read > 0 and write > 0
    assert 0 < limit * 1e6 <= load_board(dut.device_config.platform).psram.max_clock_hz / 2