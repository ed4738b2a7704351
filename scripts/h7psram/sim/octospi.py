"""OCTOSPI1 controller model (registers at 0x52005000, memory window at 0x90000000).

Registers, bit fields, reset values and the rules that start an operation:
hardware-facts B.1-B.10. The controller turns its phase registers into
clock cycles on the wires of the PSRAM model (`sim/psram.py`); everything the
chip does with them is decided there.

Memory-mapped mode (CR.FMODE = 11) has three ways to reach the array, chosen
again whenever a register, the MPU or the I/O manager changes:

* plain RAM: the configuration is one the real chip survives (see
  `unsafe_reasons`), so the CPU gets the PSRAM array itself -- no Python per
  access;
* "direct" MMIO: the configuration is safe but the chip has an injected data
  or address fault (or floats): each access goes through the chip's fault
  model, without burst timing;
* "burst" MMIO: the configuration is one the chip does not survive; accesses
  are assembled into CE#-low bursts the way the controller would issue them
  and the chip model applies page wrap, tCEM loss, and wrong command or
  dummy-cycle decoding. Each hazard rule names its source below; the table in
  docs/simulator-octospi.md lists them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .faults import PsramFaults
from .octospim import Octospim
from .peripheral import Peripheral
from .psram import FLOAT, Burst, Psram, cycles_per_byte, drive, part_for_board

if TYPE_CHECKING:  # pragma: no cover
    from .machine import Machine

log = logging.getLogger("h7psram.sim.octospi")

OCTOSPI1_BASE = 0x52005000
OCTOSPI1_SIZE = 0x1000
WINDOW_BASE = 0x90000000
WINDOW_MAX = 0x10000000          # 256 MiB addressable in memory-mapped mode (B.3)
OCTOSPI1_IRQN = 92               # hardware-facts A.2
FIFO_SIZE = 32

# Register offsets (B.1)
CR, DCR1, DCR2, DCR3, DCR4 = 0x000, 0x008, 0x00C, 0x010, 0x014
SR, FCR, DLR, AR, DR = 0x020, 0x024, 0x040, 0x048, 0x050
PSMKR, PSMAR, PIR = 0x080, 0x088, 0x090
CCR, TCR, IR, ABR, LPTR = 0x100, 0x108, 0x110, 0x120, 0x130
WPCCR, WPTCR, WPIR, WPABR = 0x140, 0x148, 0x150, 0x160
WCCR, WTCR, WIR, WABR = 0x180, 0x188, 0x190, 0x1A0
HLCR = 0x200
HWCFGR, VER, ID, MID = 0x3F0, 0x3F4, 0x3F8, 0x3FC

# Writable bits per register (B.2-B.9); everything else reads back 0.
WRITABLE = {
    CR: 0x30DF1FCF, DCR1: 0x071F077B, DCR2: 0x000700FF, DCR3: 0x001F00FF, DCR4: 0xFFFFFFFF,
    DLR: 0xFFFFFFFF, AR: 0xFFFFFFFF, PSMKR: 0xFFFFFFFF, PSMAR: 0xFFFFFFFF, PIR: 0x0000FFFF,
    CCR: 0xAF3F3F3F, TCR: 0x5000001F, IR: 0xFFFFFFFF, ABR: 0xFFFFFFFF, LPTR: 0x0000FFFF,
    WPCCR: 0xAF3F3F3F, WPTCR: 0x5000001F, WPIR: 0xFFFFFFFF, WPABR: 0xFFFFFFFF,
    WCCR: 0xAF3F3F3F, WTCR: 0x0000001F, WIR: 0xFFFFFFFF, WABR: 0xFFFFFFFF,
    HLCR: 0x00FFFF03,
}
# Registers whose value changes what memory-mapped accesses do.
MAPPING_REGS = {CR, DCR1, DCR2, DCR3, DCR4, CCR, TCR, IR, ABR, LPTR, WCCR, WTCR, WIR, WABR}

# CR bits
EN, ABORT, TCEN = 1 << 0, 1 << 1, 1 << 3
TEIE, TCIE, FTIE, SMIE, TOIE = (1 << n for n in range(16, 21))
APMS, PMM = 1 << 22, 1 << 23
FMODE_SHIFT = 28
INDIRECT_WRITE, INDIRECT_READ, AUTO_POLL, MEMORY_MAPPED = range(4)
# SR bits
TEF, TCF, FTF, SMF, TOF, BUSY = (1 << n for n in range(6))
FLAG_ENABLES = ((TEF, TEIE), (TCF, TCIE), (FTF, FTIE), (SMF, SMIE), (TOF, TOIE))

_LINES = {0: 0, 1: 1, 2: 2, 3: 4, 4: 8}

#: Clock cycles between two CPU-issued (uncached or write-through) accesses to
#: the window, as seen by the controller. DERIVED assumption (no RM timing
#: available): a load/store loop needs a few CPU cycles per access plus the
#: AXI turnaround, i.e. at least two OCTOSPI clocks at CLK <= SYSCLK/2.
CPU_ACCESS_GAP_CYCLES = 2
#: Widest single access the core makes to the window (LDRD/STRD, VLDR.64).
MAX_ACCESS_BYTES = 8


@dataclass(frozen=True)
class Phases:
    """One command format: a CCR/TCR/IR/ABR set (or the W/WP variants)."""

    ccr: int
    tcr: int
    ir: int
    abr: int

    def _field(self, shift: int, width: int) -> int:
        return (self.ccr >> shift) & ((1 << width) - 1)

    @property
    def ilines(self) -> int:
        return _LINES.get(self._field(0, 3), 0)

    @property
    def alines(self) -> int:
        return _LINES.get(self._field(8, 3), 0)

    @property
    def ablines(self) -> int:
        return _LINES.get(self._field(16, 3), 0)

    @property
    def dlines(self) -> int:
        return _LINES.get(self._field(24, 3), 0)

    @property
    def isize(self) -> int:
        return self._field(4, 2) + 1

    @property
    def adsize(self) -> int:
        return self._field(12, 2) + 1

    @property
    def absize(self) -> int:
        return self._field(20, 2) + 1

    @property
    def dcyc(self) -> int:
        return self.tcr & 0x1F

    @property
    def dtr(self) -> bool:
        return bool(self.ccr & ((1 << 3) | (1 << 11) | (1 << 19) | (1 << 27)))

    @property
    def dqse(self) -> bool:
        return bool(self.ccr >> 29 & 1)

    @property
    def sioo(self) -> bool:
        return bool(self.ccr >> 31 & 1)

    def header(self, address: int, *, instruction: bool = True) -> list[int]:
        """Bus nibbles of the instruction, address, alternate and dummy phases."""
        cycles: list[int] = []
        if self.ilines and instruction:
            bits = self.isize * 8
            cycles += drive(self.ir & ((1 << bits) - 1), bits, self.ilines)
        if self.alines:
            bits = self.adsize * 8
            cycles += drive(address & ((1 << bits) - 1), bits, self.alines)
        if self.ablines:
            bits = self.absize * 8
            cycles += drive(self.abr & ((1 << bits) - 1), bits, self.ablines)
        cycles += [FLOAT] * self.dcyc
        return cycles


class Octospi(Peripheral):
    """OCTOSPI1 with the PSRAM on port 1."""

    name = "OCTOSPI1"

    def __init__(self, machine: "Machine", psram: Psram, octospim: Octospim | None = None,
                 *, kernel_clock_hz: int = 0, pins: dict[str, tuple[str, int, int]] | None = None,
                 base: int = OCTOSPI1_BASE, size: int = OCTOSPI1_SIZE) -> None:
        super().__init__(machine, base, size)
        self.psram = psram
        self.octospim = octospim
        self.default_kernel_hz = kernel_clock_hz
        self.pins = {k: v for k, v in (pins or {}).items() if k.upper().startswith(("OSPI", "OCTOSPI"))}
        self.mapped: tuple[str, int] | None = None     # ("ram" | "direct" | "burst", size)
        self.mapping_reasons: list[str] = []
        self._burst: Burst | None = None
        if octospim is not None:
            octospim.on_change(self.reevaluate)
        on_mpu_change = getattr(machine, "on_mpu_change", None)
        if on_mpu_change is not None:
            on_mpu_change(lambda *_: self.reevaluate())
        self.reset()

    # -- reset / helpers -------------------------------------------------------------
    def reset(self) -> None:
        self.regs = {off: 0 for off in WRITABLE}
        self.flags = 0
        self.fifo = bytearray()           # bytes the CPU can read from DR
        self.pending = bytearray()        # read data not yet moved into the FIFO
        self.op: str | None = None        # "write" | "read" | "poll" while an indirect op runs
        self.wbuf = bytearray()
        self.wremaining = 0
        # B.6: in memory-mapped mode BUSY stays 1 until an abort; HAL-style
        # drivers abort and then wait for BUSY=0 with FMODE still 11.
        self.mm_aborted = False
        self._close_burst()
        if getattr(self, "mapped", None) is not None:
            self._unmap()

    def reg(self, off: int) -> int:
        return self.regs.get(off, 0)

    @property
    def fmode(self) -> int:
        return (self.reg(CR) >> FMODE_SHIFT) & 3

    @property
    def enabled(self) -> bool:
        return bool(self.reg(CR) & EN)

    @property
    def device_size(self) -> int:
        return 1 << (((self.reg(DCR1) >> 16) & 0x1F) + 1)

    def kernel_clock_hz(self) -> int:
        """OCTOSPI kernel clock from the RCC model's OCTOSPISEL, else the board's value.

        The RCC model keeps clocks ideal: HCLK is the board's, a PLL output is
        computed from the PLL registers the firmware wrote (DERIVED from the
        H7 RCC layout: PLLCKSELR.PLLSRC/DIVMx, PLLxDIVR N/P/Q/R, fraction ignored).
        """
        rcc = getattr(self.machine, "rcc", None)
        source_of = getattr(rcc, "octospi_kernel_source", None)
        board = getattr(self.machine, "board", None)
        if callable(source_of):
            source = source_of()
            if source == "hclk" and getattr(board, "hclk_hz", 0):
                return int(board.hclk_hz)
            pll = {"pll1_q": (1, 16), "pll2_r": (2, 24)}.get(source)
            if pll is not None:
                hz = self._pll_output_hz(rcc, *pll)
                if hz:
                    return hz
        return self.default_kernel_hz

    def _pll_output_hz(self, rcc: Any, n: int, div_shift: int) -> int:
        regs = getattr(rcc, "regs", {})
        cksel = regs.get(0x28, 0)
        src = cksel & 3
        board = getattr(self.machine, "board", None)
        ref = {0: 64_000_000, 1: 4_000_000, 2: int(getattr(board, "hse_hz", 0) or 0)}.get(src, 0)
        divm = (cksel >> (4 + 8 * (n - 1))) & 0x3F
        divr = regs.get(0x30 + 8 * (n - 1), 0)
        if not ref or not divm:
            return 0
        vco = ref // divm * ((divr & 0x1FF) + 1)
        return vco // (((divr >> div_shift) & 0x7F) + 1)

    def clk_hz(self) -> int:
        return max(1, self.kernel_clock_hz() // ((self.reg(DCR2) & 0xFF) + 1))

    def period_ns(self) -> float:
        return 1e9 / self.clk_hz()

    def csht_ns(self) -> float:
        return (((self.reg(DCR1) >> 8) & 0x7) + 1) * self.period_ns()

    def read_phases(self) -> Phases:
        return Phases(self.reg(CCR), self.reg(TCR), self.reg(IR), self.reg(ABR))

    def write_phases(self) -> Phases:
        return Phases(self.reg(WCCR), self.reg(WTCR), self.reg(WIR), self.reg(WABR))

    def wiring_problem(self) -> str | None:
        """Why the chip cannot hear the controller, or None."""
        if self.octospim is not None:
            problem = self.octospim.port1_problem()
            if problem:
                return problem
        gpio = getattr(self.machine, "gpio", None)
        af_of = getattr(gpio, "alternate_function", None)
        if af_of is None:
            return None
        for signal, (port, pin, af) in sorted(self.pins.items()):
            got = af_of(port, pin)
            if got != af:
                return f"{signal} P{port}{pin} is not in alternate function {af} (got {got})"
        return None

    def _update_reachability(self) -> None:
        problem = self.wiring_problem()
        if problem and not self.psram.unreachable:
            log.info("PSRAM unreachable: %s", problem)
        self.psram.unreachable = problem is not None

    # -- flags and interrupts ------------------------------------------------------------
    def _status(self) -> int:
        status = self.flags & (TEF | TCF | SMF | TOF)
        busy = (self.op is not None or (bool(self.fifo) and self.fmode == INDIRECT_READ)
                or (self.enabled and self.fmode == MEMORY_MAPPED and not self.mm_aborted))
        if busy:
            status |= BUSY
        thresh = ((self.reg(CR) >> 8) & 0x1F) + 1
        if self.fmode == INDIRECT_WRITE and self.enabled:
            status |= FTF      # written data leaves the FIFO at once: always room

        elif self.fmode == INDIRECT_READ:
            if len(self.fifo) >= thresh or (self.fifo and not self.pending):
                status |= FTF
        status |= min(len(self.fifo), FIFO_SIZE) << 8
        return status

    def _set_flags(self, bits: int) -> None:
        self.flags |= bits
        self._irq()

    def _irq(self) -> None:
        status = self._status()
        cr = self.reg(CR)
        if any(status & flag and cr & enable for flag, enable in FLAG_ENABLES):
            pend = getattr(self.machine, "pend_irq", None)
            if pend is not None:
                pend(OCTOSPI1_IRQN)

    # -- register interface -----------------------------------------------------------------
    def clocked(self) -> bool:
        """RCC_AHB3ENR.OSPI1EN (hardware-facts A.2): an unclocked block reads 0 and ignores
        writes (usual STM32 behaviour; the RM0455 sentence itself is NOT FOUND)."""
        enabled = getattr(getattr(self.machine, "rcc", None), "clock_enabled", None)
        if not callable(enabled) or enabled("OCTOSPI1"):
            return True
        if not self._warned_clock:
            self._warned_clock = True
            log.warning("OCTOSPI1 register access with its RCC clock (AHB3ENR.OSPI1EN) off: ignored")
        return False

    _warned_clock = False

    def read(self, offset: int, size: int) -> int:
        if not self.clocked():
            return 0
        if offset & ~3 == DR:
            return self._read_dr(size)
        word = offset & ~3
        if word == SR:
            value = self._status()
        elif word in (FCR, HWCFGR, VER, ID, MID):
            value = 0   # FCR is write-only; identification values: NOT FOUND (B.9)
        else:
            value = self.reg(word)
        shift = (offset & 3) * 8
        return (value >> shift) & ((1 << (size * 8)) - 1)

    def write(self, offset: int, size: int, value: int) -> None:
        if not self.clocked():
            return
        if offset & ~3 == DR:
            self._write_dr(size, value)
            return
        word = offset & ~3
        if size != 4 or offset & 3:
            shift = (offset & 3) * 8
            mask = ((1 << (size * 8)) - 1) << shift
            value = (self.reg(word) & ~mask) | ((value << shift) & mask)
        if word == FCR:
            self.flags &= ~(value & (TEF | TCF | SMF | TOF))
            return
        if word not in WRITABLE:
            return
        if word == AR and (self.op is not None or self.fmode == MEMORY_MAPPED and self.enabled):
            return   # B.6: AR writes are ignored while BUSY or in memory-mapped mode
        value &= WRITABLE[word]
        if word == CR:
            self._write_cr(value)
        else:
            self.regs[word] = value
        if word in MAPPING_REGS:
            self.reevaluate()
        if word in (IR, AR):
            self._maybe_start(word)

    def _write_cr(self, value: int) -> None:
        old_mode = self.fmode
        self.regs[CR] = value & ~ABORT
        if self.fmode != old_mode:
            self.mm_aborted = False
        if value & ABORT:
            self._abort()
        elif self.fmode != old_mode and self.op is not None:
            # a new functional mode abandons what the old one was doing
            self._abort()
        if not value & EN:
            self._close_burst()
        self._irq()

    def _abort(self) -> None:
        self.op = None
        self.fifo.clear()
        self.pending.clear()
        self.wbuf.clear()
        self._close_burst()
        self.mm_aborted = self.fmode == MEMORY_MAPPED
        self.flags |= TCF           # B.6: TCF is also set when an abort completes

    # -- indirect mode ----------------------------------------------------------------------
    def _maybe_start(self, written: int) -> None:
        """B.10 start rules: IR starts a command without address, AR one with an address."""
        if not self.enabled or self.op is not None:
            return
        mode = self.fmode
        ph = self.read_phases()
        if mode == MEMORY_MAPPED:
            return
        has_addr = ph.alines != 0
        if written == IR and has_addr:
            return
        if mode == INDIRECT_WRITE:
            if ph.dlines:
                return      # the first DR write starts it
            self._run_command(ph, self.reg(AR), write=b"")
            self._set_flags(TCF)
        elif mode == INDIRECT_READ:
            self._start_read(ph)
        elif mode == AUTO_POLL:
            self._start_poll(ph)

    def _length(self) -> int:
        dlr = self.reg(DLR)
        if dlr == 0xFFFFFFFF:   # undefined length: up to the end of the memory
            return max(0, self.device_size - self.reg(AR))
        return dlr + 1

    def _out_of_range(self, length: int) -> bool:
        """B.6 TEF: the address, or address + length, lies beyond DEVSIZE."""
        address = self.reg(AR)
        return address >= self.device_size or address + length > self.device_size

    def _start_read(self, ph: Phases) -> None:
        length = self._length() if ph.dlines else 0
        if ph.alines and self._out_of_range(length):
            self._set_flags(TEF)
            return
        data = self._run_command(ph, self.reg(AR), read_len=length)
        self.pending = bytearray(data)
        self.op = "read" if self.pending else None
        self._refill()
        if not self.pending:
            self.op = None
            self._set_flags(TCF)
        self._irq()

    def _start_poll(self, ph: Phases) -> None:
        length = min(4, self.reg(DLR) + 1)
        data = self._run_command(ph, self.reg(AR), read_len=length)
        value = int.from_bytes(data, "little")
        mask, match = self.reg(PSMKR), self.reg(PSMAR)
        if self.reg(CR) & PMM:
            hit = bool(~(value ^ match) & mask)
        else:
            hit = (value & mask) == (match & mask)
        self.fifo = bytearray(data)
        self.op = "poll"
        if hit:
            if self.reg(CR) & APMS:
                self.op = None
                self._set_flags(TCF)
            self._set_flags(SMF)

    def _refill(self) -> None:
        room = FIFO_SIZE - len(self.fifo)
        if room > 0 and self.pending:
            self.fifo += self.pending[:room]
            del self.pending[:room]
            if not self.pending:
                self._set_flags(TCF)   # all DLR bytes arrived from the memory

    def _read_dr(self, size: int) -> int:
        if self.op == "poll":
            data = bytes(self.fifo[:size])
            return int.from_bytes(data.ljust(size, b"\0"), "little")
        data = bytes(self.fifo[:size])
        del self.fifo[:size]
        self._refill()
        if self.op == "read" and not self.fifo and not self.pending:
            self.op = None
        self._irq()
        return int.from_bytes(data.ljust(size, b"\0"), "little")

    def _write_dr(self, size: int, value: int) -> None:
        if not self.enabled or self.fmode != INDIRECT_WRITE:
            return
        ph = self.read_phases()
        if self.op is None:
            length = self._length()
            if ph.alines and self._out_of_range(length):
                self._set_flags(TEF)
                return
            self.op = "write"
            self.wbuf = bytearray()
            self.wremaining = length
        take = min(size, self.wremaining)
        self.wbuf += value.to_bytes(4, "little")[:take]
        self.wremaining -= take
        if self.wremaining == 0:
            self._run_command(ph, self.reg(AR), write=bytes(self.wbuf))
            self.wbuf.clear()
            self.op = None
            self._set_flags(TCF)
        self._irq()

    def _run_command(self, ph: Phases, address: int, *, write: bytes | None = None,
                     read_len: int = 0) -> bytes:
        """One indirect command; the controller splits it at CSBOUND and REFRESH (B.5)."""
        self._update_reachability()
        clk = self.clk_hz()
        if ph.dtr:
            # The parts are single-data-rate only (hardware-facts E intro): a DTR
            # phase is not decoded by the chip; nothing answers.
            self.psram.violation("format", "DTR phase sent to an SDR-only PSRAM: not decoded")
            return b"\xff" * read_len
        total = len(write) if write is not None else read_len
        out = bytearray()
        pos = 0
        first = True
        while True:
            burst = self.psram.select(clk, None if first else self.csht_ns())
            header = ph.header(address + pos)
            burst.clock(header)
            if not ph.dlines or pos >= total:
                burst.deselect()
                break
            count = self._split(address + pos, total - pos, burst, ph.dlines, write is not None)
            if write is not None:
                burst.write(write[pos:pos + count], ph.dlines)
            else:
                out += burst.read(count, ph.dlines)
            burst.deselect()
            pos += count
            first = False
            if pos >= total:
                break
        return bytes(out)

    def _split(self, address: int, remaining: int, burst: Burst, lines: int, writing: bool) -> int:
        """Bytes the controller sends before it must raise NCS (CSBOUND, REFRESH)."""
        count = remaining
        dcr3 = self.regs.get(DCR3, 0)
        csbound = (dcr3 >> 16) & 0x1F
        if csbound:
            span = 1 << csbound
            count = min(count, span - address % span)
        refresh = self.regs.get(DCR4, 0)
        if refresh:
            # B.5: NCS goes high every REFRESH+1 cycles (writes) / REFRESH+4
            # (reads), extended to finish the byte under way.
            limit = refresh + (1 if writing else 4)
            cpb = cycles_per_byte(lines)
            elapsed = burst.ce_low_ns / burst.period_ns
            left = limit - elapsed
            count = min(count, max(1, -int(-left // cpb)))
        return max(1, count)

    # -- memory-mapped mode: choosing the path ------------------------------------------------
    def window_size(self) -> int:
        return min(self.device_size, WINDOW_MAX)

    def isolated_accesses(self) -> bool:
        """Is every CPU access its own short burst (NCS released in between)?

        True when the timeout counter releases NCS sooner than the next
        CPU-issued access arrives (TCEN=1, 0 < LPTR <= CPU_ACCESS_GAP_CYCLES)
        and no part of the window turns writes into back-to-back line
        write-backs (write-back + bufferable MPU attribute).
        """
        lptr = self.reg(LPTR)
        return bool(self.reg(CR) & TCEN) and 0 < lptr <= CPU_ACCESS_GAP_CYCLES and not any(self._wb_map)

    def unsafe_reasons(self) -> tuple[list[str], list[str]]:
        """(hazards, notes) of the current memory-mapped configuration.

        Hazards are what the chip does not survive: they route the window
        through the burst model. Notes break a datasheet minimum the model
        gives no data consequence (tCPH, clock limits): they are recorded as
        violations once, when the mapping is chosen.
        """
        reasons: list[str] = []
        notes: list[str] = []
        chip = self.psram
        part = chip.part
        clk = self.clk_hz()
        period = 1e9 / clk
        self._wb_map = self._scan_write_back()
        problem = self.wiring_problem()
        if problem:
            reasons.append(problem)
        if chip.faults.affects_array:
            reasons.append("injected fault: " + chip.faults.describe())
        if self.window_size() != part.size:
            reasons.append(f"DEVSIZE gives a {self.window_size()}-byte window for a {part.size}-byte chip")
        rd, wr = self.read_phases(), self.write_phases()
        for label, ph, kind in (("read (CCR/TCR/IR)", rd, "read"), ("write (WCCR/WTCR/WIR)", wr, "write")):
            bad, limit = self._format_problem(ph, kind)
            if bad:
                reasons.append(f"{label}: {bad}")
            elif limit and clk > limit:
                notes.append(f"{label}: CLK {clk / 1e6:.1f} MHz above the command's {limit / 1e6:.0f} MHz")
        if not wr.dqse:
            reasons.append("WCCR.DQSE=0: memory-mapped writes give a bus error (ES0478 2.7.8, hardware-facts C.1)")
        cpb = cycles_per_byte(rd.dlines or 4)
        header = max(len(rd.header(0)), len(wr.header(0)))
        csbound = (self.reg(DCR3) >> 16) & 0x1F
        refresh = self.reg(DCR4)
        segment = 32 if chip.wrap32 else part.page_size
        isolated = self.isolated_accesses()
        limits = []
        if refresh:
            limits.append(refresh + 4 + cpb - 1)
        if isolated:
            limits.append(header + MAX_ACCESS_BYTES * cpb)
        if csbound and self.reg(CR) & TCEN and self.reg(LPTR):
            # a burst ends at the CSBOUND boundary at the latest, with at most
            # LPTR idle cycles between the accesses merged into it
            limits.append(header + (1 << csbound) * (cpb + self.reg(LPTR)))
        max_cycles = min(limits) if limits else 0
        max_burst = max_cycles // cpb if max_cycles else None
        if not (csbound and (1 << csbound) <= segment) and not isolated:
            # (isolated aligned accesses of at most 8 bytes never reach a segment end)
            crossing_ok = (not chip.wrap32 and part.page_cross_max_hz and clk <= part.page_cross_max_hz
                           and not (part.cross_once and (max_burst is None or max_burst > part.page_size)))
            if not crossing_ok:
                reasons.append(f"bursts may cross a {segment}-byte page at {clk / 1e6:.1f} MHz without CSBOUND "
                               f"<= {segment.bit_length() - 1} (hardware-facts E.3)")
        if not max_cycles:
            reasons.append("REFRESH=0 and NCS not released between accesses: CE# low time is unbounded, "
                           f"tCEM {part.tcem_ns} ns can be exceeded (hardware-facts E.5, H.3, H.4)")
        elif max_cycles * period > part.tcem_ns:
            reasons.append(f"longest burst keeps CE# low {max_cycles * period:.0f} ns > tCEM {part.tcem_ns} ns")
        if any(self._wb_map):
            reasons.append("MPU: window is write-back cacheable + bufferable (koendv, K-ISSUE1; hardware-facts C.3)")
        if clk > part.max_clock_hz:
            notes.append(f"CLK {clk / 1e6:.1f} MHz above the part's {part.max_clock_hz / 1e6:.0f} MHz")
        if self.csht_ns() < part.tcph_ns:
            notes.append(f"CSHT gives {self.csht_ns():.1f} ns CE# high < tCPH {part.tcph_ns} ns")
        return reasons, notes

    def _format_problem(self, ph: Phases, kind: str) -> tuple[str | None, int]:
        """Does the chip, in its present mode, decode this format as a clean `kind` command?

        Returns (problem, the command's clock limit).
        """
        if ph.dtr:
            return "DTR phase on an SDR-only chip", 0
        if not ph.dlines:
            return "no data phase", 0
        if ph.sioo:
            return "SIOO=1: the chip has no continuous-read mode, the next command has no instruction", 0
        chip = self.psram
        burst = chip.select(self.clk_hz(), None, quiet=True)
        burst.clock(ph.header(0))
        cmd = burst.command
        if not burst.aligned(ph.dlines, kind) or cmd is None or cmd.kind != kind:
            mode = "QPI" if chip.qpi else "SPI"
            if cmd is None:
                return f"instruction 0x{ph.ir & 0xFF:02X} on {ph.ilines} line(s) is not a command in {mode} mode", 0
            return (f"{cmd.name} (0x{cmd.opcode:02X}) in {mode} mode expects {cmd.addr_lines}-line address, "
                    f"{cmd.wait} wait cycles, {cmd.data_lines}-line data; the controller sends something else"), 0
        return None, cmd.max_hz or chip.part.max_clock_hz

    def _scan_write_back(self) -> list[bool]:
        mpu = getattr(self.machine, "mpu", None)
        size = self.window_size()
        step = 0x10000
        if mpu is None:
            return [False] * max(1, size // step)
        flags = []
        for off in range(0, max(size, step), step):
            a = mpu.attributes(WINDOW_BASE + off)
            flags.append(bool(a.cacheable and a.write_back and a.bufferable))
        return flags

    def reevaluate(self) -> None:
        """Pick plain RAM / direct MMIO / burst MMIO (or nothing) for the window."""
        if not (self.enabled and self.fmode == MEMORY_MAPPED):
            if self.mapped is not None:
                self._unmap()
            return
        self._update_reachability()
        reasons, notes = self.unsafe_reasons()
        wiring = self.wiring_problem()
        faulty_only = all(r.startswith("injected fault") or r == wiring for r in reasons)
        if not reasons:
            kind = "ram"
        elif faulty_only:
            kind = "direct"
        else:
            kind = "burst"
        self._cache_mm_config()
        if notes != self.mapping_notes:
            for note in notes:
                self.psram.violation("tcph" if "tCPH" in note else "clock", "memory-mapped: " + note)
        self.mapping_reasons, self.mapping_notes = reasons, notes
        size = self.window_size()
        if self.mapped == (kind, size):
            return
        if self.mapped is not None:
            self._unmap()
        map_size = max(size, 0x1000)
        if kind == "ram":
            self.machine.map_ram(WINDOW_BASE, map_size, self.psram.array)
        else:
            self.machine.map_mmio(WINDOW_BASE, map_size, self._mm_read, self._mm_write)
        self.mapped = (kind, size)
        log.info("OCTOSPI1 window 0x%08x+0x%x as %s%s", WINDOW_BASE, size, kind,
                 "" if not reasons else ": " + "; ".join(reasons))

    def _cache_mm_config(self) -> None:
        """What each memory-mapped access needs, computed once per configuration."""
        rd, wr = self.read_phases(), self.write_phases()
        clk = self.clk_hz()
        cr = self.reg(CR)
        self._mm = {
            "clk": clk, "period": 1e9 / clk, "csht_ns": self.csht_ns(),
            False: (rd, self._format_problem(rd, "read")[0] is None and not rd.sioo, rd.ir & 0xFF,
                    len(rd.header(0)), 0 if rd.dtr else rd.dlines),
            True: (wr, self._format_problem(wr, "write")[0] is None and not wr.sioo, wr.ir & 0xFF,
                   len(wr.header(0)), 0 if wr.dtr else wr.dlines),
            "csbound": (self.reg(DCR3) >> 16) & 0x1F, "refresh": self.reg(DCR4),
            "tcen": bool(cr & TCEN), "lptr": self.reg(LPTR),
        }

    _mm: dict = {}
    mapping_notes: list[str] = []

    def _unmap(self) -> None:
        assert self.mapped is not None
        self._close_burst()
        self.machine.unmap(WINDOW_BASE, max(self.mapped[1], 0x1000))
        self.mapped = None

    # -- memory-mapped accesses through Python ------------------------------------------------
    def _offset(self, addr: int) -> int:
        return addr - WINDOW_BASE if addr >= WINDOW_BASE else addr

    def _mm_read(self, offset: int, size: int, *_: Any) -> int:
        offset = self._offset(offset)
        if self.mapped is not None and self.mapped[0] == "direct":
            psram = self.psram
            if psram.floating:
                return (1 << (8 * size)) - 1
            return int.from_bytes(bytes(psram.load(offset + i) for i in range(size)), "little")
        return int.from_bytes(self._mm_burst(offset, size, None), "little")

    def _mm_write(self, offset: int, size: int, value: int, *_: Any) -> None:
        offset = self._offset(offset)
        if not self.reg(WCCR) & (1 << 29):
            # ES0478 2.7.8 (hardware-facts C.1): a memory-mapped write with DQS
            # disabled gets an error response on the bus -> BusFault/HardFault.
            self._close_burst()
            self.machine.bus_error(WINDOW_BASE + offset, True)
            return
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        if self.mapped is not None and self.mapped[0] == "direct":
            psram = self.psram
            if not psram.floating:
                for i, b in enumerate(data):
                    psram.store(offset + i, b)
            return
        self._mm_burst(offset, size, data)

    def _close_burst(self, timed_out: bool = False) -> None:
        burst = getattr(self, "_burst", None)
        if burst is not None:
            burst.deselect()
            self._burst = None
            if timed_out:
                self.flags |= TOF
                if self.regs.get(CR, 0) & TOIE:
                    self._irq()

    def _held(self, gap_cycles: int) -> bool:
        """Is NCS still low after `gap_cycles` idle clocks (B.2 TCEN, B.6 LPTR)?"""
        mm = self._mm
        if not mm["tcen"]:
            return True      # HAL: "nCS remains active" without the timeout counter
        if mm["lptr"] == 0:
            # A zero timeout never releases NCS on the same OCTOSPI IP (ES0499
            # 2.6.4 on STM32U5 via Zephyr PR #103910, hardware-facts C.2).
            return True
        return gap_cycles < mm["lptr"]

    def _mm_burst(self, offset: int, size: int, data: bytes | None) -> bytes:
        """Issue one CPU access as the controller would, merging it into an open burst."""
        writing = data is not None
        mm = self._mm
        ph, clean, opcode, header_len, lines = mm[writing]
        if not lines:
            return b"" if writing else b"\xff" * size
        clk = mm["clk"]
        burst = self._burst
        if burst is not None:
            idle_ns = self._idle_ns(self._gap_cycles(writing))
            held = self._held(int(idle_ns / mm["period"]))
            refresh = mm["refresh"]
            if held and refresh and (burst.ce_low_ns + idle_ns) / mm["period"] >= refresh + (1 if writing else 4):
                held = False     # REFRESH raised NCS while the controller waited (B.5)
                timed_out = False
            else:
                timed_out = not held
            if held and self._burst_writing == writing and self._burst_next == offset:
                burst.stall(idle_ns)
            else:
                self._close_burst(timed_out=timed_out)
                burst = None
        out = bytearray()
        pos = 0
        while pos < size:
            if burst is not None and self._must_split(offset + pos, burst, writing):
                self._close_burst()
                burst = None
            if burst is None:
                burst = self.psram.select(clk, mm["csht_ns"])
                if clean:
                    burst.decoded(opcode, offset + pos, header_len)
                else:
                    # SIOO: the instruction goes out only with the first command (B.7)
                    first = not (ph.sioo and self._sent_instruction)
                    burst.clock(ph.header(offset + pos, instruction=first))
                self._sent_instruction = True
                self._burst = burst
                self._burst_writing = writing
                self._burst_bytes = 0
            count = self._split(offset + pos, size - pos, burst, lines, writing)
            if writing:
                assert data is not None
                burst.write(data[pos:pos + count], lines)
            else:
                out += burst.read(count, lines)
            pos += count
            self._burst_bytes += count
            self._burst_next = offset + pos
        self._last_access_ns = self.machine.now_ns if self._has_clock else 0
        return bytes(out)

    _sent_instruction = False
    _burst_writing = False
    _burst_next = -1
    _burst_bytes = 0
    _last_access_ns: float = 0

    @property
    def _has_clock(self) -> bool:
        return isinstance(getattr(self.machine, "now_ns", None), (int, float))

    def _must_split(self, offset: int, burst: Burst, writing: bool) -> bool:
        """Must NCS go high before the byte at `offset` (CSBOUND, REFRESH; B.5)?"""
        if not self._burst_bytes:
            return False
        mm = self._mm
        csbound = mm["csbound"]
        if csbound and offset % (1 << csbound) == 0:
            return True
        refresh = mm["refresh"]
        if refresh and burst.ce_low_ns / burst.period_ns >= refresh + (1 if writing else 4):
            return True
        return False

    def _gap_cycles(self, writing: bool) -> int:
        """Idle clocks between the previous access and this one (see CPU_ACCESS_GAP_CYCLES)."""
        if writing and self._wb_chunk(self._burst_next):
            # Write-back cacheable + bufferable: data reaches the controller as
            # line write-backs issued back to back, which merge into one long
            # burst (koendv's corruption with TEX1/C1/B1, K-ISSUE1 fixed by
            # not-bufferable; hardware-facts C.3, H.8).
            return 0
        return CPU_ACCESS_GAP_CYCLES

    def _idle_ns(self, gap_cycles: int) -> float:
        """How long NCS stayed low while idle: the gap, or the simulated time
        since the last access when the CPU did other work in between."""
        idle = gap_cycles * self._mm["period"]
        if self._has_clock:
            since = self.machine.now_ns - self._last_access_ns
            if since > idle:
                idle = float(since)
        return idle

    def _wb_chunk(self, offset: int) -> bool:
        wb = getattr(self, "_wb_map", None)
        if wb is None:
            wb = self._wb_map = self._scan_write_back()
        index = offset >> 16
        return 0 <= index < len(wb) and wb[index]


def attach(machine: "Machine", board: Any, faults: PsramFaults | None = None) -> Octospi:
    """Create the PSRAM chip, OCTOSPIM and OCTOSPI1 for `board` and add them to `machine`."""
    part = part_for_board(board.psram)
    psram = Psram(part, faults)
    octospim = Octospim(machine)
    ctrl = Octospi(machine, psram, octospim, kernel_clock_hz=board.psram.kernel_clock_hz,
                   pins=getattr(board, "pins", None))
    machine.add_peripheral(octospim)
    machine.add_peripheral(ctrl)
    return ctrl
