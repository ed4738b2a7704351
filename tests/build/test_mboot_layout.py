"""mboot's place in flash and RAM (h7psram.mboot), the linker offset and build_info.yml."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from h7psram import boards, buildinfo, build, dfuse, mboot
from h7psram.dts import linker
from h7psram.errors import InputError

REPO = Path(__file__).resolve().parents[2]
ROM_ALT0 = "@Internal Flash   /0x08000000/256*08Kg"   # the H7A3 ROM bootloader, as dfu-util prints it


@pytest.mark.parametrize("name", ["devebox_h7a3", "weact_mini_h7a3"])
def test_layout_numbers(name):
    lay = mboot.layout(boards.load_board(name))
    assert lay.flash_start == 0x08000000 and lay.flash_size == 0x8000
    assert lay.app_addr == 0x08008000 and lay.app_addr % lay.sector_size == 0
    assert lay.sectors == 256 and lay.sector_size == 8192
    # elements and stack at the top of the AXI SRAM, clear of the app's DTCM
    assert lay.elem_buffer + mboot.ELEM_BUFFER_SIZE == 0x24100000


def test_layout_string_is_the_roms_memory():
    lay = mboot.layout(boards.load_board("devebox_h7a3"))
    assert lay.layout_string == "@Internal Flash  /0x08000000/256*08Kg"
    assert lay.layout_string == dfuse.board_layout_string("devebox_h7a3")
    ours, rom = dfuse.parse_layout(lay.layout_string), dfuse.parse_layout(ROM_ALT0)
    assert [(m.start, m.sectors) for m in ours] == [(m.start, m.sectors) for m in rom]


def test_linker_app_offset():
    board = boards.load_board("devebox_h7a3")
    text = linker.linker_script(board, "micropython", "split", app_offset=0x8000)
    assert "FLASH_APP (rx)    : ORIGIN = 0x08008000, LENGTH = 0x001B8000" in text
    assert "ASSERT(ADDR(.isr_vector) == ORIGIN(FLASH_APP)" in text
    with pytest.raises(InputError, match="whole number"):
        linker.linker_script(board, "micropython", "split", app_offset=0x1000)


def test_generate_writes_mboot_memory(tmp_path):
    files = build.generate("weact_mini_h7a3", "split", tmp_path, mboot=True)
    ld = (tmp_path / "h7psram_mboot.ld").read_text()
    assert tmp_path / "h7psram_mboot.ld" in files
    assert "FLASH_BL (rx)   : ORIGIN = 0x08000000, LENGTH = 0x8000" in ld
    assert "RAM (xrw)       : ORIGIN = 0x240E0000, LENGTH = 0x1FC00" in ld


def test_build_info_records_mboot(tmp_path):
    build.write_build_info(tmp_path, "devebox_h7a3", tmp_path, build.FIRMWARE_OUTPUTS + build.MBOOT_OUTPUTS,
                           mboot=True)
    info = buildinfo.read_build_info(tmp_path)
    assert info.output("mboot_dfu") == tmp_path / "mboot.dfu"
    assert info.output("mboot_elf") == tmp_path / "mboot.elf"
    assert info.output("dfu") == tmp_path / "firmware.dfu"
    assert info.mboot["app"] == "0x08008000"
    assert info.mboot["layout"] == "@Internal Flash  /0x08000000/256*08Kg"


def test_generate_gives_both_makes_the_layouts_app_address(tmp_path):
    build.generate("devebox_h7a3", "split", tmp_path, mboot=True)
    app = mboot.layout(boards.load_board("devebox_h7a3")).app_addr
    assert (tmp_path / "h7psram_mboot.mk").read_text().splitlines()[-1] == f"TEXT0_ADDR := 0x{app:08x}"
    assert f"#define H7PSRAM_MBOOT_APP_ADDR 0x{app:08x}\n" in (tmp_path / "h7psram_build_config.h").read_text()
    plain = tmp_path / "plain"
    build.generate("devebox_h7a3", "split", plain)
    assert not (plain / "h7psram_mboot.mk").exists()
    assert "MBOOT" not in (plain / "h7psram_build_config.h").read_text()


def _make_text0_addr(tmp_path, board: str, **variables: str) -> str:
    """TEXT0_ADDR as MicroPython's (and mboot's) make sees it after reading the board's fragment."""
    wrapper = tmp_path / "wrapper.mk"
    wrapper.write_text(f"include {REPO}/boards/{board}/mpconfigboard.mk\n"
                       "print-text0:\n\t@echo $(TEXT0_ADDR)\n")
    argv = ["make", "-s", "-f", str(wrapper), "print-text0", f"BOARD_DIR={REPO}/boards/{board}",
            f"BUILD={tmp_path}/build", "BUILDING_MBOOT=1"] + [f"{k}={v}" for k, v in variables.items()]
    r = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path,
                       env=dict(os.environ, PYTHONPATH=str(REPO / "scripts")))
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
@pytest.mark.parametrize("name", ["devebox_h7a3", "weact_mini_h7a3"])
def test_make_jumps_where_the_application_is_linked(tmp_path, name):
    """mboot's APPLICATION_ADDR and MicroPython's VTOR are make's TEXT0_ADDR: with mboot it must be
    FLASH_APP's origin (a fixed 64 KiB default once sent mboot to 0x08010000, where it found no
    stack pointer and stayed in DFU mode), without mboot the start of flash."""
    lay = mboot.layout(boards.load_board(name))
    gen = tmp_path / "gen"
    build.generate(name, "split", gen, mboot=True)
    ld = (gen / "h7psram_board.ld").read_text()
    assert f"FLASH_APP (rx)    : ORIGIN = 0x{lay.app_addr:08X}" in ld
    assert _make_text0_addr(tmp_path, name, H7PSRAM_MBOOT="1", H7PSRAM_GEN_DIR=str(gen)) == f"0x{lay.app_addr:08x}"
    # a plain make (no generated directory given) generates the same for itself
    assert _make_text0_addr(tmp_path, name, H7PSRAM_MBOOT="1") == f"0x{lay.app_addr:08x}"
    assert _make_text0_addr(tmp_path, name, H7PSRAM_GEN_DIR=str(gen)) == "0x08000000"


GCC = shutil.which("arm-none-eabi-gcc")


@pytest.mark.skipif(GCC is None, reason="arm-none-eabi-gcc not installed")
@pytest.mark.parametrize("defines, error", [
    (["-DBUILDING_MBOOT=1", "-DAPPLICATION_ADDR=0x08008000"], None),
    (["-DBUILDING_MBOOT=1", "-DAPPLICATION_ADDR=0x08010000"], "mboot: APPLICATION_ADDR differs"),
    (["-DMICROPY_HW_VTOR=0x08008000"], None),
    (["-DMICROPY_HW_VTOR=0x08000000"], "MICROPY_HW_VTOR differs"),
])
def test_board_header_refuses_a_jump_address_off_the_layout(tmp_path, defines, error):
    gen = tmp_path / "gen"
    build.generate("devebox_h7a3", "split", gen, mboot=True)
    r = subprocess.run([GCC, "-E", "-P", "-x", "c", "-I", str(gen), *defines,
                        str(REPO / "boards" / "common" / "h7psram_common.h"), "-o", os.devnull],
                       capture_output=True, text=True)
    if error is None:
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode != 0 and error in r.stderr
