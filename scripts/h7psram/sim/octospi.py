"""OCTOSPI1 controller model: register interface and the indirect-mode command engine.

Register layout: `sim/octospi_regs.py`; memory-mapped paths: `sim/octospi_mm.py`;
the rules that decide whether a memory-mapped configuration is safe:
`sim/octospi_hazards.py`. Base, window and interrupt come from the board's
devicetree (`attach`). The controller turns its phase registers into clock
cycles on the wires of the PSRAM model (`sim/psram.py`); everything the chip
does with them is decided there. Facts: docs/hardware.md#octospi-registers.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .psram_faults import PsramFaults
from .octospi_hazards import HazardRules
from .octospi_mm import MemoryMappedPaths
from .octospi_regs import *  # noqa: F401,F403  (register names are part of this module's API)
from .octospi_regs import (ABR, CCR, DCR3, DCR4, TCR, WABR, WCCR, WIR, WTCR, ABORT, APMS, AR, AUTO_POLL, BUSY, CR, DLR, DR, EN, FCR, FIFO_SIZE, FLAG_ENABLES,
                           FMODE_SHIFT, FTF, INDIRECT_READ, INDIRECT_WRITE, IR, MAPPING_REGS, MEMORY_MAPPED,
                           PMM, PSMAR, PSMKR, READS_ZERO, SMF, SR, TCF, TEF, TOF, WRITABLE, Phases, field)
from .octospim import Octospim
from .peripheral import Peripheral
from .psram import Burst, Psram, cycles_per_byte, part_for_board

if TYPE_CHECKING:  # pragma: no cover
    from .machine import Machine

log = logging.getLogger("h7psram.sim.octospi")


class Octospi(HazardRules, MemoryMappedPaths, Peripheral):
    """OCTOSPI1 with the PSRAM on port 1."""

    name = "OCTOSPI1"

    def __init__(self, machine: "Machine", psram: Psram, octospim: Octospim | None = None,
                 *, kernel_clock_hz: int = 0, pins: dict[str, tuple[str, int, int]] | None = None,
                 registers: Any, window: Any) -> None:
        super().__init__(machine, registers)
        # base, size and interrupt come from the board's devicetree (octospi1 node: "ospi" and
        # "ospi_mm" reg entries), see attach()
        self.irqn = int(registers.irq)
        self.window_base = int(window.base)
        self.window_max = int(window.size)
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
        # hazard (c): pins leaving their AF, OSPI1EN dropping and kernel clock changes reach the
        # window at once (docs/simulator-octospi.md "Wiring, clock and enable changes")
        for source in [getattr(machine, "rcc", None)] + list(getattr(getattr(machine, "_gpio", None), "ports",
                                                                        {}).values()):
            listeners = getattr(source, "config_listeners", None)
            if listeners is not None:
                listeners.append(self._config_changed)
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
        # docs/hardware.md#octospi-registers: in memory-mapped mode BUSY stays 1 until an abort; HAL-style
        # drivers abort and then wait for BUSY=0 with FMODE still 11.
        self.mm_aborted = False
        self._close_burst()
        if getattr(self, "mapped", None) is not None:
            self._unmap()
        if self.memsys is not None:
            self.memsys.reset()           # a system reset empties the core's caches too
        self._ctrl_ns = 0.0
        self._stale = None
        #: bytes moved by memory-mapped commands (False: read, True: written) and the time they took
        self.traffic = {False: 0, True: 0}
        self.traffic_ns = 0.0

    def _config_changed(self) -> None:
        if self.mapped is None and not (self.enabled and self.fmode == MEMORY_MAPPED):
            return
        # most GPIO/RCC writes concern other pins and clocks: look again only when ours changed
        if self._config_key() != self._seen_config:
            self.reevaluate()

    def _config_key(self) -> tuple:
        return self.wiring_problem(), self.clk_hz(), self.clocked(warn=False)

    _seen_config: tuple = ()

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
        return 1 << (field(self.regs, "DEVSIZE") + 1)

    def kernel_clock_hz(self) -> int:
        """OCTOSPI kernel clock from the RCC model's OCTOSPISEL, else the board's value."""
        rcc = getattr(self.machine, "rcc", None)
        source_of = getattr(rcc, "octospi_kernel_hz", None)
        if callable(source_of):
            hz = source_of(self.machine.board)
            if hz:
                return int(hz)
        return self.default_kernel_hz

    def clk_hz(self) -> int:
        return max(1, self.kernel_clock_hz() // (field(self.regs, "PRESCALER") + 1))

    def period_ns(self) -> float:
        return 1e9 / self.clk_hz()

    def csht_ns(self) -> float:
        return (field(self.regs, "CSHT") + 1) * self.period_ns()

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
                pend(self.irqn)

    # -- register interface -----------------------------------------------------------------
    def clocked(self, warn: bool = True) -> bool:
        """RCC_AHB3ENR.OSPI1EN (docs/hardware.md#memory-map): an unclocked block reads 0 and ignores
        writes (usual STM32 behaviour; the RM0455 sentence itself is NOT FOUND)."""
        enabled = getattr(getattr(self.machine, "rcc", None), "clock_enabled", None)
        if not callable(enabled) or enabled("OCTOSPI1"):
            return True
        if warn and not self._warned_clock:
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
        elif word in READS_ZERO:
            value = 0
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
            return   # AR writes are ignored while BUSY or in memory-mapped mode
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
        self.flags |= TCF           # TCF is also set when an abort completes

    # -- indirect mode ----------------------------------------------------------------------
    def _maybe_start(self, written: int) -> None:
        """Start rules (docs/hardware.md#octospi-registers): IR starts a command without address, AR one with an address."""
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
        """TEF: the address, or address + length, lies beyond DEVSIZE."""
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
        """One indirect command; the controller splits it at CSBOUND and REFRESH."""
        self._update_reachability()
        clk = self.clk_hz()
        if ph.dtr:
            # The parts are single-data-rate only (docs/hardware.md#psram): a DTR
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
            # NCS goes high every REFRESH+1 cycles (writes) / REFRESH+4
            # (reads), extended to finish the byte under way.
            limit = refresh + (1 if writing else 4)
            cpb = cycles_per_byte(lines)
            elapsed = burst.ce_low_ns / burst.period_ns
            left = limit - elapsed
            count = min(count, max(1, -int(-left // cpb)))
        return max(1, count)


def attach(machine: "Machine", board: Any, faults: PsramFaults | None = None) -> Octospi:
    """Create the PSRAM chip, OCTOSPIM and OCTOSPI1 for `board` and add them to `machine`."""
    part = part_for_board(board.psram)
    psram = Psram(part, faults)
    octospim = Octospim(machine, board.mmio_block("OCTOSPIM"))
    ctrl = Octospi(machine, psram, octospim, kernel_clock_hz=board.psram.kernel_clock_hz,
                   pins=getattr(board, "pins", None), registers=board.mmio_block("OCTOSPI1"),
                   window=board.mmio_block("OCTOSPI1_MM"))
    machine.add_peripheral(octospim)
    machine.add_peripheral(ctrl)
    return ctrl
