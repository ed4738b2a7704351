"""Rules the memory map and the derived values must obey on every board."""

from __future__ import annotations

import re
import shutil
import subprocess
from itertools import combinations
from pathlib import Path

import pytest

from dts_linking import BOARDS
from h7psram.boards import load_board

DTS = Path(__file__).resolve().parents[2] / "dts"


@pytest.mark.parametrize("name", BOARDS)
def test_memories_do_not_overlap(name):
    regions = load_board(name).regions
    for a, b in combinations(regions, 2):
        assert a.end <= b.start or b.end <= a.start, f"{a.name} overlaps {b.name}"


@pytest.mark.parametrize("name", BOARDS)
def test_register_blocks_do_not_overlap_each_other_or_memories(name):
    board = load_board(name)
    spans = [(b.name, b.base, b.end) for b in board.mmio if not b.name.endswith("_MM")]
    spans += [(r.name, r.start, r.end) for r in board.regions]
    for (n1, s1, e1), (n2, s2, e2) in combinations(spans, 2):
        assert e1 <= s2 or e2 <= s1, f"{n1} overlaps {n2}"


@pytest.mark.parametrize("name", BOARDS)
def test_psram_fills_the_start_of_the_octospi1_window(name):
    board = load_board(name)
    window = board.mmio_block("OCTOSPI1_MM")
    psram = board.region("psram")
    assert psram.start == window.base == board.psram.base
    assert psram.size == board.psram.size == 8 * 1024 * 1024
    assert psram.end <= window.end


@pytest.mark.parametrize("name", BOARDS)
def test_psram_clocks_within_the_part_limits(name):
    psram = load_board(name).psram
    assert psram.clock_hz <= psram.max_clock_hz
    assert psram.clock_hz <= psram.page_cross_max_hz
    # the smallest prescaler that does it: one less would be too fast
    if psram.prescaler:
        assert psram.kernel_clock_hz // psram.prescaler > min(psram.max_clock_hz, psram.page_cross_max_hz)
    assert psram.id_clock_hz <= psram.read_id_max_hz


@pytest.mark.parametrize("name", BOARDS)
def test_storage_partition_is_whole_sectors_at_the_end_of_flash(name):
    board = load_board(name)
    flash = board.region("flash0")
    assert board.storage.end == flash.end
    assert board.storage.start % board.flash_erase_size == 0
    assert board.storage.size % board.flash_erase_size == 0


@pytest.mark.parametrize("name", BOARDS)
def test_no_address_is_written_twice(name):
    """Each reg base address appears once in the files one board is built
    from. The PSRAM reg restates the window base on purpose: it says where in
    the window the chip sits."""
    files = [DTS / "stm32h7a3.dtsi", DTS / "h7a3_psram_board.dtsi", DTS / f"{name}.dts"]
    text = "\n".join(re.sub(r"/\*.*?\*/", "", p.read_text(), flags=re.S) for p in files)
    bases = [m.lower() for m in re.findall(r"<\s*(0x[0-9a-fA-F]+)\s+0x[0-9a-fA-F]+\s*>", text)]
    assert len(bases) > 40, "the pattern no longer finds the reg entries"
    repeated = {b for b in bases if bases.count(b) > 1}
    assert repeated == {"0x90000000"} and bases.count("0x90000000") == 2


@pytest.mark.parametrize("name", BOARDS)
def test_reference_compiler_accepts_the_tree_without_warnings(name, tmp_path):
    """dtc (the reference devicetree compiler) checks what edtlib does not:
    unit addresses against reg, bus conventions, interrupt providers."""
    dtc = shutil.which("dtc")
    if dtc is None:
        pytest.skip("dtc (device-tree-compiler) is not installed")
    result = subprocess.run([dtc, "-I", "dts", "-O", "dtb", "-o", str(tmp_path / "board.dtb"), f"{name}.dts"],
                            cwd=DTS, capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
