"""`west build` against the real MicroPython checkout: both boards, memcheck, rebuilds, boot.

Needs the workspace from `west init -l` + `west update` (skipped otherwise). Each
board is built once per session into a temporary build directory (a clean
build takes minutes on two cores); the tests then look at what it produced.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
import yaml

from board_files import board_macros, unparen
from h7psram import boards, memcheck

pytestmark = [pytest.mark.micropython, pytest.mark.slow]

BOARDS = boards.known_boards()
PSRAM_BASE, PSRAM_SIZE = 0x90000000, 0x800000


def west_build(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["west", "build", *args], cwd=repo, capture_output=True, text=True,
                          timeout=3600)


def checkout_state(micropython: Path) -> str:
    """Every untracked or ignored path in the MicroPython checkout (build output would show)."""
    return subprocess.run(["git", "-C", str(micropython), "status", "--porcelain", "--ignored",
                           "--untracked-files=all"], capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def builds(repo, workspace, tmp_path_factory):
    if subprocess.run(["west", "topdir"], cwd=repo, capture_output=True).returncode:
        pytest.skip("the repository is not inside a west workspace; west build is not registered")
    before = checkout_state(workspace.micropython)
    done = {}
    for board in BOARDS:
        bdir = tmp_path_factory.mktemp(board) / "build"
        done[board] = (bdir, west_build(repo, "-b", board, "-d", str(bdir)))
    return done, before, checkout_state(workspace.micropython)


def gc_table(elf: Path) -> list[tuple[int, int]]:
    """Initial (addr, size) entries of the split-heap table, as the ELF will load them."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        ef = ELFFile(f)
        syms = {s.name: s["st_value"] for s in ef.get_section_by_name(".symtab").iter_symbols()}
        start, end = syms["_gc_blocks_table_start"], syms["_gc_blocks_table_end"]
        data = ef.get_section_by_name(".data")
        raw = data.data()[start - data["sh_addr"]:end - data["sh_addr"]]
    return [struct.unpack_from("<II", raw, i) for i in range(0, len(raw), 8)]


@pytest.mark.parametrize("board", BOARDS)
def test_build_produces_checked_firmware(builds, board):
    done, _, _ = builds
    bdir, r = done[board]
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for name in ("firmware.elf", "firmware.bin", "firmware.hex", "firmware.dfu",
                 "build_info.yml", "runners.yaml", "CMakeCache.txt"):
        assert (bdir / name).is_file(), name
    report = memcheck.check_elf(bdir / "firmware.elf", boards.load_board(board))
    assert report.ok, report.format_text()
    assert "OK: all placement rules hold" in r.stdout
    assert gc_table(bdir / "firmware.elf") == [(PSRAM_BASE, PSRAM_SIZE)]
    info = yaml.safe_load((bdir / "build_info.yml").read_text())
    assert info["board"] == board and info["elf"] == "firmware.elf"
    assert yaml.safe_load((bdir / "runners.yaml").read_text())["flash-runner"] == "dfu-util"
    from h7psram import dfuse

    image = dfuse.read_dfuse(bdir / "firmware.dfu")
    first = image.targets[0].elements[0]
    assert first.address == 0x08000000
    assert first.data[:8] == (bdir / "firmware.bin").read_bytes()[:8]


def test_micropython_checkout_untouched(builds):
    _, before, after = builds
    assert after == before


def test_no_change_rebuild_relinks_nothing(repo, builds):
    done, _, _ = builds
    bdir, first = done[BOARDS[0]]
    assert first.returncode == 0
    stamps = {n: (bdir / n).stat().st_mtime_ns for n in ("firmware.elf", "firmware.dfu")}
    r = west_build(repo, "-d", str(bdir))
    assert r.returncode == 0, r.stderr
    assert "LINK " not in r.stdout and "CC " not in r.stdout
    assert {n: (bdir / n).stat().st_mtime_ns for n in stamps} == stamps


def test_broken_placement_fails_and_keeps_the_last_good_firmware(repo, builds):
    done, _, _ = builds
    bdir, first = done[BOARDS[0]]
    assert first.returncode == 0
    good = (bdir / "firmware.elf").read_bytes()
    linked = bdir / "mpy" / "firmware.elf"
    original = linked.read_bytes()
    # Grow the PSRAM entry of the split-heap table to 16 MiB: past the window's end.
    from elftools.elf.elffile import ELFFile

    with open(linked, "rb") as f:
        ef = ELFFile(f)
        sym = next(s for s in ef.get_section_by_name(".symtab").iter_symbols()
                   if s.name == "_gc_blocks_table_start")
        data = ef.get_section_by_name(".data")
        offset = data["sh_offset"] + sym["st_value"] - data["sh_addr"] + 4
    broken = bytearray(original)
    broken[offset:offset + 4] = struct.pack("<I", 2 * PSRAM_SIZE)
    linked.write_bytes(bytes(broken))
    try:
        r = west_build(repo, "-d", str(bdir))
        assert r.returncode == 1
        assert "memcheck failed" in r.stdout + r.stderr
        assert (bdir / "firmware.elf").read_bytes() == good
    finally:
        linked.write_bytes(original)


