"""mboot's place in flash and RAM (h7psram.mboot), the linker offset and build_info.yml."""

from __future__ import annotations

import pytest

from h7psram import boards, buildinfo, build, dfuse, mboot
from h7psram.dts import linker
from h7psram.errors import InputError

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
