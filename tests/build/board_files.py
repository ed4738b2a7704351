"""Readers for the board folder files the tests compare with the devicetree."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

_DEFINE = re.compile(r"^\s*#define\s+(\w+)\s+(.+?)\s*(?://.*)?$")


def defines(path: Path) -> dict[str, str]:
    """Object-like macros of a C header: name -> replacement text (comments dropped)."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        m = _DEFINE.match(line)
        if m and "(" not in m.group(1):
            out[m.group(1)] = m.group(2).strip()
    return out


_NAME = re.compile(r"^\s*#define\s+(\w+(?:\(\w+\))?)", re.M)
_MARK = "@h7psram@"


@functools.lru_cache(maxsize=None)
def board_macros(repo: Path, board: str) -> dict[str, str]:
    """What MicroPython sees from a board's mpconfigboard.h: every macro it and
    h7psram_common.h define, expanded by the C preprocessor with the headers the
    build generates from the devicetree (a function-like macro under its
    parameter list, "MICROPY_HW_LED_ON(pin)")."""
    from h7psram import build

    cc = shutil.which("arm-none-eabi-gcc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to preprocess the board headers")
    common, folder = repo / "boards" / "common", repo / "boards" / board
    names = dict.fromkeys(_NAME.findall((common / "h7psram_common.h").read_text()) +
                          _NAME.findall((folder / "mpconfigboard.h").read_text()))
    with tempfile.TemporaryDirectory() as tmp:
        build.generate(board, "split", Path(tmp))
        src = Path(tmp) / "macros.c"
        src.write_text('#include "mpconfigboard.h"\n' +
                       "".join(f"{_MARK}{i} {name}\n" for i, name in enumerate(names)))
        proc = subprocess.run([cc, "-E", "-P", f"-I{folder}", f"-I{common}", f"-I{tmp}", str(src)],
                              capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, str] = {}
    names = list(names)
    for line in proc.stdout.splitlines():
        if line.startswith(_MARK):
            index, _, text = line[len(_MARK):].partition(" ")
            name = names[int(index)]
            if text.strip() != name:          # a name left as it is was not defined here
                out[name] = text.strip()
    return out


def unparen(text: str) -> str:
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text


def pins_csv(path: Path) -> dict[str, str]:
    """name -> cpu pin ("PA9") of a MicroPython pins.csv."""
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 2 or not fields[1]:
            raise ValueError(f"{path}:{n}: expected 'name,cpu_pin', got {line!r}")
        if fields[0] in out and out[fields[0]] != fields[1]:
            raise ValueError(f"{path}:{n}: {fields[0]} given twice with different pins")
        out[fields[0]] = fields[1]
    return out


def cpu_pin(port: str, pin: int) -> str:
    return f"P{port.upper()}{pin}"
