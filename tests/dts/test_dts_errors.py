"""Bad devicetree input gives one line naming the file, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from h7psram.boards import known_boards, load_board, load_board_file
from h7psram.errors import InputError

DTS = Path(__file__).resolve().parents[2] / "dts"


@pytest.fixture
def tree(tmp_path) -> Path:
    copy = tmp_path / "dts"
    shutil.copytree(DTS, copy)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def assert_one_line_naming(err: InputError, path: Path) -> str:
    message = str(err)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_syntax_error(tree):
    board = tree / "devebox_h7a3.dts"
    edit(board, 'model = "DEVEBOX STM32H7XX";', 'model = "DEVEBOX STM32H7XX"')
    with pytest.raises(InputError) as err:
        load_board("devebox_h7a3", tree)
    assert_one_line_naming(err.value, board)


def test_unknown_label_reference(tree):
    board = tree / "weact_mini_h7a3.dts"
    edit(board, "<&gpioc 13 0x20>", "<&gpioz 13 0x20>")
    with pytest.raises(InputError) as err:
        load_board_file(board)
    assert "gpioz" in assert_one_line_naming(err.value, board)


def test_property_not_in_binding(tree):
    board = tree / "devebox_h7a3.dts"
    edit(board, 'compatible = "espressif,esp-psram64h";',
         'compatible = "espressif,esp-psram64h";\n\t\tdrive-strength = <3>;')
    with pytest.raises(InputError) as err:
        load_board_file(board)
    assert "drive-strength" in assert_one_line_naming(err.value, board)


def test_psram_outside_the_window(tree):
    board = tree / "devebox_h7a3.dts"
    edit(board, "reg = <0x90000000 0x800000>;", "reg = <0x8f000000 0x800000>;")
    with pytest.raises(InputError) as err:
        load_board_file(board)
    assert "window" in assert_one_line_naming(err.value, board)


def test_overlapping_memories(tree):
    edit(tree / "stm32h7a3.dtsi", "reg = <0x30000000 0x20000>;", "reg = <0x240f0000 0x20000>;")
    board = tree / "devebox_h7a3.dts"
    with pytest.raises(InputError) as err:
        load_board_file(board)
    assert "overlap" in assert_one_line_naming(err.value, board)


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as err:
        load_board_file(tmp_path / "nothing.dts")
    assert_one_line_naming(err.value, tmp_path / "nothing.dts")


def test_env_var_selects_another_tree(tree, monkeypatch):
    (tree / "weact_mini_h7a3.dts").unlink()
    monkeypatch.setenv("H7PSRAM_DTS_DIR", str(tree))
    assert known_boards() == ["devebox_h7a3"]


def run_gen(*args: str, dts_dir: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    if dts_dir:
        env["H7PSRAM_DTS_DIR"] = str(dts_dir)
    return subprocess.run([sys.executable, "-m", "h7psram.dts.gen", *args], capture_output=True, text=True, env=env)


def test_command_unknown_board():
    result = run_gen("header", "--board", "nucleo_h7a3")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "devebox_h7a3" in result.stderr and "weact_mini_h7a3" in result.stderr


def test_command_broken_tree(tree):
    board = tree / "weact_mini_h7a3.dts"
    edit(board, "&octospi1 {", "&octospi1 {{")
    result = run_gen("regions", "--board", "weact_mini_h7a3", dts_dir=tree)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and str(board) in result.stderr


def test_psram_part_without_binding(tree):
    board = tree / "devebox_h7a3.dts"
    edit(board, '"espressif,esp-psram64h"', '"espressif,esp-psram32"')
    with pytest.raises(InputError) as err:
        load_board_file(board)
    assert "espressif,esp-psram32" in assert_one_line_naming(err.value, board)


def test_an_edited_tree_is_read_again(tree):
    board = tree / "devebox_h7a3.dts"
    assert load_board_file(board).title == "DEVEBOX STM32H7XX"
    edit(board, 'model = "DEVEBOX STM32H7XX";', 'model = "DEVEBOX H7A3 (edited)";')
    assert load_board_file(board).title == "DEVEBOX H7A3 (edited)"


def test_callers_cannot_change_the_cached_board():
    first = load_board("devebox_h7a3")
    first.pins.clear()
    first.regions.clear()
    again = load_board("devebox_h7a3")
    assert again.pins and again.regions
