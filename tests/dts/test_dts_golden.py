"""Generated files match the reviewed copies in tests/dts/golden/.

After an intended change, regenerate with
    H7PSRAM_UPDATE_GOLDEN=1 python -m pytest tests/dts/test_dts_golden.py
and review the diff of tests/dts/golden/ before committing it.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dts_linking import BOARDS
from h7psram.dts.gen import generate

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("H7PSRAM_UPDATE_GOLDEN") == "1"

# (generator, linker variant, heap, golden file name)
OUTPUTS = [
    ("linker", "micropython", "split", "micropython-split.ld"),
    ("linker", "micropython", "single", "micropython-single.ld"),
    ("linker", "selftest", "split", "selftest.ld"),
    ("header", "micropython", "split", "psram_board.h"),
    ("regions", "micropython", "split", "regions.yaml"),
]

CASES = [pytest.param(board, *out, id=f"{board}/{out[3]}") for board in BOARDS for out in OUTPUTS]


@pytest.mark.parametrize("board,kind,variant,heap,filename", CASES)
def test_matches_golden(board, kind, variant, heap, filename):
    text = generate(kind, board, variant=variant, heap=heap)
    path = GOLDEN / board / filename
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    expected = path.read_text() if path.exists() else ""
    if text != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile=f"golden/{board}/{filename}", tofile="generated"))
        pytest.fail(f"generated {kind} differs from golden/{board}/{filename} "
                    f"(H7PSRAM_UPDATE_GOLDEN=1 regenerates):\n{diff}")


def test_command_line_writes_the_same_file(tmp_path):
    out = tmp_path / "psram_board.h"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run(
        [sys.executable, "-m", "h7psram.dts.gen", "header", "--board", "weact_mini_h7a3", "-o", str(out)],
        capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert out.read_text() == generate("header", "weact_mini_h7a3")
