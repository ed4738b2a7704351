"""Serial PSRAM model: APS6404L-family 64 Mbit SPI/QPI pseudo-SRAM.

The chip is modelled at the level of the wires: a burst starts when the
controller pulls CE# low (`Psram.select`), every clock cycle carries one
nibble on IO[3:0], and the chip decodes instruction, address, wait and data
phases the way its truth table says (docs/hardware.md#psram). So a controller
that sends a phase on the wrong number of lines, or with the wrong number of
dummy cycles, gets what the real chip would give it: a command that is not
understood, or data shifted by the missing or extra cycles. When both sides
agree (the normal case) data moves in bulk, without per-cycle work.

Part differences come from `PsramPart`, built from the same devicetree bindings
the driver's generated header uses (dts/bindings; docs/hardware.md#psram). What
the datasheets forbid but do not describe the outcome of is recorded as a
`Violation`; where the simulator gives such a case a data consequence, the
choice is stated next to the code and in docs/simulator-octospi.md.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import InputError
from .psram_faults import PsramFaults

#: Lines that nobody drives read as ones (the OCTOSPI pads have no pull, and
#: "chip absent reads 0xFF" is what firmware authors see on boards).
FLOAT = 0xF

# The whole Read ID answer of koendv's ESP-PSRAM64H (docs/hardware.md#psram): a part's jedec-id
# (MF ID, KGD) replaces its start, the rest is this chip's EID.
DEFAULT_ID = bytes.fromhex("0d5d52a264319131")

# Opcodes (docs/hardware.md#psram).
READ, FAST_READ, QUAD_READ = 0x03, 0x0B, 0xEB
WRITE, QUAD_WRITE = 0x02, 0x38
ENTER_QPI, EXIT_QPI = 0x35, 0xF5
RESET_ENABLE, RESET = 0x66, 0x99
WRAP_TOGGLE, READ_ID = 0xC0, 0x9F


@dataclass(frozen=True)
class PsramPart:
    """Per-part limits, as the devicetree bindings (or a board's node) give them; no value of
    its own (docs/hardware.md#psram)."""

    name: str
    max_clock_hz: int
    #: highest CLK at which a linear burst may continue into the next 1 KiB
    #: page; 0 = never (APS6404L -3SQN, non-RBX die: the burst wraps in the page)
    page_cross_max_hz: int
    tcem_ns: int
    tcph_ns: int
    read_id_max_hz: int
    slow_read_max_hz: int
    read_wait_cycles: int
    size: int                    # bytes
    page_size: int
    id_bytes: bytes              # the whole Read ID answer
    #: APS only: 0x0B is also a QPI command (4 wait cycles, 66 MHz); 0 = no such command
    qpi_fast_read_hz: int = 0
    #: APS RBX die: a burst may cross a page "one time only"
    cross_once: bool = False


#: binding property -> PsramPart field, for the per-part limits
_BINDING_FIELDS = {
    "max-frequency": "max_clock_hz", "page-cross-max-frequency": "page_cross_max_hz",
    "tcem-ns": "tcem_ns", "tcph-ns": "tcph_ns", "read-id-max-frequency": "read_id_max_hz",
    "slow-read-max-frequency": "slow_read_max_hz", "read-wait-cycles": "read_wait_cycles",
    "qpi-fast-read-max-frequency": "qpi_fast_read_hz", "page-size": "page_size",
}
#: Die options named in the APS6404L ordering legend: R crosses pages (row-boundary
#: crossing), N wraps inside the page (docs/hardware.md#psram).
DIE_OPTIONS = {"APS6404L": {"-3SQR": "cross", "-3SQN": "wrap"}}


def _part(name: str, values: dict[str, object]) -> PsramPart:
    """A part from binding-style values (property name -> value; size in bits as in the binding)."""
    fields: dict[str, object] = {f: int(values[prop]) for prop, f in _BINDING_FIELDS.items()  # type: ignore[call-overload]
                                 if values.get(prop) is not None}
    if values.get("burst-page-boundary") == "wrap":
        fields["page_cross_max_hz"] = 0
    fields["cross_once"] = values.get("page-crossings-per-burst") == 1
    fields["size"] = int(values["size"]) // 8  # type: ignore[call-overload]
    prefix = bytes(values["jedec-id"])  # type: ignore[call-overload]
    fields["id_bytes"] = prefix[:8] + DEFAULT_ID[len(prefix):]
    return PsramPart(name, **fields)  # type: ignore[arg-type]


def parts_from_bindings(bindings_dir: Path | None = None) -> dict[str, PsramPart]:
    """Every PSRAM part the bindings describe, with its die options, from the binding defaults."""
    from devicetree import edtlib

    from ..boards import dts_dir
    folder = bindings_dir or dts_dir() / "bindings"
    paths = {p.name: str(p) for p in sorted(folder.glob("*.yaml"))}
    parts: dict[str, PsramPart] = {}
    for path in paths.values():
        if "include: qspi-psram.yaml" not in Path(path).read_text():
            continue
        binding = edtlib.Binding(path, paths)
        specs = binding.prop2specs
        if "part-name" not in specs or "jedec-id" not in specs:
            continue
        values = {prop: spec.default for prop, spec in specs.items()}
        name = str(values["part-name"])
        parts[name] = _part(name, values)
        for suffix, boundary in DIE_OPTIONS.get(name, {}).items():
            parts[name + suffix] = _part(name + suffix, {**values, "burst-page-boundary": boundary})
    return parts


_parts: dict[str, PsramPart] | None = None


def known_parts() -> dict[str, PsramPart]:
    """Every part the bindings describe (also the module attribute PARTS), read on first use: a
    board's own part comes from its devicetree (part_for_board), so a plain boot never parses
    the bindings' YAML."""
    global _parts
    if _parts is None:
        _parts = parts_from_bindings()
    return _parts


def __getattr__(name: str):
    if name == "PARTS":
        return known_parts()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def find_part(name: str) -> PsramPart:
    """The part whose name starts `name`, or that `name` starts ("LY68L6400SLIT" -> LY68L6400)."""
    parts = known_parts()
    key = name.upper()
    if key in parts:
        return parts[key]
    for part_name, part in parts.items():
        if key.startswith(part_name) or part_name.startswith(key):
            return part
    raise InputError(f"psram part {name!r} is not modelled; known parts: {', '.join(parts)}")


def part_for_board(psram: object) -> PsramPart:
    """The part of the board's `Psram` description: the values its devicetree node resolved to."""
    values = {prop: getattr(psram, field, None) for prop, field in (
        ("max-frequency", "max_clock_hz"), ("page-cross-max-frequency", "page_cross_max_hz"),
        ("tcem-ns", "tcem_ns"), ("tcph-ns", "tcph_ns"), ("read-id-max-frequency", "read_id_max_hz"),
        ("slow-read-max-frequency", "slow_read_max_hz"), ("read-wait-cycles", "read_wait_cycles"),
        ("qpi-fast-read-max-frequency", "qpi_fast_read_hz"), ("page-size", "page_size"),
        ("burst-page-boundary", "burst_page_boundary"),
        ("page-crossings-per-burst", "page_crossings_per_burst"), ("jedec-id", "id_bytes"))}
    values["size"] = int(getattr(psram, "size")) * 8      # the node's reg: bytes
    return _part(str(getattr(psram, "part")), values)


@dataclass(frozen=True)
class Command:
    """One row of the truth table, for the chip's current mode."""

    opcode: int
    name: str
    addr_lines: int = 0      # 0: no address phase
    wait: int = 0
    data_lines: int = 0      # 0: no data phase
    kind: str = "control"    # "read" | "write" | "id" | "control"
    max_hz: int = 0          # 0: the part's maximum


_TABLES: dict[tuple[PsramPart, bool], dict[int, Command]] = {}


def command_for(part: PsramPart, opcode: int, qpi: bool) -> Command | None:
    """The command as the chip understands it in this mode, None if not accepted."""
    table = _TABLES.get((part, qpi))
    if table is None:
        table = _TABLES[(part, qpi)] = _truth_table(part, qpi)
    return table.get(opcode)


def _truth_table(part: PsramPart, qpi: bool) -> dict[int, Command]:
    w = part.read_wait_cycles
    if qpi:
        table = {
            QUAD_READ: Command(QUAD_READ, "quad read", 4, w, 4, "read"),
            WRITE: Command(WRITE, "write", 4, 0, 4, "write"),
            QUAD_WRITE: Command(QUAD_WRITE, "quad write", 4, 0, 4, "write"),
            EXIT_QPI: Command(EXIT_QPI, "exit quad mode"),
            RESET_ENABLE: Command(RESET_ENABLE, "reset enable"),
            RESET: Command(RESET, "reset"),
            WRAP_TOGGLE: Command(WRAP_TOGGLE, "wrap boundary toggle"),
        }
        if part.qpi_fast_read_hz:
            table[FAST_READ] = Command(FAST_READ, "fast read", 4, 4, 4, "read", part.qpi_fast_read_hz)
    else:
        table = {
            READ: Command(READ, "read", 1, 0, 1, "read", part.slow_read_max_hz),
            FAST_READ: Command(FAST_READ, "fast read", 1, 8, 1, "read"),
            QUAD_READ: Command(QUAD_READ, "quad read", 4, w, 4, "read"),
            WRITE: Command(WRITE, "write", 1, 0, 1, "write"),
            QUAD_WRITE: Command(QUAD_WRITE, "quad write", 4, 0, 4, "write"),
            ENTER_QPI: Command(ENTER_QPI, "enter quad mode"),
            RESET_ENABLE: Command(RESET_ENABLE, "reset enable"),
            RESET: Command(RESET, "reset"),
            WRAP_TOGGLE: Command(WRAP_TOGGLE, "wrap boundary toggle"),
            READ_ID: Command(READ_ID, "read id", 1, 0, 1, "id", part.read_id_max_hz),
        }
    return table


# -- the wires: bytes <-> per-cycle nibbles on IO[3:0] --------------------------------
def drive(value: int, bits: int, lines: int) -> list[int]:
    """Bus nibbles while the sender drives `bits` of `value`, MSB first, on `lines` lines.

    Single line uses IO0 (SI), dual IO[1:0], quad IO[3:0]; in octal mode only
    IO[3:0] reach the chip (port 1 low), so a cycle shows bits [3:0] of each byte.
    """
    if lines == 8:
        return [(value >> (bits - 8 - i)) & 0xF for i in range(0, bits, 8)]
    mask = (1 << lines) - 1
    return [(FLOAT & ~mask) | ((value >> (bits - lines - i)) & mask) for i in range(0, bits, lines)]


def sample(nibbles: Iterable[int], lines: int) -> bytes:
    """Bytes a receiver assembles from bus nibbles, `lines` bits per cycle.

    A single-line receiver on the controller side listens on IO1 (SO).
    """
    out = bytearray()
    acc = 0
    nbits = 0
    per = 8 if lines == 8 else lines
    for nib in nibbles:
        if lines == 1:
            acc = (acc << 1) | ((nib >> 1) & 1)
        elif lines == 8:
            acc = (acc << 8) | 0xF0 | (nib & 0xF)
        else:
            acc = (acc << lines) | (nib & ((1 << lines) - 1))
        nbits += per
        if nbits >= 8:
            nbits -= 8
            out.append((acc >> nbits) & 0xFF)
    return bytes(out)


def answer_nibbles(data: bytes, lines: int) -> list[int]:
    """Bus nibbles while the chip sends `data`: on SO (IO1) in single-line mode."""
    if lines == 1:
        return [(FLOAT & ~0x2) | ((b >> (7 - i)) & 1) << 1 for b in data for i in range(8)]
    return [nib for b in data for nib in drive(b, 8, lines)]


def cycles_per_byte(lines: int) -> int:
    return 1 if lines == 8 else 8 // lines


@dataclass(frozen=True)
class Violation:
    kind: str        # "tcph" | "tcem" | "clock" | "page-cross" | "mode" | "format"
    message: str


# Burst decoder states.
_INSTR, _ADDR, _WAIT, _DATA, _DONE, _IGNORE = range(6)


class Burst:
    """One CE#-low period. Create with `Psram.select`; end with `deselect`."""

    #: What the wires carried while a logic-analyser trace is on (`Psram.observer`,
    #: sim/ospi_trace.py): lists of bus nibbles, one per clock cycle, and floats for
    #: the nanoseconds the clock stood still with CE# low. None when nobody traces,
    #: so an untraced burst pays one attribute test per phase.
    wire: list | None = None
    #: CE# high time before this burst (None: long enough) and the simulated
    #: time CE# fell, both set only while tracing
    ce_high_ns: float | None = None
    selected_ns: float = 0.0

    def __init__(self, chip: "Psram", clk_hz: int, ce_high_ns: float | None, quiet: bool = False) -> None:
        self.chip = chip
        #: a probe by the controller model: decode only, record nothing
        self.quiet = quiet
        self.clk_hz = clk_hz
        self.period_ns = 1e9 / clk_hz
        self.cycles = 0
        self.stall_ns = 0.0
        self.state = _IGNORE if chip.floating else _INSTR
        self.acc = 0
        self.nbits = 0
        self.command: Command | None = None
        self.wait_left = 0
        self.addr = 0
        self.crossings = 0
        self.segment_start = 0
        self.id_index = 0
        self.out_byte: int | None = None   # byte being shifted out (read data)
        self.tcem_reported = False
        self.wrap_reported = False
        if ce_high_ns is not None and ce_high_ns < chip.part.tcph_ns and not chip.floating:
            self.report("tcph", f"CE# high {ce_high_ns:.1f} ns before a command, tCPH min is "
                                   f"{chip.part.tcph_ns} ns")
        if clk_hz > chip.part.max_clock_hz and not chip.floating:
            self.report("clock", f"CLK {clk_hz / 1e6:.1f} MHz above the part's "
                                    f"{chip.part.max_clock_hz / 1e6:.0f} MHz")

    def report(self, kind: str, message: str) -> None:
        if not self.quiet:
            self.chip.violation(kind, message)

    # -- time ----------------------------------------------------------------------
    @property
    def ce_low_ns(self) -> float:
        return self.cycles * self.period_ns + self.stall_ns

    def stall(self, ns: float) -> None:
        """CE# stays low with the clock stopped (the controller waits for the bus)."""
        self.stall_ns += ns
        if self.wire is not None:
            self.wire.append(float(ns))

    def _lost(self, extra_cycles: int) -> bool:
        """A byte completing after tCEM is not retained / not read correctly.

        docs/hardware.md#psram: CE# held low past tCEM blocks the internal refresh
        and data is lost. The datasheets do not say which data; the simulator
        loses the bytes of the burst that complete after tCEM (writes keep the
        old cell value, reads return 0x00).
        """
        if (self.cycles + extra_cycles) * self.period_ns + self.stall_ns <= self.chip.part.tcem_ns:
            return False
        if not self.tcem_reported:
            self.tcem_reported = True
            self.report("tcem", f"CE# low {self.ce_low_ns:.0f} ns > tCEM "
                                        f"{self.chip.part.tcem_ns} ns: burst data after tCEM lost")
        return True

    # -- header: one nibble per cycle ------------------------------------------------
    def clock(self, nibbles: Iterable[int]) -> list[int]:
        """Run cycles with the controller driving `nibbles`; return what is on the bus."""
        bus = [self._cycle(nib) for nib in nibbles]
        if self.wire is not None:
            self.wire.append(bus)
        return bus

    def _cycle(self, nib: int) -> int:
        self.cycles += 1
        state = self.state
        if state == _INSTR:
            lines = 4 if self.chip.qpi else 1
            self.acc = (self.acc << lines) | (nib & ((1 << lines) - 1))
            self.nbits += lines
            if self.nbits == 8:
                self._decode(self.acc)
            return nib
        if state == _ADDR:
            lines = self.command.addr_lines  # type: ignore[union-attr]
            self.acc = (self.acc << lines) | (nib & ((1 << lines) - 1))
            self.nbits += lines
            if self.nbits == 24:
                self._start_address(self.acc)
            return nib
        if state == _WAIT:
            self.wait_left -= 1
            if self.wait_left == 0:
                self._enter_data()
            return nib
        if state == _DATA:
            return self._data_cycle(nib)
        return nib

    def _decode(self, opcode: int) -> None:
        chip = self.chip
        cmd = command_for(chip.part, opcode, chip.qpi)
        if not self.quiet:
            chip.note_opcode(opcode)
        if cmd is None:
            mode = "QPI" if chip.qpi else "SPI"
            self.report("mode", f"opcode 0x{opcode:02X} is not accepted in {mode} mode: ignored")
            self.state = _IGNORE
            return
        self.command = cmd
        limit = cmd.max_hz or chip.part.max_clock_hz
        if self.clk_hz > limit:
            self.report("clock", f"{cmd.name} (0x{opcode:02X}) at {self.clk_hz / 1e6:.1f} MHz, "
                                    f"max {limit / 1e6:.0f} MHz")
        self.acc = self.nbits = 0
        if cmd.addr_lines:
            self.state = _ADDR
        else:
            self.state = _DONE

    def _start_address(self, address: int) -> None:
        cmd = self.command
        assert cmd is not None
        self.addr = address & (self.chip.part.size - 1)
        self.segment_start = self.addr - self.addr % self._segment()
        self.acc = self.nbits = 0
        if cmd.wait:
            self.wait_left = cmd.wait
            self.state = _WAIT
        else:
            self._enter_data()

    def _enter_data(self) -> None:
        self.state = _DATA
        self.acc = self.nbits = 0
        self.out_byte = None

    def decoded(self, opcode: int, address: int, cycles: int) -> None:
        """The controller's header is known to decode cleanly as `opcode` (the
        controller model checked it with a quiet burst): skip the per-cycle work."""
        if self.wire is not None:
            self.wire.append(self._clean_header(opcode, address, cycles))
        if self.state == _IGNORE:
            self.cycles += cycles
            return
        self._decode(opcode)
        if self.state == _IGNORE:
            self.cycles += cycles
            return
        self._start_address(address)
        self._enter_data()
        self.cycles += cycles

    def _clean_header(self, opcode: int, address: int, cycles: int) -> list[int]:
        """The nibbles of a header that `decoded` skips: the truth-table format of
        `opcode` in the chip's present mode, which is what the controller sent."""
        qpi = self.chip.qpi
        nibbles = drive(opcode, 8, 4 if qpi else 1)
        cmd = command_for(self.chip.part, opcode, qpi)
        if cmd is not None and cmd.addr_lines:
            nibbles += drive(address & 0xFFFFFF, 24, cmd.addr_lines) + [FLOAT] * cmd.wait
        return (nibbles + [FLOAT] * cycles)[:cycles]

    # -- data phase ----------------------------------------------------------------
    def _segment(self) -> int:
        return 32 if self.chip.wrap32 else self.chip.part.page_size

    def _advance(self) -> None:
        """Move the chip's address counter past one byte (docs/hardware.md#psram)."""
        nxt = self.addr + 1
        seg = self._segment()
        if nxt - self.segment_start < seg:
            self.addr = nxt
            return
        part = self.chip.part
        if self.chip.wrap32:
            self.addr = self.segment_start
            return
        may_cross = (part.page_cross_max_hz and self.clk_hz <= part.page_cross_max_hz
                     and not (part.cross_once and self.crossings))
        if may_cross:
            self.crossings += 1
            self.addr = nxt & (part.size - 1)
            self.segment_start = self.addr
            return
        # The brief and APS Table 3 ("Wrap 1K" when crossing is disabled): the
        # burst wraps to the start of the same page.
        self.addr = self.segment_start
        # reported when a byte actually moves at the wrapped address: a burst that
        # ends exactly at the page end (CSBOUND) never wraps anything
        self.wrap_pending = ("this die never crosses pages" if not part.page_cross_max_hz else
                             "second crossing in one burst" if part.cross_once and self.crossings else
                             f"CLK {self.clk_hz / 1e6:.1f} MHz > {part.page_cross_max_hz / 1e6:.0f} MHz")

    wrap_pending: str | None = None

    def _wrapped(self) -> None:
        why, self.wrap_pending = self.wrap_pending, None
        if not self.wrap_reported:
            self.wrap_reported = True
            self.report("page-cross", f"linear burst reached the end of page 0x{self.segment_start:06x}"
                                      f" ({why}): wrapped inside the page")

    def _next_out(self) -> int:
        if self.wrap_pending:
            self._wrapped()
        cmd = self.command
        assert cmd is not None
        if cmd.kind == "id":
            ident = self.chip.id_answer()
            value = ident[self.id_index] if self.id_index < len(ident) else 0xFF
            self.id_index += 1
            return value
        lost = self._lost(cycles_per_byte(cmd.data_lines))
        value = 0x00 if lost else self.chip.load(self.addr)
        self._advance()
        return value

    def _data_cycle(self, nib: int) -> int:
        cmd = self.command
        assert cmd is not None
        lines = cmd.data_lines
        if cmd.kind == "write":
            self.acc = (self.acc << lines) | (nib & ((1 << lines) - 1))
            self.nbits += lines
            if self.nbits == 8:
                self._store_byte(self.acc & 0xFF)
                self.acc = self.nbits = 0
            return nib
        if self.out_byte is None:
            # the cycle was already counted by _cycle; the byte ends this cycle + the rest
            self.cycles -= 1
            self.out_byte = self._next_out()
            self.cycles += 1
            self.nbits = 8
        self.nbits -= lines
        bits = (self.out_byte >> self.nbits) & ((1 << lines) - 1)
        if self.nbits == 0:
            self.out_byte = None
        if lines == 1:  # the chip answers on SO, which is IO1
            return (nib & ~0x2) | (bits << 1)
        return bits

    def _store_byte(self, value: int) -> None:
        if self.wrap_pending:
            self._wrapped()
        # the byte completes on this cycle, which _cycle already counted
        if not self._lost(0):
            self.chip.store(self.addr, value)
        self._advance()

    # -- data phase in bulk (controller and chip agree on lines and alignment) --------
    def aligned(self, lines: int, kind: str) -> bool:
        cmd = self.command
        return (self.state == _DATA and cmd is not None and cmd.data_lines == lines
                and self.nbits == 0 and self.out_byte is None
                and (cmd.kind == kind or (kind == "read" and cmd.kind == "id")))

    def read(self, n: int, lines: int) -> bytes:
        """The controller samples n bytes on `lines` lines."""
        if self.aligned(lines, "read") and self.command.kind == "read":  # type: ignore[union-attr]
            data = self._bulk_read(n)
            if self.wire is not None:
                self.wire.append(answer_nibbles(data, lines))
            return data
        ncycles = n * cycles_per_byte(lines)
        return sample(self.clock([FLOAT] * ncycles), lines)

    def write(self, data: bytes, lines: int) -> None:
        """The controller drives `data` on `lines` lines."""
        if self.aligned(lines, "write"):
            self._bulk_write(data)
            if self.wire is not None:
                self.wire.append([nib for b in data for nib in drive(b, 8, lines)])
            return
        nibbles: list[int] = []
        for b in data:
            nibbles.extend(drive(b, 8, lines))
        self.clock(nibbles)

    def _bulk_read(self, n: int) -> bytes:
        chip = self.chip
        cpb = cycles_per_byte(self.command.data_lines)  # type: ignore[union-attr]
        out = bytearray()
        while len(out) < n:
            room = self._segment() - (self.addr - self.segment_start)
            count = min(n - len(out), room, self._bytes_before_tcem(cpb))
            if count <= 0:  # past tCEM: the slow path applies the loss rule
                out.append(self._next_out_counted(cpb))
                continue
            if self.wrap_pending:
                self._wrapped()
            out += chip.load_block(self.addr, count)
            self.cycles += count * cpb
            self.addr += count - 1
            self._advance()
        return bytes(out)

    def _next_out_counted(self, cpb: int) -> int:
        value = self._next_out()
        self.cycles += cpb
        return value

    def _bulk_write(self, data: bytes) -> None:
        chip = self.chip
        cpb = cycles_per_byte(self.command.data_lines)  # type: ignore[union-attr]
        pos = 0
        while pos < len(data):
            room = self._segment() - (self.addr - self.segment_start)
            count = min(len(data) - pos, room, self._bytes_before_tcem(cpb))
            if count <= 0:
                self.cycles += cpb
                self._store_byte(data[pos])
                pos += 1
                continue
            if self.wrap_pending:
                self._wrapped()
            chip.store_block(self.addr, data[pos:pos + count])
            self.cycles += count * cpb
            pos += count
            self.addr += count - 1
            self._advance()

    def _bytes_before_tcem(self, cpb: int) -> int:
        """How many more whole bytes complete within tCEM."""
        budget_cycles = (self.chip.part.tcem_ns - self.stall_ns) / self.period_ns
        return max(0, int((budget_cycles - self.cycles) // cpb))

    # -- end -------------------------------------------------------------------------
    def deselect(self) -> None:
        """CE# goes high: control commands take effect now (datasheets: on CE# rise)."""
        self.chip.end_burst(self)


class Psram:
    """One chip: its array, its mode and what went wrong so far."""

    def __init__(self, part: PsramPart, faults: PsramFaults | None = None) -> None:
        self.part = part
        self.faults = faults or PsramFaults()
        self.array = bytearray(part.size)
        self.violations: collections.deque[Violation] = collections.deque(maxlen=256)
        self.violation_counts: collections.Counter[str] = collections.Counter()
        self.unreachable = False   # set by the controller when the wires do not reach the chip
        #: called with each finished `Burst` while a logic-analyser trace is on
        #: (sim/ospi_trace.py); it also gives the simulated time (`now_ns`)
        self.observer = None
        self.power_on()

    def power_on(self) -> None:
        self.qpi = False
        self.wrap32 = False
        self.reset_enabled = False
        self.resets = 0
        self.commands: collections.Counter[int] = collections.Counter()

    @property
    def floating(self) -> bool:
        """Nobody answers on the IO lines."""
        return self.faults.absent or self.unreachable

    @property
    def plain_ram_ok(self) -> bool:
        """The array can be handed to the CPU as plain memory (no data fault)."""
        return not self.faults.affects_array

    def violation(self, kind: str, message: str) -> None:
        self.violation_counts[kind] += 1
        self.violations.append(Violation(kind, message))

    def note_opcode(self, opcode: int) -> None:
        self.commands[opcode] += 1

    def id_answer(self) -> bytes:
        return self.faults.id_answer(self.part.id_bytes)

    # -- array access, through the faults ------------------------------------------------
    def load(self, address: int) -> int:
        f = self.faults
        return f.array_data(self.array[f.array_address(address)])

    def store(self, address: int, value: int) -> None:
        self.array[self.faults.array_address(address)] = value

    def load_block(self, address: int, count: int) -> bytes:
        if not self.faults.affects_array:
            return bytes(self.array[address:address + count])
        return bytes(self.load(address + i) for i in range(count))

    def store_block(self, address: int, data: bytes) -> None:
        if not self.faults.affects_array:
            self.array[address:address + len(data)] = data
            return
        for i, value in enumerate(data):
            self.store(address + i, value)

    # -- bursts ---------------------------------------------------------------------------
    def select(self, clk_hz: int, ce_high_ns: float | None = None, *, quiet: bool = False) -> Burst:
        """CE# falls. `ce_high_ns` is how long it was high before (None: long enough).

        A quiet burst is the controller model asking how a format decodes: it
        records nothing and must not be deselected.
        """
        burst = Burst(self, clk_hz, ce_high_ns, quiet)
        if self.observer is not None and not quiet:
            burst.wire = []
            burst.ce_high_ns = ce_high_ns
            burst.selected_ns = self.observer.now_ns()
        return burst

    def end_burst(self, burst: Burst) -> None:
        if burst.quiet:
            return
        if burst.wire is not None and self.observer is not None:
            self.observer.burst(burst)
        if burst.state == _IGNORE and self.floating or burst.cycles == 0:
            return
        opcode = burst.command.opcode if burst.command and burst.state == _DONE else None
        was_enabled = self.reset_enabled
        self.reset_enabled = opcode == RESET_ENABLE
        if opcode == RESET:
            if was_enabled:
                self.qpi = False
                self.wrap32 = False
                self.resets += 1
            else:
                self.violation("format", "reset (0x99) without reset enable (0x66) just before: ignored")
        elif opcode == ENTER_QPI:
            self.qpi = True
        elif opcode == EXIT_QPI:
            self.qpi = False
        elif opcode == WRAP_TOGGLE:
            self.wrap32 = not self.wrap32

    def transaction(self, instruction: int, *, clk_hz: int, instruction_lines: int = 1,
                    address: int | None = None, address_lines: int = 1, address_bits: int = 24,
                    dummy_cycles: int = 0, data_lines: int = 1, write: bytes | None = None,
                    read_len: int = 0, ce_high_ns: float | None = None) -> bytes:
        """One complete command as a controller would send it; returns the data read."""
        burst = self.select(clk_hz, ce_high_ns)
        if instruction_lines:
            burst.clock(drive(instruction, 8, instruction_lines))
        if address is not None:
            burst.clock(drive(address, address_bits, address_lines))
        burst.clock([FLOAT] * dummy_cycles)
        data = b""
        if write is not None:
            burst.write(write, data_lines)
        elif read_len:
            data = burst.read(read_len, data_lines)
        burst.deselect()
        return data
