"""Builds small Cortex-M7 ELF files with chosen placements for the memcheck tests.

The memory regions come from the board description, so the tests exercise the
same map that memcheck checks against; only the deliberate mistakes are spelt
out here.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SOURCE = r"""
typedef struct { unsigned char *addr; unsigned size; } gc_block_t;

extern void Reset_Handler(void);
__attribute__((section(".isr_vector"), used))
const void *const vectors[2] = { (void *)0x20020000, (void *)Reset_Handler };

int counter = 5;
int zeroed[64];

#ifdef GC_BLOCKS
__attribute__((section(".gc_blocks"), used))
gc_block_t gc_blocks[] = { GC_BLOCKS };
#endif

#ifdef GC_STACK_ENTRY_TYPE
/* MicroPython's memory state as py/mpstate.h lays it out, reduced to what the
   GC mark-stack rule reads from the debug information. */
typedef GC_STACK_ENTRY_TYPE gc_stack_entry_t;
typedef struct _mp_state_mem_area_t {
    struct _mp_state_mem_area_t *next;
    unsigned char *gc_alloc_table_start;
    unsigned gc_alloc_table_byte_len;
#ifdef GC_FINALISER
    unsigned char *gc_finaliser_table_start;
#endif
    unsigned char *gc_pool_start;
    unsigned char *gc_pool_end;
} mp_state_mem_area_t;
typedef struct _mp_state_mem_t {
    mp_state_mem_area_t area;
    int gc_stack_overflow;
    gc_stack_entry_t gc_block_stack[64];
} mp_state_mem_t;
mp_state_mem_t mp_state_mem;
#endif

#ifdef OVERLAP
__attribute__((section(".overlapping"), used)) int clash[8] = { 1 };
#endif

void Reset_Handler(void) {
    for (;;) {
        counter++;
        zeroed[counter & 63] += counter;
#ifdef GC_STACK_ENTRY_TYPE
        mp_state_mem.gc_block_stack[counter & 63] = counter;
#endif
    }
}
"""

SCRIPT = """\
ENTRY(Reset_Handler)
MEMORY
{{
  FLASH (rx) : ORIGIN = 0x{flash.start:08x}, LENGTH = 0x{flash.size:x}
  DTCM (rw)  : ORIGIN = 0x{dtcm.start:08x}, LENGTH = 0x{dtcm.size:x}
  SRAM (rw)  : ORIGIN = 0x{sram.start:08x}, LENGTH = 0x{sram.size:x}
  PSRAM (rw) : ORIGIN = 0x{psram.start:08x}, LENGTH = 0x{psram.size:x}
}}
SECTIONS
{{
  .isr_vector : {{ KEEP(*(.isr_vector)) }} > FLASH
  .text : {{ *(.text*) *(.rodata*) }} > FLASH
  .data : {{
    . = ALIGN(4);
    _gc_table_here = .;
    {gc_table}
    *(.data*)
  }} > {data_region} AT > FLASH
  .bss (NOLOAD) : {{ *(.bss*) *(COMMON) }} > {data_region}
  {extra}
  /DISCARD/ : {{ *(.ARM.attributes) *(.comment) }}
}}
{symbols}
"""


@dataclass
class Layout:
    data_region: str = "SRAM"
    heap: str | None = "_heap_start = ORIGIN(PSRAM); _heap_end = ORIGIN(PSRAM) + LENGTH(PSRAM);"
    stack: str | None = "_estack = ORIGIN(DTCM) + LENGTH(DTCM); _sstack = _estack - 16K;"
    gc_blocks: str | None = None  # C initialiser list for the split-heap table
    extra_sections: str = ""
    defines: list[str] = field(default_factory=list)
    #: C type of the GC mark-stack entries (e.g. "unsigned short"); None: no mp_state_mem_t
    gc_stack_entry: str | None = None
    debug: bool = False  # compile with -g (DWARF)


def regions_for(board):
    def pick(kind):
        rs = [r for r in board.regions if r.kind == kind]
        if not rs:
            pytest.fail(f"board {board.name} has no region of kind {kind}")
        return max(rs, key=lambda r: r.size)

    return {k: pick(k) for k in ("flash", "dtcm", "sram", "psram")}


def build_elf(tmp: Path, board, layout: Layout, name: str = "fw") -> Path:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not installed (apt install gcc-arm-none-eabi)")
    tmp.mkdir(parents=True, exist_ok=True)
    src = tmp / f"{name}.c"
    src.write_text(SOURCE)
    gc_table = ""
    defines = list(layout.defines)
    if layout.gc_blocks is not None:
        gc_table = ("_gc_blocks_table_start = .; KEEP(*(.gc_blocks)) "
                    "_gc_blocks_table_end = .;")
        defines.append(f"-DGC_BLOCKS={layout.gc_blocks}")
    if layout.gc_stack_entry is not None:
        defines += [f"-DGC_STACK_ENTRY_TYPE={layout.gc_stack_entry}", "-DGC_FINALISER"]
    if layout.debug:
        defines.append("-g")
    symbols = "\n".join(s for s in (layout.heap, layout.stack) if s)
    ld = tmp / f"{name}.ld"
    ld.write_text(SCRIPT.format(data_region=layout.data_region, gc_table=gc_table,
                                extra=layout.extra_sections, symbols=symbols,
                                **regions_for(board)))
    elf = tmp / f"{name}.elf"
    cmd = [gcc, "-mcpu=cortex-m7", "-mthumb", "-Os", "-nostdlib", "-nostartfiles",
           "-ffreestanding", *defines, "-T", str(ld), "-Wl,--no-check-sections",
           "-o", str(elf), str(src)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode:
        pytest.fail(f"test firmware did not link:\n{' '.join(cmd)}\n{res.stderr}")
    return elf
