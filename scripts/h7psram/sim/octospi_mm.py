"""Memory-mapped mode of the OCTOSPI model: which path serves the window, and the burst engine.

Memory-mapped mode (CR.FMODE = 11) has three ways to reach the array, chosen
again whenever a register, the MPU or the I/O manager changes:

* plain RAM: the configuration is one the real chip survives (see
  `HazardRules.unsafe_reasons`), so the CPU gets the PSRAM array itself -- no
  Python per access;
* "direct" MMIO: the configuration is safe but the chip has an injected data
  or address fault (or floats): each access goes through the chip's fault
  model, without burst timing;
* "burst" MMIO: the configuration is one the chip does not survive; accesses
  are assembled into CE#-low bursts the way the controller would issue them
  and the chip model applies page wrap, tCEM loss, and wrong command or
  dummy-cycle decoding. The table in docs/simulator-octospi.md lists the rules.
Facts: docs/hardware.md#memory-mapped.
"""
from __future__ import annotations

import logging
from typing import Any

from .octospi_regs import CR, DCR3, DCR4, LPTR, MEMORY_MAPPED, TCEN, TOF, TOIE, WCCR
from .psram import Burst

log = logging.getLogger("h7psram.sim.octospi")

#: Clock cycles between two CPU-issued (uncached or write-through) accesses to
#: the window, as seen by the controller. An assumption (no RM timing
#: available): a load/store loop needs a few CPU cycles per access plus the
#: AXI turnaround, i.e. at least two OCTOSPI clocks at CLK <= SYSCLK/2.
CPU_ACCESS_GAP_CYCLES = 2


class MemoryMappedPaths:
    """Mixin of `Octospi`: the memory-mapped window."""

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
            kind = "burst" if self.exact else "ram"
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
            self.machine.map_ram(self.window_base, map_size, self.psram.array)
        else:
            self.machine.map_mmio(self.window_base, map_size, self._mm_read, self._mm_write)
        self.mapped = (kind, size)
        log.info("OCTOSPI1 window 0x%08x+0x%x as %s%s", self.window_base, size, kind,
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
            "narrow_write_zero": bool(self.write_path_faults()),
        }
        self._nwz_insn = None

    _mm: dict = {}
    mapping_notes: list[str] = []
    #: serve the window through the burst model even when it is safe, so every access
    #: reaches the chip's wires (the OSPI trace, sim/ospi_trace.py, sets it)
    exact = False

    def _unmap(self) -> None:
        assert self.mapped is not None
        self._close_burst()
        self.machine.unmap(self.window_base, max(self.mapped[1], 0x1000))
        self.mapped = None

    # -- memory-mapped accesses through Python ------------------------------------------------
    def _offset(self, addr: int) -> int:
        return addr - self.window_base if addr >= self.window_base else addr

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
            # ES0478 2.7.8 (docs/hardware.md#dqse): a memory-mapped write with DQS
            # disabled gets an error response on the bus -> BusFault/HardFault.
            self._close_burst()
            # The error comes back on the AXI write response, after the store
            # retired: on the H7A3 it shows as FORCED + IMPRECISERR (ST community
            # thread, H7A3 + LY68L6400; docs/hardware.md#dqse).
            self.machine.bus_error(self.window_base + offset, True, imprecise=True)
            return
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        if self._mm.get("narrow_write_zero"):
            for dword, lanes in self.narrow_write_zero(offset, data):
                self._mm_burst(dword, 8, lanes)
            return
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
        """Is NCS still low after `gap_cycles` idle clocks (docs/hardware.md#memory-mapped)?"""
        mm = self._mm
        if not mm["tcen"]:
            return True      # HAL: "nCS remains active" without the timeout counter
        if mm["lptr"] == 0:
            # A zero timeout never releases NCS on the same OCTOSPI IP (ES0499
            # 2.6.4 on STM32U5 via Zephyr PR #103910; docs/hardware.md#memory-mapped).
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
                held = False     # REFRESH raised NCS while the controller waited (docs/hardware.md#octospi-registers)
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
                    # SIOO: the instruction goes out only with the first command (docs/hardware.md#octospi-registers)
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
        """Must NCS go high before the byte at `offset` (CSBOUND, REFRESH; docs/hardware.md#octospi-registers)?"""
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
            # burst (koendv's corruption with TEX1/C1/B1, koendv issue #1 fixed by
            # not-bufferable; docs/hardware.md#field-reports).
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


