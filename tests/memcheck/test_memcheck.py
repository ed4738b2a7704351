"""memcheck verdicts on small firmware images built here with arm-none-eabi-gcc."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys

import pytest

from h7psram import boards, memcheck
from h7psram.errors import InputError

from memcheck_elfbuild import Layout, build_elf, regions_for

BOARD = "devebox_h7a3"


@pytest.fixture(scope="module")
def board():
    return boards.load_board(BOARD)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "h7psram.memcheck", *map(str, args)],
                          capture_output=True, text=True)


def test_correct_image_passes(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout())
    report = memcheck.check_elf(elf, board)
    assert report.ok, report.format_text()
    psram = regions_for(board)["psram"]
    assert [(s.start, s.end) for s in report.heap] == [(psram.start, psram.end)]
    res = run_cli("--elf", elf, "--board", BOARD)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "OK: all placement rules hold" in res.stdout
    assert "psram" in res.stdout


@pytest.mark.parametrize("boardname", ["devebox_h7a3", "weact_mini_h7a3"])
def test_every_board_accepts_a_correct_image(tmp_path, boardname):
    b = boards.load_board(boardname)
    assert memcheck.check_elf(build_elf(tmp_path, b, Layout()), b).ok


def test_heap_in_internal_ram_is_rejected(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout(
        heap="_heap_start = ORIGIN(SRAM) + 64K; _heap_end = ORIGIN(SRAM) + 512K;"))
    res = run_cli("--elf", elf, "--board", BOARD)
    assert res.returncode == 1
    assert "error: _heap_start.._heap_end at 0x24010000: GC heap must be in the PSRAM window" \
        in res.stdout


def test_stack_in_psram_is_rejected(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout(
        stack="_sstack = ORIGIN(PSRAM) + 4M; _estack = _sstack + 16K;"))
    res = run_cli("--elf", elf, "--board", BOARD)
    assert res.returncode == 1
    assert "error: _sstack.._estack at 0x90400000: stack must be in internal RAM" in res.stdout


def test_data_and_bss_in_psram_are_rejected(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout(
        data_region="PSRAM",
        heap="_heap_start = ORIGIN(PSRAM) + 1M; _heap_end = ORIGIN(PSRAM) + LENGTH(PSRAM);"))
    res = run_cli("--elf", elf, "--board", BOARD)
    assert res.returncode == 1
    assert "error: .data at 0x90000000: writable section (.data/.bss type) must be in internal RAM" \
        in res.stdout
    assert "error: .bss at 0x900" in res.stdout


def test_heap_past_the_psram_window_is_rejected(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout(
        heap="_heap_start = ORIGIN(PSRAM); _heap_end = ORIGIN(PSRAM) + LENGTH(PSRAM) + 4K;"))
    res = run_cli("--elf", elf, "--board", BOARD)
    assert res.returncode == 1
    assert "error: _heap_start.._heap_end at 0x90801000: GC heap runs past the end of the PSRAM " \
           "window (0x90800000)" in res.stdout


def test_missing_heap_symbols_are_a_violation(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout(heap=None))
    res = run_cli("--elf", elf, "--board", BOARD)
    assert res.returncode == 1
    assert "_heap_start, _heap_end at 0x00000000: heap symbols missing" in res.stdout


def test_overlapping_sections_are_rejected(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout(
        defines=["-DOVERLAP"],
        extra_sections=".overlapping ADDR(.bss) : AT(LOADADDR(.data) + SIZEOF(.data)) "
                       "{ KEEP(*(.overlapping)) } > SRAM"))
    report = memcheck.check_elf(elf, board)
    assert not report.ok
    pair = {".overlapping", ".bss"}
    assert any({v.subject, v.rule.split()[1]} == pair and "overlaps" in v.rule
               for v in report.violations), report.format_text()


def test_split_heap_table_is_read_from_the_elf(tmp_path, board):
    r = regions_for(board)
    good = f"{{(unsigned char *)0x{r['psram'].start:x}u, 0x{r['psram'].size:x}u}}, {{0, 0}}"
    elf = build_elf(tmp_path / "good", board, Layout(
        heap="_heap_start = ORIGIN(SRAM) + 128K; _heap_end = ORIGIN(SRAM) + 512K;",
        gc_blocks=good))
    report = memcheck.check_elf(elf, board)
    assert report.ok, report.format_text()
    assert report.split_heap
    assert (r["psram"].start, r["psram"].end) in [(s.start, s.end) for s in report.heap]

    internal_only = f"{{(unsigned char *)0x{r['sram'].start + 0x80000:x}u, 0x10000u}}"
    elf = build_elf(tmp_path / "bad", board, Layout(
        heap="_heap_start = ORIGIN(SRAM) + 128K; _heap_end = ORIGIN(SRAM) + 256K;",
        gc_blocks=internal_only))
    report = memcheck.check_elf(elf, board)
    assert [v.rule for v in report.violations if "no GC area in the PSRAM window" in v.rule]


def test_split_heap_block_past_the_window(tmp_path, board):
    r = regions_for(board)
    past = f"{{(unsigned char *)0x{r['psram'].start:x}u, 0x{r['psram'].size + 0x100:x}u}}"
    elf = build_elf(tmp_path, board, Layout(
        heap="_heap_start = ORIGIN(SRAM) + 128K; _heap_end = ORIGIN(SRAM) + 512K;",
        gc_blocks=past))
    report = memcheck.check_elf(elf, board)
    assert any("runs past the end of the PSRAM window" in v.rule for v in report.violations)


def test_json_output(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout(
        stack="_sstack = ORIGIN(PSRAM) + 4M; _estack = _sstack + 16K;"))
    res = run_cli("--elf", elf, "--board", BOARD, "--format", "json")
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["board"] == BOARD
    assert {"subject": "_sstack.._estack", "address": 0x90400000} .items() <= \
        doc["violations"][0].items()
    kinds = {r["kind"] for r in doc["regions"]}
    assert {"flash", "dtcm", "sram", "psram"} <= kinds


def test_region_use_is_reported(tmp_path, board):
    report = memcheck.check_elf(build_elf(tmp_path, board, Layout()), board)
    by_kind = {}
    for r in report.regions:
        by_kind.setdefault(r.kind, 0)
        by_kind[r.kind] += r.used
    assert by_kind["psram"] == regions_for(board)["psram"].size  # the whole window is heap
    assert by_kind["flash"] > 0 and by_kind["dtcm"] == 16 * 1024


# --- unusable inputs: exit 2 and one line -----------------------------------------------------


def _one_line_error(res, fragment):
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert fragment in lines[0]
    assert "Traceback" not in res.stderr


def test_random_bytes(tmp_path):
    f = tmp_path / "noise.elf"
    f.write_bytes(random.Random(7).randbytes(4096))
    _one_line_error(run_cli("--elf", f, "--board", BOARD), f"{f}: not an ELF file")


def test_truncated_elf(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout())
    cut = tmp_path / "cut.elf"
    cut.write_bytes(elf.read_bytes()[:600])
    _one_line_error(run_cli("--elf", cut, "--board", BOARD), f"{cut}: truncated ELF")


def test_host_elf(tmp_path):
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no host C compiler")
    src = tmp_path / "host.c"
    src.write_text("int main(void) { return 0; }\n")
    out = tmp_path / "host.elf"
    subprocess.run([cc, "-o", str(out), str(src)], check=True)
    _one_line_error(run_cli("--elf", out, "--board", BOARD), "wrong architecture")


def test_directory_as_elf(tmp_path):
    _one_line_error(run_cli("--elf", tmp_path, "--board", BOARD), "is a directory")


def test_missing_build_directory(tmp_path):
    _one_line_error(run_cli("-d", tmp_path / "nope", "--board", BOARD), "build directory not found")


def test_unknown_board(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout())
    res = run_cli("--elf", elf, "--board", "no_such_board")
    _one_line_error(res, "devebox_h7a3")


def test_library_raises_input_error(tmp_path, board):
    with pytest.raises(InputError, match="not an ELF"):
        memcheck.check_elf(__file__, board)


def test_symbol_names_stored_as_tails_of_longer_names_are_found():
    """Linkers share string tails: "_heap_start" may be the end of "h7psram_heap_start"."""
    import struct

    strtab = b"\0h7psram_heap_start\0_heap_end\0"
    tail = strtab.index(b"_heap_start")          # points into the longer name
    symtab = (struct.pack("<IIIBBH", 0, 0, 0, 0, 0, 0)
              + struct.pack("<IIIBBH", 1, 0x11111111, 0, 0, 0, 1)            # h7psram_heap_start
              + struct.pack("<IIIBBH", tail, 0x90000000, 0, 0, 0, 1)         # _heap_start
              + struct.pack("<IIIBBH", strtab.index(b"_heap_end"), 0x90800000, 0, 0, 0, 1))
    found = memcheck._wanted_symbols(symtab, strtab)
    assert found["_heap_start"] == 0x90000000
    assert found["_heap_end"] == 0x90800000
    assert "h7psram_heap_start" not in found


# --- GC mark-stack width, read from DWARF -----------------------------------------------------

#: blocks MicroPython's gc_setup_area makes of 8 MiB with the finaliser table:
#: ATB bytes = (8 MiB - 1 gap byte) * 8 / (8 + 4 + 512) bits, 4 blocks per ATB byte
PSRAM_BLOCKS = 512_280
NARROW = ("error: GC mark stack entries are 16-bit but the psram heap area has 512280 blocks "
          "(needs 32-bit MICROPY_GC_STACK_ENTRY_TYPE)")


def test_16_bit_gc_stack_entries_are_refused_for_the_psram_heap(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout(gc_stack_entry="unsigned short", debug=True), name="gc")
    res = run_cli("--elf", elf, "--board", BOARD)
    assert res.returncode == 1, res.stdout + res.stderr
    errors = [line for line in res.stdout.splitlines() if line.startswith("error:")]
    assert errors == [NARROW], res.stdout
    report = memcheck.check_elf(elf, board)
    assert report.gc_stack_entry_bits == 16


def test_32_bit_gc_stack_entries_pass(tmp_path, board):
    # "fw.c": the struct is found outside the preferred compile units too
    elf = build_elf(tmp_path, board, Layout(gc_stack_entry="unsigned int", debug=True))
    res = run_cli("--elf", elf, "--board", BOARD, "--format", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["ok"] and data["gc_stack_entry_bits"] == 32 and data["warnings"] == []


def test_no_debug_information_is_said_not_passed_silently(tmp_path, board):
    elf = build_elf(tmp_path, board, Layout(gc_stack_entry="unsigned short"))
    res = run_cli("--elf", elf, "--board", BOARD)
    assert res.returncode == 0, res.stdout + res.stderr
    assert ("warning: GC mark stack width not checked: no debug information (DWARF) in the ELF"
            in res.stdout.splitlines()), res.stdout
    assert "gc stack" not in res.stdout


def test_debug_information_without_micropython_state_is_said(tmp_path, board):
    report = memcheck.check_elf(build_elf(tmp_path, board, Layout(debug=True)), board)
    assert report.ok and report.gc_stack_entry_bits is None
    assert report.warnings == ["GC mark stack width not checked: the debug information has no "
                               "mp_state_mem_t with gc_block_stack (not a MicroPython ELF?)"]


def test_split_heap_names_only_the_area_too_large_for_16_bit(tmp_path, board):
    r = regions_for(board)
    table = f"{{(unsigned char *)0x{r['psram'].start:x}u, 0x{r['psram'].size:x}u}}, {{0, 0}}"
    elf = build_elf(tmp_path, board, Layout(
        heap="_heap_start = ORIGIN(SRAM) + 16K; _heap_end = ORIGIN(SRAM) + LENGTH(SRAM);",
        gc_blocks=table, gc_stack_entry="unsigned short", debug=True), name="mpstate")
    report = memcheck.check_elf(elf, board)
    # the internal area (1 MiB - 16 KiB, 63 488 blocks) fits 16-bit indices; the PSRAM does not
    assert [str(v) for v in report.violations] == [NARROW[len("error: "):]], report.format_text()


@pytest.mark.parametrize("area_bytes, blocks, ok", [
    (1_073_153, 65_536, True),    # indices 0..65535: the largest area 16-bit entries can index
    (1_073_284, 65_544, False),   # two ATB bytes (8 blocks) more
])
def test_16_bit_limit_is_65536_blocks(tmp_path, board, area_bytes, blocks, ok):
    r = regions_for(board)
    elf = build_elf(tmp_path, board, Layout(
        heap=f"_heap_start = ORIGIN(PSRAM); _heap_end = ORIGIN(PSRAM) + {area_bytes};",
        gc_stack_entry="unsigned short", debug=True))
    report = memcheck.check_elf(elf, board)
    assert report.ok is ok, report.format_text()
    if not ok:
        assert f"has {blocks} blocks" in str(report.violations[0])
    assert r["psram"].size > area_bytes


LONG_NAME = "x" * 300       # longer than any file system's NAME_MAX (255)


@pytest.mark.parametrize("args", [["--elf", "{tmp}/" + LONG_NAME + ".elf", "--board", BOARD],
                                  ["-d", "{tmp}/" + LONG_NAME]], ids=["elf", "build-dir"])
def test_file_name_too_long_is_an_input_error(tmp_path, args):
    res = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    _one_line_error(res, "file name too long")


def test_board_option_is_not_blocked_by_a_broken_build_info(tmp_path, board):
    """A broken build_info.yml beside the ELF made --elf ... --board B exit 2."""
    elf = build_elf(tmp_path, board, Layout())
    (elf.parent / "build_info.yml").write_text("board: [unclosed\n")
    res = run_cli("--elf", elf, "--board", BOARD)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "OK: all placement rules hold" in res.stdout
    res = run_cli("--elf", elf)                     # without --board it is needed, and says so
    _one_line_error(res, "build_info.yml")


def test_json_output_is_valid_utf8_for_a_file_name_that_is_not(tmp_path, board):
    """A non-UTF-8 file name came out as lone surrogates (invalid UTF-8 JSON)."""
    elf = build_elf(tmp_path, board, Layout())
    odd = tmp_path / os.fsdecode(b"caf\xe9-\xff.elf")
    shutil.copy(elf, odd)
    res = subprocess.run([sys.executable, "-m", "h7psram.memcheck", "--elf", os.fsencode(odd), "--board",
                          BOARD, "--format", "json"], capture_output=True)
    assert res.returncode == 0, res.stderr
    text = res.stdout.decode("utf-8")               # strict: raises on invalid UTF-8
    doc = json.loads(text)
    assert doc["elf"].endswith("caf\\xe9-\\xff.elf")
    assert "\\ud" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in doc["elf"])
