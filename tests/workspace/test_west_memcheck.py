"""`west memcheck-sections` loaded by a real west from the workspace manifest."""

from __future__ import annotations

import sys
from pathlib import Path

from h7psram import boards

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "memcheck"))
from memcheck_elfbuild import Layout, build_elf  # noqa: E402

from westws import run_west  # noqa: E402


def test_west_help_lists_memcheck(west_workspace):
    res = run_west(west_workspace, "help")
    assert res.returncode == 0, res.stderr
    assert "memcheck-sections" in res.stdout


def test_west_memcheck_verdicts(west_workspace, tmp_path):
    board = boards.load_board("devebox_h7a3")
    good = build_elf(tmp_path / "good", board, Layout())
    res = run_west(west_workspace, "memcheck-sections", "--elf", good, "--board", "devebox_h7a3")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "OK: all placement rules hold" in res.stdout

    bad = build_elf(tmp_path / "bad", board, Layout(
        stack="_sstack = ORIGIN(PSRAM); _estack = _sstack + 8K;"))
    res = run_west(west_workspace, "memcheck-sections", "--elf", bad, "--board", "devebox_h7a3")
    assert res.returncode == 1
    assert "stack must be in internal RAM" in res.stdout


def test_west_memcheck_unusable_input(west_workspace, tmp_path):
    res = run_west(west_workspace, "memcheck-sections", "-d", tmp_path / "missing")
    assert res.returncode == 2
    assert "build directory not found" in res.stderr
    assert "Traceback" not in res.stderr


LONG = "x" * 300     # longer than any file system's NAME_MAX (255)


def test_long_file_names_are_one_line_input_errors(west_workspace, tmp_path):
    """A too-long name ended in an OSError traceback with exit 1 (the "rule broken" code)."""
    for args in (["memcheck-sections", "-d", tmp_path / LONG],
                 ["memcheck-sections", "--elf", tmp_path / (LONG + ".elf"), "--board", "devebox_h7a3"],
                 ["hwtest", "-T", tmp_path / LONG]):
        res = run_west(west_workspace, *args)
        assert res.returncode == 2, (args[0], res.stderr)
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "file name too long" in lines[0], (args[0], res.stderr)
