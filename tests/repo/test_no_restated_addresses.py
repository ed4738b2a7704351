"""No source file outside dts/ restates a base address the devicetree holds.

The C driver, the self-test and the board folders take every peripheral base,
window and flash address from the files generated from dts/ (psram_board.h,
h7psram_flash.mk); a literal copy would drift from the tree unnoticed. The
scan covers code only: comments may name an address to explain it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from h7psram import boards

REPO = Path(__file__).resolve().parents[2]

# Directories whose code must take addresses from the devicetree (the simulator
# builds its peripherals from the tree: sim/soc.py).
SCANNED = ("drivers", "app", "boards", "scripts/h7psram/sim")
C_LIKE = {".c", ".h"}
HASH_COMMENTS = {".mk", ".cmake", ".py", ".txt"}

# The blocks the C and make code use: register bases, the OCTOSPI1 window, every
# GPIO port and serial port, and the start of the internal flash.
BLOCK = re.compile(r"OCTOSPI1|OCTOSPI1_MM|OCTOSPIM|RCC|PWR|FLASH|GPIO[A-K]|US?ART\d+")


def listed_addresses() -> dict[int, str]:
    """address -> what it is, over every board in dts/."""
    out: dict[int, str] = {}
    for name in boards.known_boards():
        board = boards.load_board(name)
        for block in board.mmio:
            if BLOCK.fullmatch(block.name):
                out[block.base] = block.name
        out[board.region("flash0").start] = "flash0 (TEXT0_ADDR)"
        out[board.psram.base] = "PSRAM window"
    return out


def code_text(path: Path) -> str:
    """The file without its comments (line count kept, so hits keep their line numbers)."""
    text = path.read_text(errors="replace")
    if path.suffix in C_LIKE:
        blank = lambda m: re.sub(r"[^\n]", " ", m.group(0))  # noqa: E731
        return re.sub(r"/\*.*?\*/|//[^\n]*", blank, text, flags=re.S)
    return re.sub(r"#[^\n]*", "", text)


def scanned_files(root: Path, dirs=SCANNED) -> list[Path]:
    files = []
    for d in dirs:
        for path in sorted((root / d).rglob("*")):
            if path.is_file() and (path.suffix in C_LIKE | HASH_COMMENTS or path.name == "CMakeLists.txt"):
                files.append(path)
    return files


def restated(root: Path, addresses: dict[int, str], dirs=SCANNED) -> list[str]:
    """"file:line: 0x... (what)" for every literal of a listed address in code."""
    pattern = re.compile(r"\b0x0*([0-9a-f]+)(?:[ul]*)\b", re.I)
    wanted = {f"{a:x}": what for a, what in addresses.items()}
    hits = []
    for path in scanned_files(root, dirs):
        for n, line in enumerate(code_text(path).splitlines(), 1):
            for m in pattern.finditer(line):
                what = wanted.get(m.group(1).lower())
                if what:
                    hits.append(f"{path.relative_to(root)}:{n}: {m.group(0)} ({what})")
    return hits


def test_the_list_holds_the_issue_addresses():
    addresses = listed_addresses()
    for a in (0x52005000, 0x5200B400, 0x58024400, 0x58020000, 0x58020400, 0x40004400,
              0x40011000, 0x40007800, 0x90000000, 0x08000000):
        assert a in addresses, hex(a)


def test_no_code_restates_a_devicetree_address():
    assert scanned_files(REPO), "nothing scanned"
    hits = restated(REPO, listed_addresses())
    assert not hits, "take these from the generated header or make fragment:\n" + "\n".join(hits)


@pytest.mark.parametrize("text, found", [
    ("#define X (0x5200B400u + 4u)\n", True),
    ("uint32_t rcc = 0x58024400;\n", True),
    ("TEXT0_ADDR = 0x08000000\n", True),
    ("/* window at 0x90000000 */ int x;\n", False),
    ("int y = 0x520050001;\n", False),
])
def test_the_scan_finds_a_planted_literal(tmp_path, text, found):
    name = "a.mk" if text.startswith("TEXT0") else "a.c"
    (tmp_path / "drivers").mkdir()
    (tmp_path / "drivers" / name).write_text(text)
    hits = restated(tmp_path, listed_addresses(), ("drivers",))
    assert bool(hits) == found, hits
