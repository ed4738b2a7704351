"""Prove from a linked firmware ELF that its memory placement suits the board.

The board description (devicetree) says where flash, internal RAM and the
PSRAM window are. This module reads the ELF's section headers and a handful
of linker symbols and checks the rules the PSRAM design depends on:

* the MicroPython GC heap lives in the PSRAM window and does not run past it
  (single heap: ``_heap_start``/``_heap_end``; split heap: the entries of the
  ``_gc_blocks_table_start``..``_gc_blocks_table_end`` table, read from the
  table's initial contents in the ELF);
* the C stack (``_sstack``/``_estack``) and every allocated writable section
  (.data/.bss and friends) are in internal RAM: the stack must keep working
  when the PSRAM does not, and interrupt handlers must never wait on it;
* the vector table is at the start of flash, where the boot ROM looks;
* no two allocated sections overlap, and no region holds more than its size;
* the GC mark stack's entries (read from the DWARF debug information) are wide
  enough to index every block of each heap area (``h7psram.gc_dwarf``).

With mboot (``check_elf(..., mboot_elf=...)``; ``west memcheck-sections``
finds it in build_info.yml) the application instead starts where mboot
jumps (``h7psram.mboot``: the first sector after mboot's), and neither image
may reach into the other: no application byte in mboot's protected sectors,
no mboot byte past them, and the application's ``_bl_state`` (which must
survive mboot's run after a reset) outside the RAM mboot uses.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from h7psram import elf_reader, gc_dwarf
from h7psram.errors import as_h7, CheckFailed, InputError, USER_ERRORS

INTERNAL_RAM_KINDS = ("dtcm", "sram")
VECTOR_SECTION_NAMES = (".isr_vector", ".vectors", ".vector_table")
VECTOR_SYMBOL_NAMES = ("isr_vector", "g_pfnVectors", "__isr_vector", "_vector_table")

SHF_WRITE = 0x1
SHF_ALLOC = 0x2


@dataclass(frozen=True)
class Span:
    """A named address range [start, end) found in the ELF."""

    name: str
    start: int
    end: int
    what: str  # "section", "stack", "heap", "gc-block", "load image"

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Violation:
    subject: str
    address: int
    rule: str

    #: the whole error line when the subject is not an address range (e.g. the GC stack rule)
    text: Optional[str] = None

    def __str__(self) -> str:
        return self.text or f"{self.subject} at 0x{self.address:08x}: {self.rule}"


@dataclass
class RegionUse:
    name: str
    kind: str
    start: int
    size: int
    used: int = 0

    @property
    def end(self) -> int:
        return self.start + self.size

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.size if self.size else 0.0


@dataclass
class Report:
    elf: str
    board: str
    regions: list[RegionUse]
    heap: list[Span] = field(default_factory=list)
    stack: Optional[Span] = None
    violations: list[Violation] = field(default_factory=list)
    split_heap: bool = False
    #: rules that could not be checked, and why (printed as `warning:` lines)
    warnings: list[str] = field(default_factory=list)
    #: MICROPY_GC_STACK_ENTRY_TYPE's width in bits, from DWARF; None when unknown
    gc_stack_entry_bits: Optional[int] = None

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict:
        def span(s: Span) -> dict:
            return {"name": s.name, "start": s.start, "end": s.end, "size": s.size,
                    "region": _region_name(self.regions, s.start, s.end)}

        return {
            "elf": self.elf,
            "board": self.board,
            "ok": self.ok,
            "split_heap": self.split_heap,
            "gc_stack_entry_bits": self.gc_stack_entry_bits,
            "warnings": list(self.warnings),
            "regions": [
                {"name": r.name, "kind": r.kind, "start": r.start, "end": r.end - 1,
                 "size": r.size, "used": r.used, "used_percent": round(r.percent, 1)}
                for r in self.regions
            ],
            "heap": [span(s) for s in self.heap],
            "stack": span(self.stack) if self.stack else None,
            "violations": [
                {"subject": v.subject, "address": v.address, "rule": v.rule}
                for v in self.violations
            ],
        }

    def format_text(self) -> str:
        lines = [f"memcheck {self.elf} (board {self.board})"]
        lines.append(f"{'region':<12} {'start':>10}  {'end':>10}  {'size':>10}  {'used':>10}  {'use%':>6}")
        for r in self.regions:
            lines.append(
                f"{r.name:<12} 0x{r.start:08x}  0x{r.end - 1:08x}  {_human(r.size):>10}  "
                f"{_human(r.used):>10}  {r.percent:5.1f}%"
            )
        for s in self.heap:
            lines.append(f"heap         {s.name}: 0x{s.start:08x}..0x{s.end:08x} ({_human(s.size)}) "
                         f"in {_region_name(self.regions, s.start, s.end)}")
        if self.stack:
            s = self.stack
            lines.append(f"stack        0x{s.start:08x}..0x{s.end:08x} ({_human(s.size)}) "
                         f"in {_region_name(self.regions, s.start, s.end)}")
        if self.gc_stack_entry_bits:
            lines.append(f"gc stack     {self.gc_stack_entry_bits}-bit entries (DWARF)")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        for v in self.violations:
            lines.append(f"error: {v}")
        if self.ok:
            lines.append("OK: all placement rules hold")
        else:
            lines.append(f"FAILED: {len(self.violations)} placement rule(s) broken")
        return "\n".join(lines)


def _human(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} B"


def _region_name(regions: Iterable[RegionUse], start: int, end: int) -> str:
    r = _containing(regions, start, end)
    if r is not None:
        return r.name
    r = _containing(regions, start, start + 1)
    return f"{r.name} (runs past its end)" if r else "no memory region"


def _containing(regions: Iterable[RegionUse], start: int, end: int) -> Optional[RegionUse]:
    for r in regions:
        if r.start <= start and end <= r.end:
            return r
    return None


# --- reading the ELF -------------------------------------------------------------------------


@dataclass
class _Elf:
    sections: list[tuple[str, int, int, int, int, int, bytes | None]]
    # (name, flags, type_is_nobits, addr, size, lma, data)
    symbols: dict[str, int]
    gc_stack: Optional["gc_dwarf.GcStack"] = None
    gc_stack_missing: str = ""


def _load_elf(path: Path) -> _Elf:
    """Read what memcheck needs, or raise InputError naming the file and the problem."""
    blob = elf_reader.read_arm_elf(path, need_sections=True)
    try:
        elf = elf_reader.parse(blob)
        segments = [(s["p_vaddr"], s["p_paddr"], s["p_memsz"]) for s in elf_reader.pt_load(elf)]
        sections = []
        symbols: dict[str, int] = {}
        for sec in elf.iter_sections():
            h = sec.header
            nobits = h["sh_type"] == "SHT_NOBITS"
            if not nobits and h["sh_offset"] + h["sh_size"] > len(blob):
                raise InputError(f"{path}: truncated ELF (section {sec.name} runs past the end "
                                 f"of the file)")
            if h["sh_type"] == "SHT_SYMTAB":
                strtab = elf.get_section(h["sh_link"]).data()
                symbols.update(_wanted_symbols(sec.data(), strtab))
            if not (h["sh_flags"] & SHF_ALLOC):
                continue
            addr, size = h["sh_addr"], h["sh_size"]
            lma = addr
            for vaddr, paddr, memsz in segments:
                if vaddr <= addr < vaddr + max(memsz, 1):
                    lma = paddr + (addr - vaddr)
                    break
            data = None if nobits else blob[h["sh_offset"]:h["sh_offset"] + size]
            sections.append((sec.name, h["sh_flags"], nobits, addr, size, lma, data))
        gc_stack, gc_stack_missing = gc_dwarf.read_gc_stack(elf)
    except InputError:
        raise
    except elf_reader.CORRUPT as e:
        raise InputError(f"{path}: corrupt or truncated ELF ({e})") from None
    return _Elf(sections, symbols, gc_stack, gc_stack_missing)


# The only symbols the rules look at. A MicroPython ELF has thousands; decoding
# each through pyelftools costs over a second, so the table is scanned raw.
WANTED_SYMBOLS = ("_heap_start", "_heap_end", "_sstack", "_estack", "_gc_blocks_table_start",
                  "_gc_blocks_table_end", "_bl_state", "_mboot_protected_flash_start",
                  "_mboot_protected_flash_end_exclusive", "_sdata") + VECTOR_SYMBOL_NAMES


def _wanted_symbols(symtab: bytes, strtab: bytes) -> dict[str, int]:
    # The string at offset o is `name` exactly when name + NUL occurs at o. The
    # preceding byte does not matter: linkers share string tails, so "_heap_start"
    # may be stored as the end of "h7psram_heap_start".
    offsets: dict[int, str] = {}
    for name in WANTED_SYMBOLS:
        needle = name.encode() + b"\0"
        at = strtab.find(needle)
        while at >= 0:
            offsets[at] = name
            at = strtab.find(needle, at + 1)
    found: dict[str, int] = {}
    usable = len(symtab) - len(symtab) % 16
    # Elf32_Sym: st_name, st_value, st_size, st_info, st_other, st_shndx
    for st_name, st_value, _size, _info, _other, shndx in struct.iter_unpack("<IIIBBH",
                                                                             symtab[:usable]):
        name = offsets.get(st_name)
        if name is not None and shndx != 0:  # SHN_UNDEF
            found.setdefault(name, st_value)
    return found


# --- the rules -------------------------------------------------------------------------------


def check_elf(elf_path: os.PathLike | str, board, mboot_elf: os.PathLike | str | None = None) -> Report:
    """Check the ELF against the board's memory map; raises InputError if unusable.

    ``mboot_elf``: the application runs behind this mboot (rules in the module doc).
    """
    path = Path(elf_path)
    elf = _load_elf(path)
    regions = [RegionUse(r.name, r.kind, r.start, r.size) for r in board.regions]
    report = Report(elf=str(path), board=board.name, regions=regions)
    v = report.violations
    sym = elf.symbols

    psram = [r for r in regions if r.kind == "psram"]
    internal = [r for r in regions if r.kind in INTERNAL_RAM_KINDS]
    flash = [r for r in regions if r.kind == "flash"]

    def inside(rs: list[RegionUse], start: int, end: int) -> Optional[RegionUse]:
        return _containing(rs, start, end)

    # Heap: split-heap table or a single heap.
    heap_spans: list[Span] = []
    if "_heap_start" in sym and "_heap_end" in sym:
        heap_spans.append(Span("_heap_start.._heap_end", sym["_heap_start"], sym["_heap_end"], "heap"))
    elif not ("_gc_blocks_table_start" in sym):
        missing = [n for n in ("_heap_start", "_heap_end") if n not in sym]
        v.append(Violation(", ".join(missing), 0, "heap symbols missing: cannot prove the GC heap "
                                                  "is in PSRAM"))
    if "_gc_blocks_table_start" in sym:
        report.split_heap = True
        heap_spans.extend(_gc_blocks(elf, sym, v))
    report.heap = heap_spans

    for s in heap_spans:
        if s.end < s.start:
            v.append(Violation(s.name, s.start, f"heap ends before it starts (0x{s.end:08x})"))
            continue
        p_start = inside(psram, s.start, s.start + 1)
        if p_start and s.end > p_start.end:
            v.append(Violation(s.name, s.end, f"GC heap runs past the end of the PSRAM window "
                                              f"(0x{p_start.end:08x})"))
        elif not report.split_heap and not inside(psram, s.start, s.end):
            v.append(Violation(s.name, s.start, f"GC heap must be in the PSRAM window "
                                                f"({_window(psram)}), found in "
                                                f"{_region_name(regions, s.start, s.end)}"))
        elif report.split_heap and not (inside(psram, s.start, s.end) or inside(internal, s.start, s.end)):
            v.append(Violation(s.name, s.start, f"GC area must be in internal RAM or the PSRAM "
                                                f"window, found in "
                                                f"{_region_name(regions, s.start, s.end)}"))
    if report.split_heap and heap_spans and not any(inside(psram, s.start, s.end) for s in heap_spans):
        v.append(Violation("_gc_blocks_table_start", sym["_gc_blocks_table_start"],
                           f"no GC area in the PSRAM window ({_window(psram)})"))

    _gc_stack_width(elf, report, heap_spans)

    # Stack.
    if "_sstack" in sym and "_estack" in sym:
        report.stack = Span("_sstack.._estack", sym["_sstack"], sym["_estack"], "stack")
        st = report.stack
        if not inside(internal, st.start, st.end) or st.end < st.start:
            v.append(Violation("_sstack.._estack", st.start,
                               f"stack must be in internal RAM (DTCM or AXI SRAM), found in "
                               f"{_region_name(regions, st.start, st.end)}"))
    else:
        missing = [n for n in ("_sstack", "_estack") if n not in sym]
        v.append(Violation(", ".join(missing), 0, "stack symbols missing: cannot prove the stack "
                                                  "is in internal RAM"))

    reserved = heap_spans + ([report.stack] if report.stack else [])

    # Sections: placement, overlap, region use.
    used: dict[str, list[tuple[int, int]]] = {r.name: [] for r in regions}
    spans: list[Span] = []
    load_images: list[Span] = []
    for name, flags, nobits, addr, size, lma, data in elf.sections:
        if size == 0:
            continue
        end = addr + size
        spans.append(Span(name, addr, end, "section"))
        if not nobits and lma != addr:
            load_images.append(Span(f"{name} (load image)", lma, lma + size, "load image"))
        is_reservation = any(s.start <= addr and end <= s.end for s in reserved)
        if flags & SHF_WRITE and not is_reservation and not inside(internal, addr, end):
            v.append(Violation(name, addr, f"writable section (.data/.bss type) must be in internal "
                                           f"RAM (DTCM or AXI SRAM), found in "
                                           f"{_region_name(regions, addr, end)}"))
        elif not (flags & SHF_WRITE) and not _containing(regions, addr, end):
            v.append(Violation(name, addr, f"section lies outside every memory region "
                                           f"({_region_name(regions, addr, end)})"))
    for s in spans + load_images + reserved:
        r = _containing(regions, s.start, s.start + 1) if s.size else None
        if r is None:
            continue
        if s.end > r.end:
            v.append(Violation(s.name, s.start, f"runs past the end of {r.name} "
                                                f"(0x{r.end:08x}) by {s.end - r.end} bytes"))
        used[r.name].append((s.start, min(s.end, r.end)))
    for r in regions:
        r.used = _union_length(used[r.name])

    _overlaps(spans, v)
    _overlaps(load_images + [s for s in spans if _is_flash_resident(s, flash)], v, load=True)

    # Vector table.
    vec = _vector_table(elf)
    if not flash:
        v.append(Violation("flash", 0, "board description has no flash region"))
    elif vec is None:
        v.append(Violation(".isr_vector", 0, "no vector table found (section .isr_vector or "
                                             "symbol isr_vector/g_pfnVectors)"))
    elif mboot_elf is None and vec[1] != flash[0].start:
        v.append(Violation(vec[0], vec[1], f"vector table must be at the start of flash "
                                           f"(0x{flash[0].start:08x})"))
    if mboot_elf is not None:
        _check_behind_mboot(Path(mboot_elf), board, elf, vec, spans + load_images, v)
    return report


def _gc_stack_width(elf: _Elf, report: Report, heap_spans: list[Span]) -> None:
    """Every block index of every heap area must fit in one GC mark-stack entry."""
    areas = [s for s in heap_spans if s.end > s.start]
    if not areas:
        return
    gs = elf.gc_stack
    if gs is None:
        report.warnings.append(f"GC mark stack width not checked: {elf.gc_stack_missing}")
        return
    report.gc_stack_entry_bits = gs.entry_bits
    for s in areas:
        blocks = gs.blocks_in_area(s.size)
        if blocks > gs.max_blocks():
            where = _containing(report.regions, s.start, s.end)
            area = f"{where.name} heap area" if where else f"heap area {s.name}"
            msg = (f"GC mark stack entries are {gs.entry_bits}-bit but the {area} has {blocks} "
                   f"blocks (needs 32-bit MICROPY_GC_STACK_ENTRY_TYPE)")
            report.violations.append(Violation("gc_block_stack", s.start, msg, text=msg))


def _check_behind_mboot(path: Path, board, app: _Elf, vec: Optional[tuple[str, int]],
                        app_spans: list[Span], v: list[Violation]) -> None:
    from h7psram import mboot

    boot = _load_elf(path)
    lay = mboot.layout(board)
    if vec is not None and vec[1] != lay.app_addr:
        v.append(Violation(vec[0], vec[1], f"vector table must be where mboot jumps "
                                           f"(0x{lay.app_addr:08x}, after mboot's "
                                           f"{lay.flash_size // 1024} KiB)"))
    lo = boot.symbols.get("_mboot_protected_flash_start")
    hi = boot.symbols.get("_mboot_protected_flash_end_exclusive")
    if lo is None or hi is None:
        v.append(Violation(str(path), 0, "not an mboot ELF: no _mboot_protected_flash_start/_end_exclusive"))
        return
    for s in app_spans:
        in_flash = lay.flash_start <= s.start < lay.flash_start + lay.flash_total
        if in_flash and s.size and s.start < hi and s.end > lo:
            v.append(Violation(s.name, s.start, f"application overlaps mboot's sectors "
                                                f"0x{lo:08x}-0x{hi - 1:08x}"))
    for name, _flags, nobits, addr, size, lma, _data in boot.sections:
        start = lma if not nobits else addr
        if size and lay.flash_start <= start < lay.flash_start + lay.flash_total and start + size > hi:
            v.append(Violation(f"mboot {name}", start, f"mboot runs past its sectors (ends 0x{hi:08x})"))
    bl_state = app.symbols.get("_bl_state")
    boot_ram = [(addr, addr + size) for name, _f, _n, addr, size, _l, _d in boot.sections
                if size and not (lay.flash_start <= addr < lay.flash_start + lay.flash_total)]
    stack_top = boot.symbols.get("_estack")
    if stack_top is not None:
        boot_ram.append((stack_top - 8 * 1024, stack_top + mboot.ELEM_BUFFER_SIZE))
    if bl_state is not None:
        for a, b in boot_ram:
            if a < bl_state + 8 and bl_state < b:
                v.append(Violation("_bl_state", bl_state, f"the bootloader request word is in RAM "
                                                          f"mboot uses (0x{a:08x}-0x{b - 1:08x}): "
                                                          f"machine.bootloader() would be lost"))
                break


def _window(psram: list[RegionUse]) -> str:
    if not psram:
        return "board has no PSRAM region"
    p = psram[0]
    return f"0x{p.start:08x}..0x{p.end - 1:08x}"


def _is_flash_resident(s: Span, flash: list[RegionUse]) -> bool:
    return _containing(flash, s.start, s.end) is not None


def _overlaps(spans: list[Span], v: list[Violation], load: bool = False) -> None:
    ordered = sorted((s for s in spans if s.size), key=lambda s: (s.start, s.end))
    seen = set()
    for i, a in enumerate(ordered):
        for b in ordered[i + 1:]:
            if b.start >= a.end:
                break
            key = (a.name, b.name)
            if key in seen or a.name == b.name:
                continue
            seen.add(key)
            where = "load images overlap" if load else "overlaps"
            v.append(Violation(b.name, b.start, f"{where} {a.name} "
                                                f"(0x{a.start:08x}..0x{a.end:08x})"))


def _union_length(ranges: list[tuple[int, int]]) -> int:
    total, cur_s, cur_e = 0, None, None
    for s, e in sorted(ranges):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def _vector_table(elf: _Elf) -> Optional[tuple[str, int]]:
    for name, _f, _n, addr, size, lma, _d in elf.sections:
        if name in VECTOR_SECTION_NAMES and size:
            return name, lma
    for name in VECTOR_SYMBOL_NAMES:
        if name in elf.symbols:
            return name, elf.symbols[name]
    return None


def _gc_blocks(elf: _Elf, sym: dict[str, int], v: list[Violation]) -> list[Span]:
    """Read the split-heap table's initial entries from the section that holds it."""
    start = sym["_gc_blocks_table_start"]
    end = sym.get("_gc_blocks_table_end")
    if end is None:
        v.append(Violation("_gc_blocks_table_end", start, "split-heap table has no end symbol"))
        return []
    if (end - start) % 8:
        v.append(Violation("_gc_blocks_table_start", start,
                           f"split-heap table size {end - start} is not a multiple of 8 bytes"))
        return []
    if end == start:
        return []
    for name, _f, nobits, addr, size, _lma, data in elf.sections:
        if addr <= start and end <= addr + size:
            if nobits or data is None:
                v.append(Violation("_gc_blocks_table_start", start,
                                   f"split-heap table is in {name}, which has no initial contents"))
                return []
            blob = data[start - addr:end - addr]
            out = []
            for i in range(0, len(blob), 8):
                a, n = struct.unpack_from("<II", blob, i)
                if n:
                    out.append(Span(f"gc block {i // 8}", a, a + n, "gc-block"))
            return out
    v.append(Violation("_gc_blocks_table_start", start, "split-heap table is not inside any section"))
    return []