def sim_boot(board: str, elf: Path, repo: Path, fault: str | None = None) -> tuple[str, object]:
    """Boot the firmware on the simulator up to the REPL; returns the UART text and machine."""
    sim = pytest.importorskip("h7psram.sim.machine")
    from h7psram.sim.psram_faults import PsramFaults

    m = sim.Machine(boards.load_board(board), uart="none",
                    psram_faults=PsramFaults.from_cli([fault]) if fault else None)
    m.load_elf(str(elf))
    m.reset()
    # The user key rests at its released level on the board (pull resistor);
    # drive it there, since the model leaves unconnected inputs low.
    macros = board_macros(repo, board)
    pin = re.fullmatch(r"pin_([A-K])(\d+)", unparen(macros["MICROPY_HW_USRSW_PIN"]))
    released = 1 - int(unparen(macros["MICROPY_HW_USRSW_PRESSED"]))
    m.gpio[pin.group(1)].set_input(int(pin.group(2)), released)
    r = m.run(max_seconds=5, until_text=">>> ")
    return m.uart.read_available().decode(errors="replace"), m


def repl(m, line: str) -> str:
    m.uart.write(line.encode() + b"\r\n")
    m.run(max_seconds=2, until_text="\n>>> ")
    return m.uart.read_available().decode(errors="replace")


@pytest.mark.parametrize("board", BOARDS)
def test_boots_with_the_psram_heap_in_the_simulator(repo, builds, board):
    done, _, _ = builds
    bdir, r = done[board]
    assert r.returncode == 0
    text, m = sim_boot(board, bdir / "firmware.elf", repo)
    assert "spiram eid 0d 5d 52 a2 64 31 91 31\r\nspiram memtest pass\r\n" in text
    assert text.rstrip().endswith(">>>"), text
    free = int(re.search(r"\r\n(\d+)\r\n", repl(m, "import gc; print(gc.mem_free())")).group(1))
    assert free > 9_000_000
    info = repl(m, "import psram; i = psram.info(); print(i['heap'], i['mapped'], i['size'], i['id'].hex())")
    assert "True True 8388608 0d5d52a264319131" in info
    out = repl(m, "b = bytearray(4); psram.write(0x7ffffc, b'\\x12\\x34\\x56\\x78'); "
                  "psram.read(0x907ffffc, b); print(b.hex())")
    assert "12345678" in out
    assert "ValueError" in repl(m, "psram.read(0x7ffffd, bytearray(4))")
    assert "OSError" in repl(m, "psram.memtest()")  # the heap lives there
    # internal-flash filesystem: created on first boot in the storage partition
    assert "'boot.py'" in repl(m, "import os; print(os.listdir('/flash'))")


def test_absent_psram_falls_back_to_internal_ram(repo, builds):
    done, _, _ = builds
    board = BOARDS[0]
    bdir, r = done[board]
    assert r.returncode == 0
    text, m = sim_boot(board, bdir / "firmware.elf", repo, fault="absent")
    assert "spiram not found, id ff ff ff ff ff ff ff ff\r\n" in text
    assert text.rstrip().endswith(">>>"), text
    free = int(re.search(r"\r\n(\d+)\r\n", repl(m, "import gc; print(gc.mem_free())")).group(1))
    assert 500_000 < free < 2_000_000
    assert "False False" in repl(m, "import psram; i = psram.info(); print(i['heap'], i['mapped'])")


def test_single_heap_build_keeps_the_seed_layout(repo, workspace, tmp_path):
    """-DH7PSRAM_HEAP=single: the GC heap is the PSRAM window alone, internal RAM on failure."""
    bdir = tmp_path / "build"
    r = west_build(repo, "-b", BOARDS[0], "-d", str(bdir), "--", "-DH7PSRAM_HEAP=single")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "heap _heap_start.._heap_end: 0x90000000..0x90800000" in " ".join(r.stdout.split())
    report = memcheck.check_elf(bdir / "firmware.elf", boards.load_board(BOARDS[0]))
    assert report.ok, report.format_text()
    text, m = sim_boot(BOARDS[0], bdir / "firmware.elf", repo)
    assert "spiram memtest pass" in text
    free = int(re.search(r"\r\n(\d+)\r\n", repl(m, "import gc; print(gc.mem_free())")).group(1))
    assert 8_000_000 < free < 8_388_608
    text, m = sim_boot(BOARDS[0], bdir / "firmware.elf", repo, fault="wrong-id")
    assert "spiram wrong id, mfid" in text and text.rstrip().endswith(">>>")
    free = int(re.search(r"\r\n(\d+)\r\n", repl(m, "import gc; print(gc.mem_free())")).group(1))
    assert 500_000 < free < 2_000_000
