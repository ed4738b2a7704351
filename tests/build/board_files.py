"""Readers for the board folder files the tests compare with the devicetree."""

from __future__ import annotations

import re
from pathlib import Path

_DEFINE = re.compile(r"^\s*#define\s+(\w+)\s+(.+?)\s*(?://.*)?$")


def defines(path: Path) -> dict[str, str]:
    """Object-like macros of a C header: name -> replacement text (comments dropped)."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        m = _DEFINE.match(line)
        if m and "(" not in m.group(1):
            out[m.group(1)] = m.group(2).strip()
    return out


def board_macros(repo: Path, board: str) -> dict[str, str]:
    """What a board's mpconfigboard.h sees from the files in this repository."""
    macros = defines(repo / "boards" / "common" / "h7psram_common.h")
    macros.update(defines(repo / "boards" / board / "mpconfigboard.h"))
    return macros


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