# --- command line (also used by `west memcheck-sections`) --------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group()
    src.add_argument("-d", "--build-dir", help="build directory holding the firmware ELF "
                                               "(default: build)")
    src.add_argument("--elf", help="check this ELF file instead of a build directory")
    parser.add_argument("--board", help="board whose memory map to check against (default: the "
                                        "board the build directory was configured for)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format (default: text)")


def resolve_inputs(build_dir: Optional[str], elf: Optional[str], board: Optional[str]):
    """Work out the ELF path and the board object from the command-line choices."""
    from h7psram import boards

    if elf:
        elf_path = Path(elf)
        # With --board nothing is needed from the build_info.yml beside the ELF: a broken
        # one must not stand in the way.
        info = _build_info(elf_path.parent) if board is None else None
    else:
        bdir = Path(build_dir or "build")
        if not bdir.is_dir():
            raise InputError(f"{bdir}: build directory not found (run 'west build' first or pass "
                             f"--elf)")
        info = _build_info(bdir)
        elf_path = info.elf if info else bdir / "firmware.elf"
        if not elf_path.exists():
            raise InputError(f"{elf_path}: firmware ELF not found in build directory {bdir}")
    if board is None:
        if info is None:
            raise InputError(f"cannot tell the board for {elf_path}: pass --board "
                             f"(known: {', '.join(boards.known_boards())})")
        board = info.board
    return elf_path, boards.load_board(board)


