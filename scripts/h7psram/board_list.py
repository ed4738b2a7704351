"""What `west boards` prints: one line per board, from a Python format string as in Zephyr.

Zephyr's `west boards -f FORMAT` fields (name, full_name, vendor, dir, qualifiers, revisions,
revision_default, hwm) are filled from this workspace's board description, and the fields
that matter here are added: the PSRAM part and the internal flash, from the devicetree.
"""

from __future__ import annotations

import re
import string
from typing import Any, Optional

from h7psram.errors import InputError

#: the default line: the fields that tell these boards apart (Zephyr's default is "{name}")
DEFAULT_FORMAT = "{name:16} {full_name:20} {mcu}  PSRAM {psram_part} {psram_size} at {psram_base}  " \
                 "flash {flash_size} at {flash_base}"

FIELD_HELP = {
    "name": "board name (west build -b NAME)",
    "full_name": "board title (devicetree model, MicroPython's board name)",
    "vendor": "vendor prefix of the board's devicetree compatible",
    "dir": "MicroPython board folder",
    "dts": "devicetree file",
    "qualifiers": "SoC, from the devicetree compatible (Zephyr: board qualifiers)",
    "revisions": "board revisions (None: these boards have none)",
    "revision_default": "default revision (None)",
    "hwm": "Zephyr's hardware model version field (v2)",
    "mcu": "MCU name (MICROPY_HW_MCU_NAME)",
    "psram_part": "PSRAM part, e.g. ESP-PSRAM64H",
    "psram_compatible": "PSRAM devicetree compatible",
    "psram_size": "PSRAM size, e.g. '8 MiB'; psram_bytes: the number",
    "psram_base": "address of the memory-mapped PSRAM window",
    "flash_size": "internal flash size, e.g. '2 MiB'; flash_bytes: the number",
    "flash_base": "address of the internal flash",
}


def size_text(size: int) -> str:
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} B"


def board_fields(name: str) -> dict[str, Any]:
    from h7psram import boards, build

    board = boards.load_board(name)
    flash = board.regions_of_kind("flash")[0]
    soc = next((c.split(",", 1)[1] for c in board.compatible[1:] if "," in c), board.mcu.lower())
    return {
        "name": board.name,
        "full_name": board.title,
        "vendor": board.vendor,
        "dir": str(build.repo_root() / "boards" / board.name),
        "dts": str(board.dts_path),
        "qualifiers": soc,
        "revisions": "None",
        "revision_default": "None",
        "hwm": "v2",
        "mcu": board.mcu,
        "psram_part": board.psram.part,
        "psram_compatible": board.psram.compatible,
        "psram_size": size_text(board.psram.size),
        "psram_bytes": board.psram.size,
        "psram_base": f"0x{board.psram.base:08X}",
        "flash_size": size_text(flash.size),
        "flash_bytes": flash.size,
        "flash_base": f"0x{flash.start:08X}",
    }


def check_format(fmt: str) -> None:
    """One line naming the problem for a format string that cannot be used."""
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(fmt) if field is not None]
    except ValueError as err:
        raise InputError(f"-f {fmt!r}: {err}") from None
    known = set(FIELD_HELP) | {"psram_bytes", "flash_bytes"}
    for field in names:
        base = re.split(r"[.\[]", field, maxsplit=1)[0]
        if base not in known:
            raise InputError(f"-f {fmt!r}: unknown field '{base or field}' (fields: {', '.join(sorted(known))})")


def board_lines(fmt: str = DEFAULT_FORMAT, name_re: Optional[str] = None) -> list[str]:
    from h7psram import build

    check_format(fmt)
    try:
        pattern = re.compile(name_re) if name_re is not None else None
    except re.error as err:
        raise InputError(f"-n {name_re!r}: not a regular expression ({err})") from None
    lines = []
    for name in build.known_boards():
        if pattern is not None and not pattern.search(name):
            continue
        try:
            lines.append(fmt.format(**board_fields(name)).rstrip())
        except (ValueError, IndexError, AttributeError, KeyError) as err:
            raise InputError(f"-f {fmt!r}: {err}") from None
    return lines
