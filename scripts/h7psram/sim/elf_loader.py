"""Read an ELF the way a flasher does: the PT_LOAD segments at their physical (load) addresses."""
from __future__ import annotations

from pathlib import Path

from .. import elf_reader


def load_segments(path: str) -> list[tuple[int, bytes]]:
    """(load address, bytes) of each PT_LOAD segment; InputError for a file a flasher would refuse."""
    return elf_reader.load_segments(Path(path))


def entry_symbol(path: str, name: str) -> int | None:
    """Address of a symbol (tests use it to find variables in the test firmware)."""
    return elf_reader.symbol_address(Path(path), name)
