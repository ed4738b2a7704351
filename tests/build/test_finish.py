"""`finish` (memcheck and install) skips a no-op build and runs again for any change it depends on."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pytest

from h7psram import boards, build
from h7psram.errors import CheckFailed

REPO = Path(__file__).resolve().parents[2]
BOARD = "devebox_h7a3"


@pytest.fixture(scope="module")
def elfs(tmp_path_factory) -> dict[str, Path]:
    sys.path.insert(0, str(REPO / "tests" / "memcheck"))
    from memcheck_elfbuild import Layout, build_elf

    board = boards.load_board(BOARD)
    tmp = tmp_path_factory.mktemp("finish-elfs")
    bad = Layout(heap="_heap_start = ORIGIN(DTCM); _heap_end = _heap_start + 1K;")
    return {"good": build_elf(tmp / "good", board, Layout()), "bad": build_elf(tmp / "bad", board, bad)}


@pytest.fixture
def bdir(tmp_path, elfs) -> Path:
    mpy = tmp_path / "b" / build.MPY_SUBDIR
    mpy.mkdir(parents=True)
    shutil.copy(elfs["good"], mpy / "firmware.elf")
    (mpy / "firmware.bin").write_bytes(b"\x00" * 64)
    (mpy / "firmware.hex").write_text(":00000001FF\n")
    return tmp_path / "b"


@pytest.fixture
def memchecks(monkeypatch) -> list[Path]:
    """The ELFs memcheck was run on (through the real check)."""
    seen: list[Path] = []
    real = build.run_memcheck

    def counting(elf, board, mboot_elf=None):
        seen.append(elf)
        return real(elf, board, mboot_elf)

    monkeypatch.setattr(build, "run_memcheck", counting)
    return seen


def finish(bdir: Path) -> str:
    out = io.StringIO()
    build.finish(bdir, BOARD, REPO / "app", out=out)
    return out.getvalue()


def test_a_no_op_finish_repeats_the_report_and_touches_nothing(bdir, memchecks):
    first = finish(bdir)
    assert "OK: all placement rules hold" in first and len(memchecks) == 1
    outputs = {n: (bdir / n).stat().st_mtime_ns for n in (*build.FIRMWARE_OUTPUTS, "build_info.yml",
                                                          "runners.yaml")}
    assert finish(bdir) == first
    assert len(memchecks) == 1
    assert {n: (bdir / n).stat().st_mtime_ns for n in outputs} == outputs


def test_a_deleted_output_is_installed_again(bdir, memchecks):
    finish(bdir)
    (bdir / "firmware.dfu").unlink()
    finish(bdir)
    assert len(memchecks) == 2 and (bdir / "firmware.dfu").is_file()


def test_a_relinked_elf_is_checked_and_a_failure_installs_nothing(bdir, elfs, memchecks):
    finish(bdir)
    good = (bdir / "firmware.elf").read_bytes()
    shutil.copy(elfs["bad"], bdir / "mpy" / "firmware.elf")
    with pytest.raises(CheckFailed):
        finish(bdir)
    assert (bdir / "firmware.elf").read_bytes() == good
    with pytest.raises(CheckFailed):            # a failed check is never remembered as done
        finish(bdir)
    assert len(memchecks) == 3


def test_an_edited_devicetree_runs_the_check_again(bdir, tmp_path, monkeypatch, memchecks):
    tree = tmp_path / "dts"
    shutil.copytree(REPO / "dts", tree)
    monkeypatch.setenv("H7PSRAM_DTS_DIR", str(tree))
    finish(bdir)
    finish(bdir)
    assert len(memchecks) == 1
    dts = tree / f"{BOARD}.dts"
    dts.write_text(dts.read_text().replace('model = "DEVEBOX STM32H7XX";', 'model = "DEVEBOX (edited)";'))
    finish(bdir)
    assert len(memchecks) == 2
