"""`west boards` loaded by a real west: the boards with their PSRAM part and flash, Zephyr's -f/-n."""

from __future__ import annotations

import pytest

from h7psram import board_list, boards
from westws import run_west


def test_default_listing_names_part_and_flash_from_the_devicetree(west_workspace):
    res = run_west(west_workspace, "boards")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["devebox_h7a3", "weact_mini_h7a3"]
    for line, name in zip(lines, ("devebox_h7a3", "weact_mini_h7a3")):
        board = boards.load_board(name)
        assert f"PSRAM {board.psram.part} 8 MiB at 0x90000000" in line, line
        assert "flash 2 MiB at 0x08000000" in line and board.title in line
    assert "ESP-PSRAM64H" in lines[0] and "APS6404L" in lines[1]


def test_zephyr_format_and_name_filter(west_workspace):
    res = run_west(west_workspace, "boards", "-f", "{name}")
    assert res.stdout.splitlines() == ["devebox_h7a3", "weact_mini_h7a3"]
    res = run_west(west_workspace, "boards", "--format", "{vendor}/{name}: {qualifiers} {revisions} "
                   "{psram_compatible} {flash_bytes:#x}", "-n", "^weact")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["weact/weact_mini_h7a3: stm32h7a3 None apmemory,aps6404l 0x200000"]
    assert run_west(west_workspace, "boards", "-n", "nothing-matches").stdout == ""


@pytest.mark.parametrize("args,message", [
    (["-f", "{name} {colour}"], "unknown field 'colour' (fields: dir, dts,"),
    (["-f", "{name"], "-f '{name': expected '}' before end of string"),
    (["-n", "("], "-n '(': not a regular expression"),
])
def test_bad_input_is_one_line_exit_2(west_workspace, args, message):
    res = run_west(west_workspace, "boards", *args)
    assert res.returncode == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], res.stderr


def test_help_lists_the_fields(west_workspace):
    res = run_west(west_workspace, "boards", "-h")
    assert res.returncode == 0
    for field in board_list.FIELD_HELP:
        assert f"  {field} " in res.stdout
