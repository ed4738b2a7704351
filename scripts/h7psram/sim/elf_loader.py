"""Read an ELF the way a flasher does: the PT_LOAD segments at their physical (load) addresses."""
from __future__ import annotations

from pathlib import Path

from elftools.elf.elffile import ELFFile

from .. import elfcheck


def load_segments(path: str) -> list[tuple[int, bytes]]:
    """(load address, bytes) of each PT_LOAD segment; InputError for a file a flasher would refuse."""
    p = Path(path)
    return elfcheck.load_segments(p, elfcheck.read_arm_elf(p, need_segments=True))


def entry_symbol(path: str, name: str) -> int | None:
    """Address of a symbol (tests use it to find variables in the test firmware)."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        if symtab is None:
            return None
        syms = symtab.get_symbol_by_name(name)
        return syms[0]["st_value"] if syms else None
