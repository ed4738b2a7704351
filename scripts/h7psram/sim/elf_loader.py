"""Read an ELF the way a flasher does: the PT_LOAD segments at their physical (load) addresses."""
from __future__ import annotations

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from ..errors import InputError


def load_segments(path: str) -> list[tuple[int, bytes]]:
    try:
        with open(path, "rb") as f:
            elf = ELFFile(f)
            if elf["e_machine"] != "EM_ARM":
                raise InputError(f"{path}: not an ARM ELF (machine {elf['e_machine']})")
            out = []
            for seg in elf.iter_segments():
                if seg["p_type"] != "PT_LOAD" or seg["p_filesz"] == 0:
                    continue
                out.append((seg["p_paddr"], seg.data()[: seg["p_filesz"]]))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (ELFError, OSError) as err:
        raise InputError(f"{path}: not a readable ELF file ({err})") from None
    if not out:
        raise InputError(f"{path}: no loadable segments")
    return out


def entry_symbol(path: str, name: str) -> int | None:
    """Address of a symbol (tests use it to find variables in the test firmware)."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab")
        if symtab is None:
            return None
        syms = symtab.get_symbol_by_name(name)
        return syms[0]["st_value"] if syms else None