def _build_info(directory: Path):
    """The build's record of board and outputs, or None outside a build directory."""
    from h7psram import buildinfo

    if not (directory / buildinfo.BUILD_INFO).is_file():
        return None
    return buildinfo.read_build_info(directory)


def run(build_dir: Optional[str], elf: Optional[str], board: Optional[str], fmt: str,
        out=sys.stdout) -> int:
    """Run the check and print the result; returns the exit code (raises H7Error for 2)."""
    elf_path, board_obj = resolve_inputs(build_dir, elf, board)
    try:
        info = _build_info(elf_path.parent)
    except InputError:
        if not (elf and board):
            raise
        info = None      # --elf and --board: the ELF is checked alone, without its mboot
    mboot_elf = info.output("mboot_elf") if info is not None and info.has_output("mboot_elf") else None
    report = check_elf(elf_path, board_obj, mboot_elf)
    if fmt == "json":
        out.write(json.dumps(_utf8_safe(report.to_dict()), indent=2) + "\n")
    else:
        out.write(report.format_text() + "\n")
    return 0 if report.ok else CheckFailed.exit_code


def _utf8_safe(value):
    """The report with every string valid Unicode: a file name that is not UTF-8 reaches us with
    lone surrogates (os.fsdecode), which json.dumps would emit as "\\udcXX" escapes that JSON
    readers reject. Each undecodable byte becomes the text \\xNN instead."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {_utf8_safe(k): _utf8_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_utf8_safe(v) for v in value]
    return value


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="h7psram-memcheck", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args.build_dir, args.elf, args.board, args.format)
    except USER_ERRORS as caught:
        e = as_h7(caught)
        print(f"memcheck: error: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    sys.exit(main())
