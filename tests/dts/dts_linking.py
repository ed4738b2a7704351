"""Cross-compiling the tiny test program and reading its ELF (devicetree tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

BOARDS = ["devebox_h7a3", "weact_mini_h7a3"]
ARM_GCC = "arm-none-eabi-gcc"
ARM_FLAGS = ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"]

# A program with what a firmware image has: a vector table, initialised and
# zeroed data, and start-up code that copies/clears them.
TINY_PROGRAM = r"""
#include <stdint.h>
extern uint32_t _estack, _sidata, _sdata, _edata, _sbss, _ebss;
void Reset_Handler(void);
__attribute__((section(".isr_vector"), used))
const void *const vectors[2] = { &_estack, (const void *)Reset_Handler };
volatile uint32_t counter = 42;
volatile uint32_t zeroed[64];
static int work(void) { return (int)(counter + zeroed[3]); }
void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) { *dst++ = *src++; }
    for (dst = &_sbss; dst < &_ebss;) { *dst++ = 0; }
    (void)work();
    for (;;) {}
}
"""


def link(gcc: str, script: Path, out: Path, extra_source: str = "") -> Path:
    source = out.with_suffix(".c")
    source.write_text(TINY_PROGRAM + extra_source)
    result = subprocess.run(
        [gcc, *ARM_FLAGS, "-nostartfiles", "-O1", "-T", str(script), str(source), "-o", str(out)],
        capture_output=True, text=True)
    assert result.returncode == 0, f"link with {script.name} failed:\n{result.stderr}"
    return out


# Added to TINY_PROGRAM for the MicroPython scripts: the symbols the port
# links against, so the link fails when the script does not define one.
MICROPYTHON_REFS = r"""
extern uint8_t _heap_start, _heap_end, _sstack, _ram_start, _ram_end, _bl_state;
extern uint8_t _micropy_hw_internal_flash_storage_start, _micropy_hw_internal_flash_storage_end;
extern uint8_t _micropy_hw_internal_flash_storage_ram_cache_start[];
extern uint8_t _micropy_hw_internal_flash_storage_ram_cache_end[];
const uint8_t *volatile mp_refs[] = {
    &_heap_start, &_heap_end, &_sstack, &_ram_start, &_ram_end, &_bl_state,
    &_micropy_hw_internal_flash_storage_start, &_micropy_hw_internal_flash_storage_end,
    _micropy_hw_internal_flash_storage_ram_cache_start, _micropy_hw_internal_flash_storage_ram_cache_end,
};
"""

SPLIT_HEAP_REFS = r"""
typedef struct { uint8_t *addr; uint32_t size; } gc_blocks_table_t;
extern gc_blocks_table_t _gc_blocks_table_start, _gc_blocks_table_end;
void psram_failed(void) { (&_gc_blocks_table_start)->size = 0; }
const void *volatile table_refs[] = { &_gc_blocks_table_start, &_gc_blocks_table_end, (const void *)psram_failed };
"""


def elf_symbols(path: Path) -> dict[str, int]:
    with path.open("rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in symtab.iter_symbols() if s.name}


def elf_section_bytes(path: Path, addr: int, size: int) -> tuple[str, bytes]:
    """Initial contents at a run address, from the section that holds it."""
    with path.open("rb") as f:
        elf = ELFFile(f)
        for section in elf.iter_sections():
            start = section["sh_addr"]
            if start <= addr and addr + size <= start + section["sh_size"] and section["sh_type"] == "SHT_PROGBITS":
                data = section.data()
                return section.name, data[addr - start: addr - start + size]
    raise AssertionError(f"no PROGBITS section holds {addr:#x}+{size}")


def elf_section_ranges(path: Path) -> dict[str, tuple[int, int]]:
    """Allocated sections with a size: name -> (start, end)."""
    with path.open("rb") as f:
        elf = ELFFile(f)
        return {s.name: (s["sh_addr"], s["sh_addr"] + s["sh_size"]) for s in elf.iter_sections()
                if s["sh_flags"] & 0x2 and s["sh_size"]}
