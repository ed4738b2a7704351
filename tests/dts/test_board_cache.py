"""The parsed board kept between processes (h7psram/board_cache.py): used when nothing it was
parsed from changed, never when something did, and never in the way when it cannot be used."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Prints what a new process sees of a board, and whether it needed the devicetree library.
PROBE = """
import json, sys
from h7psram.boards import load_board_file
b = load_board_file(sys.argv[1])
print(json.dumps({"title": b.title, "hse": b.hse_hz, "tcem": b.psram.tcem_ns,
                  "parsed": "devicetree.edtlib" in sys.modules, "yaml": "yaml" in sys.modules}))
"""


@pytest.fixture
def tree(tmp_path) -> Path:
    copy = tmp_path / "dts"
    shutil.copytree(REPO / "dts", copy)
    return copy


def probe(board: Path, cache: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO / "scripts"), H7PSRAM_CACHE_DIR=str(cache))
    res = subprocess.run([sys.executable, "-c", PROBE, str(board)], capture_output=True, text=True,
                         env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "boards").glob("*.pickle"))


def test_a_second_process_takes_the_board_without_parsing(tree, tmp_path):
    board, cache = tree / "devebox_h7a3.dts", tmp_path / "cache"
    first = probe(board, cache)
    assert first["parsed"] and len(entries(cache)) == 1
    second = probe(board, cache)
    assert not second["parsed"] and not second["yaml"]
    assert {k: v for k, v in second.items() if k not in ("parsed", "yaml")} == \
        {k: v for k, v in first.items() if k not in ("parsed", "yaml")}


@pytest.mark.parametrize("where, old, new, field, value", [
    ("devebox_h7a3.dts", 'model = "DEVEBOX STM32H7XX";', 'model = "DEVEBOX (edited)";', "title",
     "DEVEBOX (edited)"),
    ("h7a3_psram_board.dtsi", "clock-frequency = <25000000>;", "clock-frequency = <24000000>;", "hse",
     24000000),
    ("bindings/espressif,esp-psram64h.yaml", "default: 8000 ", "default: 4000 ", "tcem", 4000),
])
def test_an_edit_to_any_file_of_the_tree_is_seen(tree, tmp_path, where, old, new, field, value):
    """The board file, an include and a binding each change the key: never a stale board."""
    board, cache = tree / "devebox_h7a3.dts", tmp_path / "cache"
    probe(board, cache)
    edit(tree / where, old, new)
    again = probe(board, cache)
    assert again["parsed"] and again[field] == value
    assert not probe(board, cache)["parsed"]


def test_a_damaged_entry_is_parsed_again_and_replaced(tree, tmp_path):
    board, cache = tree / "devebox_h7a3.dts", tmp_path / "cache"
    good = probe(board, cache)
    (entry,) = entries(cache)
    entry.write_bytes(b"not a pickle")
    again = probe(board, cache)
    assert again["parsed"] and again["title"] == good["title"]
    assert not probe(board, cache)["parsed"]


def test_a_cache_that_cannot_be_written_only_costs_the_parse(tree, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    board = tree / "devebox_h7a3.dts"
    assert probe(board, blocker)["title"] == "DEVEBOX STM32H7XX"
    assert probe(board, blocker)["parsed"]


def test_a_missing_include_is_reported_not_cached(tree, tmp_path):
    board, cache = tree / "devebox_h7a3.dts", tmp_path / "cache"
    (tree / "h7a3_psram_board.dtsi").unlink()
    env = dict(os.environ, PYTHONPATH=str(REPO / "scripts"), H7PSRAM_CACHE_DIR=str(cache))
    res = subprocess.run([sys.executable, "-m", "h7psram.dts.gen", "header", "--board", "devebox_h7a3"],
                         capture_output=True, text=True, env={**env, "H7PSRAM_DTS_DIR": str(tree)},
                         timeout=60)
    assert res.returncode == 2 and "h7a3_psram_board.dtsi" in res.stderr
    assert "Traceback" not in res.stderr
    assert not entries(cache)
