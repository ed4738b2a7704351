"""The one reader of firmware ELFs: memcheck, the DfuSe writer and the simulator's loader.

A firmware ELF for these boards is 32-bit, little-endian ARM; its headers and every loadable
segment lie inside the file. Anything else is refused with one line naming the file, before
pyelftools sees it (pyelftools reads a truncated segment as a short one without complaint).
The PT_LOAD segments, what a flasher writes, are read here and nowhere else.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from h7psram.errors import InputError, as_h7

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
    if blob[:4] != b"\x7fELF":
        raise BadElf(path, "not an ELF file (bad magic)")
    if len(blob) < _EHDR_SIZE:
        raise BadElf(path, "truncated ELF (header incomplete)")
    if blob[4] != 1:
        raise BadElf(path, "wrong architecture: 64-bit ELF, expected 32-bit ARM (Cortex-M7)")
    if blob[5] != 1:
        raise BadElf(path, "wrong byte order: big-endian ELF, expected little-endian ARM")
    (e_machine,) = struct.unpack_from("<H", blob, 18)
    if e_machine != EM_ARM:
        raise BadElf(path, f"wrong architecture: e_machine {e_machine} "
                         f"({_MACHINES.get(e_machine, 'unknown')}), expected ARM (Cortex-M7)")
    e_phoff, e_shoff = struct.unpack_from("<II", blob, 28)
    e_phentsize, e_phnum, e_shentsize, e_shnum, _ = struct.unpack_from("<HHHHH", blob, 42)
    if need_sections and (e_shnum == 0 or e_shoff == 0):
        raise BadElf(path, "ELF has no section headers (stripped or not linked)")
    if need_segments and (e_phnum == 0 or e_phoff == 0):
        raise BadElf(path, "ELF has no program headers (not linked)")
    if e_phnum and e_phentsize < _PHDR_SIZE:
        raise BadElf(path, f"corrupt ELF (program header entries of {e_phentsize} bytes)")
    if e_shoff + e_shnum * e_shentsize > len(blob) or e_phoff + e_phnum * e_phentsize > len(blob):
        raise BadElf(path, f"truncated ELF (headers run past the end of the file, "
                         f"{len(blob)} bytes)")
    return blob


# What pyelftools raises on a file whose headers passed the checks above but whose tables do not
# hold together (a string table index out of range, a section of a type it cannot decode).
CORRUPT = (ELFError, struct.error, ValueError, KeyError, IndexError, AssertionError)


def parse(blob: bytes) -> ELFFile:
    """The pyelftools view of bytes that passed ``read_arm_elf``."""
    return ELFFile(io.BytesIO(blob))


def pt_load(elf: ELFFile) -> list:
    """The program headers of the PT_LOAD segments (those with no file contents too), in file order."""
    return [seg.header for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]


def load_segments(path: Path) -> list[tuple[int, bytes]]:
    """(physical address, file bytes) of each PT_LOAD segment with contents, in file order, all
    inside the file; InputError naming the file for one a flasher would refuse."""
    blob = read_arm_elf(path, need_segments=True)
    out = []
    try:
        for seg in pt_load(parse(blob)):
            if seg["p_filesz"] == 0:
                continue
            p_offset, p_paddr, p_filesz = seg["p_offset"], seg["p_paddr"], seg["p_filesz"]
            if p_offset + p_filesz > len(blob):
                raise BadElf(path, f"truncated ELF (segment at 0x{p_paddr:08x} needs bytes "
                                 f"{p_offset}..{p_offset + p_filesz}, the file has {len(blob)})")
            if p_paddr + p_filesz > 1 << 32:
                raise BadElf(path, f"corrupt ELF (segment at 0x{p_paddr:08x} of {p_filesz} "
                                 f"bytes wraps past 4 GiB)")
            out.append((p_paddr, blob[p_offset:p_offset + p_filesz]))
    except CORRUPT as e:
        raise BadElf(path, f"corrupt or truncated ELF ({e})") from None
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
