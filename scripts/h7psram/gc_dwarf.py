"""What a MicroPython ELF's debug information says about its garbage collector.

The collector's mark stack (``gc_block_stack`` in ``mp_state_mem_t``) holds
block indices within one heap area, in entries of
``MICROPY_GC_STACK_ENTRY_TYPE``. The stm32 port makes that type 16-bit unless
the board has SDRAM, which silently breaks any heap area of more than 65536
blocks (1 MiB). The entry width is not visible in symbols or code size, but the
compiler records it in DWARF: the element type of the ``gc_block_stack`` array.

A MicroPython firmware ELF carries several MiB of DWARF; decoding all of it
with pyelftools takes tens of seconds. The structure is defined in
``py/mpstate.h``, so the compile units of ``py/mpstate.c`` and ``py/gc.c``
(small, early in the link order) are searched first and the rest only if
neither has it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional

#: compile units that always describe mp_state_mem_t in a MicroPython build
PREFERRED_UNITS = ("mpstate.c", "gc.c")
STATE_STRUCTS = (b"_mp_state_mem_t", b"mp_state_mem_t")
AREA_STRUCTS = (b"_mp_state_mem_area_t", b"mp_state_mem_area_t")
_QUALIFIERS = ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type")

#: MICROPY_BYTES_PER_GC_BLOCK: py/mpconfig.h's default of 4 object words, 16 bytes on 32-bit
#: ARM (the stm32 port does not override it). Macros are not in DWARF without -g3, so this is
#: assumed rather than read.
BYTES_PER_GC_BLOCK = 16
_BLOCKS_PER_ATB = 4
_BLOCKS_PER_FTB = 8
_BLOCKS_PER_WTB = 8
_ALLOC_TABLE_GAP_BYTE = 1


@dataclass(frozen=True)
class GcStack:
    """The mark stack's entry type and the per-area tables the build compiled in."""

    entry_bytes: int
    entry_type: str
    finaliser: bool  # mp_state_mem_area_t has gc_finaliser_table_start
    weakref: bool    # mp_state_mem_area_t has gc_weakref_table_start

    @property
    def entry_bits(self) -> int:
        return 8 * self.entry_bytes

    def blocks_in_area(self, area_bytes: int) -> int:
        """Blocks MicroPython's gc_setup_area makes of an area of this many bytes."""
        if area_bytes <= _ALLOC_TABLE_GAP_BYTE:
            return 0
        if self.finaliser or self.weakref:
            bits_per_atb = 8 + 8 * _BLOCKS_PER_ATB * BYTES_PER_GC_BLOCK
            if self.finaliser:
                bits_per_atb += 8 * _BLOCKS_PER_ATB // _BLOCKS_PER_FTB
            if self.weakref:
                bits_per_atb += 8 * _BLOCKS_PER_ATB // _BLOCKS_PER_WTB
            atb = (area_bytes - _ALLOC_TABLE_GAP_BYTE) * 8 // bits_per_atb
        else:
            atb = (area_bytes - _ALLOC_TABLE_GAP_BYTE) // (1 + 4 * BYTES_PER_GC_BLOCK)
        return atb * _BLOCKS_PER_ATB

    def max_blocks(self) -> int:
        """Largest area (in blocks) whose every block index fits in one entry."""
        return 1 << self.entry_bits


def read_gc_stack(elf) -> tuple[Optional[GcStack], str]:
    """From a pyelftools ELFFile: the mark-stack description, or None and why it is missing."""
    if not elf.has_dwarf_info() or elf.get_section_by_name(".debug_info") is None:
        return None, "no debug information (DWARF) in the ELF"
    dwarf = elf.get_dwarf_info(relocate_dwarf_sections=False)
    later = []
    for cu in dwarf.iter_CUs():
        name = _attr(cu.get_top_DIE(), "DW_AT_name") or b""
        if name.replace(b"\\", b"/").rsplit(b"/", 1)[-1].decode(errors="replace") in PREFERRED_UNITS:
            found = _search_unit(cu)
            if found is not None:
                return found, ""
        else:
            later.append(cu)
    for cu in later:
        found = _search_unit(cu)
        if found is not None:
            return found, ""
    return None, "the debug information has no mp_state_mem_t with gc_block_stack (not a MicroPython ELF?)"


def _search_unit(cu) -> Optional[GcStack]:
    state = area = None
    for die in _structs(cu):
        name = _attr(die, "DW_AT_name")
        if name in STATE_STRUCTS and state is None:
            state = die
        elif name in AREA_STRUCTS and area is None:
            area = die
    if state is None:
        return None
    members = _members(state)
    stack = members.get(b"gc_block_stack")
    if stack is None:
        return None
    element = _strip(stack.get_DIE_from_attribute("DW_AT_type"))
    if element.tag == "DW_TAG_array_type":
        element = element.get_DIE_from_attribute("DW_AT_type")
    type_name = (_attr(_named(element), "DW_AT_name") or b"?").decode(errors="replace")
    base = _strip(element)
    size = _attr(base, "DW_AT_byte_size")
    if not isinstance(size, int):
        return None
    # non-split builds embed the one area in mp_state_mem_t itself
    area_members = _members(area) if area is not None else members
    return GcStack(entry_bytes=size, entry_type=type_name,
                   finaliser=b"gc_finaliser_table_start" in area_members,
                   weakref=b"gc_weakref_table_start" in area_members)


def _structs(cu) -> Iterator:
    # The structure definitions are children of the unit's top DIE; iterating only those
    # (not every function body's DIEs) keeps this to the top level of the unit.
    for die in cu.get_top_DIE().iter_children():
        if die.tag == "DW_TAG_structure_type" and "DW_AT_declaration" not in die.attributes:
            yield die


def _members(struct) -> dict:
    return {_attr(m, "DW_AT_name"): m for m in struct.iter_children() if m.tag == "DW_TAG_member"}


def _strip(die):
    while die.tag in _QUALIFIERS and "DW_AT_type" in die.attributes:
        die = die.get_DIE_from_attribute("DW_AT_type")
    return die


def _named(die):
    # the name the source used: the outermost typedef (e.g. uint16_t), past const/volatile
    while die.tag in ("DW_TAG_const_type", "DW_TAG_volatile_type") and "DW_AT_type" in die.attributes:
        die = die.get_DIE_from_attribute("DW_AT_type")
    return die


def _attr(die, name: str):
    a = die.attributes.get(name)
    return None if a is None else a.value
