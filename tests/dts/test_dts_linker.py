"""The generated linker scripts link a real Cortex-M7 program, and the ELF
puts every symbol and section where the board's memory map says."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from dts_linking import (ARM_FLAGS, BOARDS, MICROPYTHON_REFS, SPLIT_HEAP_REFS, TINY_PROGRAM,
                         elf_section_bytes, elf_section_ranges, elf_symbols, link)
from h7psram.boards import Board, load_board
from h7psram.dts.linker import linker_script
from h7psram.errors import InputError


def build(gcc: str, tmp_path: Path, board: Board, variant: str, heap: str, extra: str = "") -> Path:
    script = tmp_path / f"{board.name}-{variant}-{heap}.ld"
    script.write_text(linker_script(board, variant, heap))
    return link(gcc, script, tmp_path / f"{board.name}-{variant}-{heap}.elf", extra)


def region_of(board: Board, addr: int, size: int = 1) -> str:
    hits = [r.name for r in board.regions if r.contains(addr, size)]
    assert hits, f"{addr:#x} lies in no region"
    return hits[0]


def check_common(board: Board, elf: Path, syms: dict[str, int]) -> None:
    flash = board.region("flash0")
    assert syms["vectors"] == flash.start, "vector table must open flash0"
    sections = elf_section_ranges(elf)
    assert region_of(board, *_span(sections[".text"])) == "flash0"
    assert region_of(board, *_span(sections[".data"])) == "axi_sram"
    assert region_of(board, *_span(sections[".bss"])) == "axi_sram"
    dtcm = board.region("dtcm")
    assert dtcm.start <= syms["_sstack"] < syms["_estack"] <= dtcm.end
    assert syms["_estack"] % 8 == 0, "EABI wants an 8-byte aligned stack"
    # the .data load image sits in flash, right after the code
    assert flash.contains(syms["_sidata"], syms["_edata"] - syms["_sdata"])
    name, initial = elf_section_bytes(elf, syms["counter"], 4)
    assert name == ".data" and struct.unpack("<I", initial)[0] == 42


def _span(rng: tuple[int, int]) -> tuple[int, int]:
    return rng[0], rng[1] - rng[0]


@pytest.mark.parametrize("name", BOARDS)
def test_split_heap_script(arm_gcc, tmp_path, name):
    board = load_board(name)
    elf = build(arm_gcc, tmp_path, board, "micropython", "split", MICROPYTHON_REFS + SPLIT_HEAP_REFS)
    syms = elf_symbols(elf)
    check_common(board, elf, syms)
    ram, psram, dtcm = board.region("axi_sram"), board.region("psram"), board.region("dtcm")
    # first GC area: the AXI SRAM above .bss
    assert syms["_heap_start"] == syms["_ebss"]
    assert ram.start < syms["_heap_start"] < syms["_heap_end"] == ram.end
    assert (syms["_ram_start"], syms["_ram_end"]) == (ram.start, ram.end)
    # the split-heap table is initialised RAM holding the PSRAM window
    start, end = syms["_gc_blocks_table_start"], syms["_gc_blocks_table_end"]
    assert end - start == 8
    section, raw = elf_section_bytes(elf, start, end - start)
    assert section == ".data" and ram.contains(start, 8)
    assert struct.unpack("<II", raw) == (psram.start, psram.size) == (0x90000000, 8 * 1024 * 1024)
    # filesystem: storage partition + one erase sector of cache on top of DTCM
    assert syms["_micropy_hw_internal_flash_storage_start"] == board.storage.start
    assert syms["_micropy_hw_internal_flash_storage_end"] == board.storage.end
    cache_start = syms["_micropy_hw_internal_flash_storage_ram_cache_start"]
    assert syms["_micropy_hw_internal_flash_storage_ram_cache_end"] == dtcm.end
    assert dtcm.end - cache_start == board.flash_erase_size
    assert syms["_estack"] <= cache_start - 8 and syms["_bl_state"] == syms["_estack"]


@pytest.mark.parametrize("name", BOARDS)
def test_single_heap_script(arm_gcc, tmp_path, name):
    board = load_board(name)
    elf = build(arm_gcc, tmp_path, board, "micropython", "single", MICROPYTHON_REFS)
    syms = elf_symbols(elf)
    check_common(board, elf, syms)
    psram = board.region("psram")
    assert (syms["_heap_start"], syms["_heap_end"]) == (psram.start, psram.end)
    assert psram.size == 8 * 1024 * 1024
    assert "_gc_blocks_table_start" not in syms


@pytest.mark.parametrize("name", BOARDS)
def test_selftest_script(arm_gcc, tmp_path, name):
    board = load_board(name)
    elf = build(arm_gcc, tmp_path, board, "selftest", "split")
    syms = elf_symbols(elf)
    check_common(board, elf, syms)
    assert syms["vectors"] == 0x08000000
    assert syms["_estack"] == board.region("dtcm").end
    assert not {"_heap_start", "_heap_end"} & syms.keys()
    assert (syms["_psram_start"], syms["_psram_end"]) == (board.psram.base, board.psram.base + board.psram.size)


def test_split_heap_table_is_missing_from_single_script(arm_gcc, tmp_path):
    """A split-heap firmware linked with the single-heap script must not link."""
    board = load_board("devebox_h7a3")
    script = tmp_path / "single.ld"
    script.write_text(linker_script(board, "micropython", "single"))
    source = tmp_path / "split.c"
    source.write_text(TINY_PROGRAM + SPLIT_HEAP_REFS)
    result = subprocess.run([arm_gcc, *ARM_FLAGS, "-nostartfiles", "-T", str(script), str(source),
                             "-o", str(tmp_path / "x.elf")], capture_output=True, text=True)
    assert result.returncode != 0 and "_gc_blocks_table_start" in result.stderr


def test_overfull_ram_fails_to_link(arm_gcc, tmp_path):
    """.bss that leaves less than the minimum internal heap is a link error."""
    board = load_board("devebox_h7a3")
    script = tmp_path / "split.ld"
    script.write_text(linker_script(board, "micropython", "split"))
    source = tmp_path / "big.c"
    too_big = board.region("axi_sram").size - 8 * 1024
    source.write_text(TINY_PROGRAM + f"volatile unsigned char big[{too_big}];\n")
    result = subprocess.run([arm_gcc, *ARM_FLAGS, "-nostartfiles", "-T", str(script), str(source),
                             "-o", str(tmp_path / "big.elf")], capture_output=True, text=True)
    assert result.returncode != 0
    assert "RAM" in result.stderr


def test_unknown_variant_is_an_input_error():
    board = load_board("devebox_h7a3")
    with pytest.raises(InputError, match="unknown linker variant"):
        linker_script(board, "zephyr")
    with pytest.raises(InputError, match="unknown heap layout"):
        linker_script(board, "micropython", "triple")
