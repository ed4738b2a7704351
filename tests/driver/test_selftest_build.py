"""Cross builds of the driver + self-test image (arm-none-eabi-gcc, CMake,
-Wall -Wextra -Werror) for both boards, checked with pyelftools."""
from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from driver_host import BOARDS, REPO
from h7psram.errors import CheckFailed, InputError
from h7psram.selftest_build import build_selftest

FLASH = (0x08000000, 0x08200000)
DTCM = (0x20000000, 0x20020000)
AXI_SRAM = (0x24000000, 0x24100000)

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                reason="arm-none-eabi-gcc not installed")


def build(board: str, out: Path, defines=()) -> Path:
    return build_selftest(board, out, defines)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return {b: build(b, tmp_path_factory.mktemp(b)) for b in BOARDS}


def symbols(elf: ELFFile) -> dict[str, int]:
    out = {}
    for sec in elf.iter_sections():
        if isinstance(sec, SymbolTableSection):
            for s in sec.iter_symbols():
                if s.name:
                    out[s.name] = s["st_value"]
    return out


def inside(addr: int, region: tuple[int, int]) -> bool:
    return region[0] <= addr < region[1]


@pytest.mark.parametrize("board", BOARDS)
def test_vector_table_and_symbols(images, board):
    elf_path = images[board]
    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        vec = elf.get_section_by_name(".isr_vector")
        assert vec is not None and vec["sh_addr"] == FLASH[0]
        words = struct.unpack("<%dI" % (vec["sh_size"] // 4), vec.data())
        syms = symbols(elf)
        # initial SP is the top of the stack, in DTCM; reset/fault handlers are
        # Thumb addresses in flash
        assert words[0] == syms["_estack"] and inside(words[0] - 1, DTCM)
        assert syms["_sstack"] < syms["_estack"]
        assert words[1] == syms["Reset_Handler"] | 1
        assert words[3] == syms["HardFault_Handler"] | 1
        assert all(w & 1 and inside(w & ~1, FLASH) for w in words[1:])
        assert len(words) >= 16 + 151     # up to OCTOSPI2_IRQn 150
        for name in ("main", "psram_init", "psram_deinit", "psram_memtest_run",
                     "psram_timing_refresh", "selftest_clock_init"):
            assert inside(syms[name], FLASH), name
        # everything writable is internal RAM: the image must run before
        # (and without) the PSRAM
        for sec in elf.iter_sections():
            if sec["sh_flags"] & 0x2 and sec["sh_flags"] & 0x1:   # SHF_ALLOC|SHF_WRITE
                assert inside(sec["sh_addr"], DTCM) or inside(sec["sh_addr"], AXI_SRAM), sec.name
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_filesz"]]
        assert all(inside(s["p_paddr"], FLASH) for s in loads)
    binary = elf_path.with_suffix(".bin").read_bytes()
    assert struct.unpack("<2I", binary[:8]) == tuple(words[:2])


@pytest.mark.parametrize("board", BOARDS)
def test_board_name_string_in_image(images, board):
    assert b"psram selftest " + board.encode() in images[board].with_suffix(".bin").read_bytes()


def test_driver_exports_only_prefixed_symbols(images):
    """No global symbol of the driver may collide with MicroPython or the HAL."""
    objs = sorted(images[BOARDS[0]].parent.glob("CMakeFiles/*/**/psram*.c.obj"))
    assert {o.name for o in objs} == {"psram.c.obj", "psram_timing.c.obj", "psram_memtest.c.obj",
                                      "psram_bandwidth.c.obj"}
    for obj in objs:
        with open(obj, "rb") as f:
            for sec in ELFFile(f).iter_sections():
                if not isinstance(sec, SymbolTableSection):
                    continue
                for s in sec.iter_symbols():
                    if s["st_info"]["bind"] == "STB_GLOBAL" and s["st_shndx"] != "SHN_UNDEF":
                        assert s.name.startswith("psram_"), f"{obj.name}: {s.name}"


@pytest.mark.parametrize("define", ["PSRAM_TEST_NO_DQS", "PSRAM_TEST_NO_CSBOUND",
                                    "PSRAM_PRESCALER_OVERRIDE=9"])
def test_variants_build_and_differ(images, tmp_path, define):
    elf = build("devebox_h7a3", tmp_path, [define])
    default = images["devebox_h7a3"].with_suffix(".bin").read_bytes()
    assert elf.with_suffix(".bin").read_bytes() != default


def test_given_header_and_linker_script_are_used(tmp_path):
    from h7psram.dts.gen import main as gen_main
    header, script = tmp_path / "psram_board.h", tmp_path / "custom.ld"
    assert gen_main(["header", "--board", "devebox_h7a3", "-o", str(header)]) in (0, None)
    assert gen_main(["linker", "--variant", "selftest", "--board", "devebox_h7a3", "-o", str(script)]) in (0, None)
    header.write_text(header.read_text().replace('"devebox_h7a3"', '"bench_board"'))
    # move the stack top down 4 KiB: visible as the initial SP in vector 0
    text = script.read_text()
    assert "_estack = ORIGIN(DTCM) + LENGTH(DTCM);" in text
    script.write_text(text.replace("_estack = ORIGIN(DTCM) + LENGTH(DTCM);",
                                   "_estack = ORIGIN(DTCM) + LENGTH(DTCM) - 4096;"))
    elf = build_selftest("devebox_h7a3", tmp_path / "out", header=header, linker_script=script)
    binary = elf.with_suffix(".bin").read_bytes()
    assert b"psram selftest bench_board" in binary
    assert struct.unpack("<I", binary[:4])[0] == DTCM[1] - 4096


def test_compile_error_is_one_clear_line(tmp_path):
    with pytest.raises(CheckFailed) as err:
        build("devebox_h7a3", tmp_path, ["PSRAM_PRESCALER_OVERRIDE=no_such_symbol"])
    msg = str(err.value)
    assert "\n" not in msg and "CMakeLists.txt: build failed" in msg and "no_such_symbol" in msg


def test_bad_arguments_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not NAME or NAME=VALUE"):
        build_selftest("devebox_h7a3", tmp_path, ["-DEVIL; rm"])
    with pytest.raises(InputError, match="not a board identifier"):
        build_selftest("../x", tmp_path)
    with pytest.raises(InputError, match="file not found"):
        build_selftest("devebox_h7a3", tmp_path, header=tmp_path / "missing.h")


def _micropython_dirs():
    for top in (REPO, REPO.parent):
        mpy = top / "modules" / "micropython"
        lib = top / "modules" / "hal" / "stm32lib"
        if (mpy / "ports" / "stm32").is_dir() and (lib / "CMSIS").is_dir():
            return mpy, lib
    return None


@pytest.mark.micropython
def test_driver_headers_coexist_with_cmsis(tmp_path):
    """The driver's headers next to the H7A3 CMSIS device header: any macro
    clash is a redefinition warning, which -Werror turns into a failure."""
    dirs = _micropython_dirs()
    if dirs is None:
        pytest.skip("MicroPython checkout (modules/micropython + modules/hal/stm32lib) absent: run west update")
    import subprocess
    mpy, lib = dirs
    from h7psram.dts.gen import main as gen_main
    inc = tmp_path / "inc"
    inc.mkdir()
    assert gen_main(["header", "--board", "devebox_h7a3", "-o", str(inc / "psram_board.h")]) in (0, None)
    src = tmp_path / "coexist.c"
    src.write_text('#include "stm32h7a3xx.h"\n#include "psram_board.h"\n#include "psram_regs.h"\n'
                   '#include "psram.h"\n#include "psram_timing.h"\n#include "psram_memtest.h"\n'
                   'int coexist(void) { return (int)OCTOSPI_CR_EN + (int)PSRAM_OSPI_CR_EN; }\n')
    cmd = ["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard",
           "-std=gnu99", "-Wall", "-Wextra", "-Werror", "-Os", "-c", str(src), "-o", str(tmp_path / "c.o"),
           f"-I{inc}", f"-I{REPO / 'drivers' / 'psram'}",
           f"-I{lib / 'CMSIS' / 'STM32H7xx' / 'Include'}", f"-I{mpy / 'lib' / 'cmsis' / 'inc'}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
