"""The checks every reader of a firmware ELF makes before trusting it (memcheck, the simulator).

A firmware ELF for these boards is 32-bit, little-endian ARM; its headers and every loadable
segment lie inside the file. Anything else is refused with one line naming the file, before
pyelftools sees it (pyelftools reads a truncated segment as a short one without complaint).
"""

from __future__ import annotations

import struct
from pathlib import Path

from h7psram.errors import InputError, as_h7

EM_ARM = 40
_MACHINES = {3: "x86", 62: "x86-64", 183: "AArch64", 243: "RISC-V", 8: "MIPS", 20: "PowerPC"}
_EHDR_SIZE = 52
_PHDR_SIZE = 32
PT_LOAD = 1


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
        raise InputError(f"{path}: not an ELF file (bad magic)")
    if len(blob) < _EHDR_SIZE:
        raise InputError(f"{path}: truncated ELF (header incomplete)")
    if blob[4] != 1:
        raise InputError(f"{path}: wrong architecture: 64-bit ELF, expected 32-bit ARM (Cortex-M7)")
    if blob[5] != 1:
        raise InputError(f"{path}: wrong byte order: big-endian ELF, expected little-endian ARM")
    (e_machine,) = struct.unpack_from("<H", blob, 18)
    if e_machine != EM_ARM:
        raise InputError(f"{path}: wrong architecture: e_machine {e_machine} "
                         f"({_MACHINES.get(e_machine, 'unknown')}), expected ARM (Cortex-M7)")
    e_phoff, e_shoff = struct.unpack_from("<II", blob, 28)
    e_phentsize, e_phnum, e_shentsize, e_shnum, _ = struct.unpack_from("<HHHHH", blob, 42)
    if need_sections and (e_shnum == 0 or e_shoff == 0):
        raise InputError(f"{path}: ELF has no section headers (stripped or not linked)")
    if need_segments and (e_phnum == 0 or e_phoff == 0):
        raise InputError(f"{path}: ELF has no program headers (not linked)")
    if e_phnum and e_phentsize < _PHDR_SIZE:
        raise InputError(f"{path}: corrupt ELF (program header entries of {e_phentsize} bytes)")
    if e_shoff + e_shnum * e_shentsize > len(blob) or e_phoff + e_phnum * e_phentsize > len(blob):
        raise InputError(f"{path}: truncated ELF (headers run past the end of the file, "
                         f"{len(blob)} bytes)")
    return blob


def load_segments(path: Path, blob: bytes) -> list[tuple[int, bytes]]:
    """(physical address, file bytes) of each PT_LOAD segment with contents, all inside the file."""
    e_phoff, = struct.unpack_from("<I", blob, 28)
    e_phentsize, e_phnum = struct.unpack_from("<HH", blob, 42)
    out = []
    for i in range(e_phnum):
        p_type, p_offset, _vaddr, p_paddr, p_filesz, p_memsz = struct.unpack_from(
            "<IIIIII", blob, e_phoff + i * e_phentsize)
        if p_type != PT_LOAD or p_filesz == 0:
            continue
        if p_offset + p_filesz > len(blob):
            raise InputError(f"{path}: truncated ELF (segment at 0x{p_paddr:08x} needs bytes "
                             f"{p_offset}..{p_offset + p_filesz}, the file has {len(blob)})")
        if p_paddr + p_filesz > 1 << 32:
            raise InputError(f"{path}: corrupt ELF (segment at 0x{p_paddr:08x} of {p_filesz} "
                             f"bytes wraps past 4 GiB)")
        out.append((p_paddr, blob[p_offset:p_offset + p_filesz]))
    if not out:
        raise InputError(f"{path}: no loadable segments")
    return out
