"""The one reader of firmware ELFs: memcheck, the DfuSe writer and the simulator's loader.

A firmware ELF for these boards is 32-bit, little-endian ARM; its headers and every loadable
segment lie inside the file. Anything else is refused with one line naming the file, before
pyelftools sees it (pyelftools reads a truncated segment as a short one without complaint).
The PT_LOAD segments, what a flasher writes, are read here and nowhere else.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from h7psram.errors import InputError, as_h7

if TYPE_CHECKING:  # pragma: no cover
    from elftools.elf.elffile import ELFFile

class BadElf(InputError):
    """The file was read and is not an ELF these boards can use; ``problem`` is the message
    without the file name, for a caller that words its own error around it."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.problem = problem


EM_ARM = 40
_MACHINES = {3: "x86", 62: "x86-64", 183: "AArch64", 243: "RISC-V", 8: "MIPS", 20: "PowerPC"}
_EHDR_SIZE = 52
_PHDR_SIZE = 32


def read_arm_elf(path: Path, *, need_sections: bool = False, need_segments: bool = False) -> bytes:
    """The file's bytes, or InputError naming the file and what is wrong with it."""
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not an ELF file")
        blob = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:     # ENAMETOOLONG, EACCES, ELOOP ... from is_dir() or the read
        raise as_h7(e) from None
    _check_header(path, blob, len(blob), need_sections=need_sections, need_segments=need_segments)
    return blob


def _check_header(path: Path, head: bytes, file_size: int, *, need_sections: bool,
                  need_segments: bool) -> tuple[int, int, int]:
    """(e_phoff, e_phentsize, e_phnum) of a file of ``file_size`` bytes that starts with ``head``
    (at least the ELF header), or BadElf."""
    if head[:4] != b"\x7fELF":
        raise BadElf(path, "not an ELF file (bad magic)")
    if len(head) < _EHDR_SIZE:
        raise BadElf(path, "truncated ELF (header incomplete)")
    if head[4] != 1:
        raise BadElf(path, "wrong architecture: 64-bit ELF, expected 32-bit ARM (Cortex-M7)")
    if head[5] != 1:
        raise BadElf(path, "wrong byte order: big-endian ELF, expected little-endian ARM")
    (e_machine,) = struct.unpack_from("<H", head, 18)
    if e_machine != EM_ARM:
        raise BadElf(path, f"wrong architecture: e_machine {e_machine} "
                         f"({_MACHINES.get(e_machine, 'unknown')}), expected ARM (Cortex-M7)")
    e_phoff, e_shoff = struct.unpack_from("<II", head, 28)
    e_phentsize, e_phnum, e_shentsize, e_shnum, _ = struct.unpack_from("<HHHHH", head, 42)
    if need_sections and (e_shnum == 0 or e_shoff == 0):
        raise BadElf(path, "ELF has no section headers (stripped or not linked)")
    if need_segments and (e_phnum == 0 or e_phoff == 0):
        raise BadElf(path, "ELF has no program headers (not linked)")
    if e_phnum and e_phentsize < _PHDR_SIZE:
        raise BadElf(path, f"corrupt ELF (program header entries of {e_phentsize} bytes)")
    if e_shoff + e_shnum * e_shentsize > file_size or e_phoff + e_phnum * e_phentsize > file_size:
        raise BadElf(path, f"truncated ELF (headers run past the end of the file, "
                         f"{file_size} bytes)")
    return e_phoff, e_phentsize, e_phnum


def __getattr__(name: str):
    # CORRUPT names pyelftools' exception, so building it imports pyelftools: only the readers
    # that parse sections (memcheck) pay for that, not the simulator's or the DfuSe writer's load.
    if name == "CORRUPT":
        from elftools.common.exceptions import ELFError
        # What pyelftools raises on a file whose headers passed the checks above but whose
        # tables do not hold together (a string table index out of range, a section of a type
        # it cannot decode).
        corrupt = (ELFError, struct.error, ValueError, KeyError, IndexError, AssertionError)
        globals()["CORRUPT"] = corrupt
        return corrupt
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse(blob: bytes) -> ELFFile:
    """The pyelftools view of bytes that passed ``read_arm_elf``."""
    from elftools.elf.elffile import ELFFile
    return ELFFile(io.BytesIO(blob))


def pt_load(elf: ELFFile) -> list:
    """The program headers of the PT_LOAD segments (those with no file contents too), in file order."""
    return [seg.header for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]


_PT_LOAD = 1


def load_segments(path: Path) -> list[tuple[int, bytes]]:
    """(physical address, file bytes) of each PT_LOAD segment with contents, in file order, all
    inside the file; InputError naming the file for one a flasher would refuse.

    Reads the headers and then each segment once: a firmware ELF is mostly debug information
    that a flasher never looks at (5 MB of a MicroPython build, against 0.4 MB of segments)."""
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not an ELF file")
        with open(path, "rb") as f:
            return _segments_of(path, f, os.fstat(f.fileno()).st_size)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as e:
        raise as_h7(e) from None


def _segments_of(path: Path, f: BinaryIO, file_size: int) -> list[tuple[int, bytes]]:
    head = f.read(_EHDR_SIZE)
    e_phoff, e_phentsize, e_phnum = _check_header(path, head, file_size, need_sections=False,
                                                  need_segments=True)
    f.seek(e_phoff)
    table = f.read(e_phnum * e_phentsize)
    out = []
    for i in range(e_phnum):
        (p_type, p_offset, _vaddr, p_paddr, p_filesz, _memsz, _flags,
         _align) = struct.unpack_from("<8I", table, i * e_phentsize)
        if p_type != _PT_LOAD or p_filesz == 0:
            continue
        if p_offset + p_filesz > file_size:
            raise BadElf(path, f"truncated ELF (segment at 0x{p_paddr:08x} needs bytes "
                             f"{p_offset}..{p_offset + p_filesz}, the file has {file_size})")
        if p_paddr + p_filesz > 1 << 32:
            raise BadElf(path, f"corrupt ELF (segment at 0x{p_paddr:08x} of {p_filesz} "
                             f"bytes wraps past 4 GiB)")
        f.seek(p_offset)
        out.append((p_paddr, f.read(p_filesz)))
    if not out:
        raise BadElf(path, "no loadable segments")
    return out


def symbol_address(path: Path, name: str) -> int | None:
    """Where the symbol ``name`` is, or None when the ELF has no symbol table or no such symbol."""
    symtab = parse(read_arm_elf(path, need_sections=True)).get_section_by_name(".symtab")
    if symtab is None:
        return None
    syms = symtab.get_symbol_by_name(name)
    return syms[0]["st_value"] if syms else None
