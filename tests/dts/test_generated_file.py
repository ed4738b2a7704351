"""The one write_if_changed, behind `python -m h7psram.dts.gen -o` and `west build`'s generated headers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from h7psram.errors import InputError
from h7psram.generated_file import write_if_changed


def test_unchanged_text_leaves_the_file_alone(tmp_path: Path) -> None:
    out = tmp_path / "psram_board.h"
    assert write_if_changed(out, "one\n")
    os.utime(out, (1_000_000, 1_000_000))
    assert not write_if_changed(out, "one\n")
    assert out.stat().st_mtime == 1_000_000     # make would otherwise rebuild everything
    assert write_if_changed(out, "two\n")
    assert out.read_text() == "two\n"
    assert [p.name for p in tmp_path.iterdir()] == ["psram_board.h"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    out = tmp_path / "h7psram_board.ld"
    out.write_text("old\n")
    (tmp_path / "h7psram_board.ld.tmp").mkdir()   # the temporary file cannot be created
    with pytest.raises(InputError, match=r"h7psram_board.ld: cannot write: "):
        write_if_changed(out, "new\n")
    assert out.read_text() == "old\n"


def test_missing_folder_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no-such-dir/x.h: cannot write: No such file or directory"):
        write_if_changed(tmp_path / "no-such-dir" / "x.h", "text\n")
