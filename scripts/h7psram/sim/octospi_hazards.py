"""Which memory-mapped configurations the PSRAM does not survive, and why.

Each rule names its source (docs/hardware.md); `unsafe_reasons` is what
`MemoryMappedPaths.reevaluate` uses to pick the path for the window.
"""
from __future__ import annotations

from unicorn import UcError, arm_const

from .dcache import LINE as LINE_BYTES
from .octospi_mm import CPU_ACCESS_GAP_CYCLES, writes_back
from .octospi_regs import CR, DCR3, DCR4, LPTR, TCEN, Phases
from .psram import cycles_per_byte
from .store_insn import store_bytes


class HazardRules:
    """Mixin of `Octospi`: the safety rules of memory-mapped mode."""

    # -- memory-mapped mode: choosing the path ------------------------------------------------
    def window_size(self) -> int:
        return min(self.device_size, self.window_max)

    def isolated_reads(self) -> bool:
        """Is every read its own short burst (NCS released before the next one)?

        Reads make the CPU wait (a load, or the line fill it started), so the
        next access comes CPU_ACCESS_GAP_CYCLES after the previous one ended;
        the timeout counter releases NCS first when TCEN=1 and
        0 < LPTR <= that gap. Writes are never isolated: the store buffer
        posts them, and the next one is waiting when a command ends.
        """
        lptr = self.reg(LPTR)
        return bool(self.reg(CR) & TCEN) and 0 < lptr <= CPU_ACCESS_GAP_CYCLES

    def unsafe_reasons(self) -> tuple[list[str], list[str]]:
        """(hazards, notes) of the current memory-mapped configuration.

        Hazards are what the chip or the memory system in front of it can get
        wrong: they route the window through the burst model. Notes break a
        datasheet minimum the model gives no data consequence (tCPH, clock
        limits): they are recorded as violations once, when the mapping is chosen.
        """
        reasons: list[str] = []
        notes: list[str] = []
        chip = self.psram
        part = chip.part
        clk = self.clk_hz()
        period = 1e9 / clk
        self._policies = self.scan_policies()
        problem = self.wiring_problem()
        if problem:
            reasons.append(problem)
        if chip.faults.affects_array:
            reasons.append("injected fault: " + chip.faults.describe())
        for name, why in self.write_path_faults():
            reasons.append(f"{name}: {why}")
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
            reasons.append("WCCR.DQSE=0: memory-mapped writes give a bus error (ES0478 2.7.8; docs/hardware.md#dqse)")
        cpb = cycles_per_byte(rd.dlines or 4)
        header = max(len(rd.header(0)), len(wr.header(0)))
        csbound = (self.reg(DCR3) >> 16) & 0x1F
        refresh = self.reg(DCR4)
        tcen, lptr = bool(self.reg(CR) & TCEN), self.reg(LPTR)
        segment = 32 if chip.wrap32 else part.page_size
        isolated = self.isolated_reads()
        # longest CE#-low time of a write burst: posted writes follow each other
        # with no idle clock, so only CSBOUND and REFRESH end the burst
        write_limits = []
        if refresh:
            write_limits.append(refresh + 1 + cpb - 1)
        if csbound:
            write_limits.append(header + (1 << csbound) * cpb)
        # reads: isolated, or merged with up to LPTR idle clocks between them
        read_limits = []
        if refresh:
            read_limits.append(refresh + 4 + cpb - 1)
        if isolated:
            read_limits.append(header + LINE_BYTES * cpb)
        if csbound and tcen and lptr:
            read_limits.append(header + (1 << csbound) * (cpb + lptr))
        max_write = min(write_limits) if write_limits else 0
        max_read = min(read_limits) if read_limits else 0
        max_burst = max(max_write, max_read) // cpb if max_write and max_read else None
        if not (csbound and (1 << csbound) <= segment):
            crossing_ok = (not chip.wrap32 and part.page_cross_max_hz and clk <= part.page_cross_max_hz
                           and not (part.cross_once and (max_burst is None or max_burst > part.page_size)))
            if not crossing_ok:
                reasons.append(f"bursts may cross a {segment}-byte page at {clk / 1e6:.1f} MHz without CSBOUND "
                               f"<= {segment.bit_length() - 1} (docs/hardware.md#psram)")
        for what, cycles in (("write", max_write), ("read", max_read)):
            if not cycles:
                reasons.append(f"REFRESH=0 and NCS not released between {what}s: CE# low time is unbounded, "
                               f"tCEM {part.tcem_ns} ns can be exceeded (docs/hardware.md#psram)")
            elif cycles * period > part.tcem_ns:
                reasons.append(f"longest {what} burst keeps CE# low {cycles * period:.0f} ns > tCEM {part.tcem_ns} ns")
        if writes_back(self._policies):
            reasons.append("MPU: window is write-back cacheable: dirty lines reach the chip only when evicted or "
                           "cleaned (docs/hardware.md#cortex-m7)")
        if self.prefetch_stale and not isolated:
            reasons.append("prefetch-stale: reads are prefetched while NCS stays low, and the switch keeps them "
                           "across a write (docs/hardware.md#memory-mapped)")
        if clk > part.max_clock_hz:
            notes.append(f"CLK {clk / 1e6:.1f} MHz above the part's {part.max_clock_hz / 1e6:.0f} MHz")
        if self.csht_ns() < part.tcph_ns:
            notes.append(f"CSHT gives {self.csht_ns():.1f} ns CE# high < tCPH {part.tcph_ns} ns")
        return reasons, notes

    def write_path_faults(self) -> list[tuple[str, str]]:
        """Switchable write-path hazards that need every AXI write to be seen (name, why)."""
        faults = self.psram.faults
        if getattr(faults, "narrow_write_zero", False) and self.write_phases().dqse:
            return [("narrow-write-zero", "AXI writes narrower than 64 bits are modelled (docs/hardware.md#dqse)")]
        return []

    # -- hazard (a): narrow-write-zero ---------------------------------------------------------
    def store_width(self, offset: int, size: int) -> int:
        """AXI transfer size of the CPU store a `size`-byte piece at `offset` belongs to.

        Users reported (STM32H7B0 + APS6404L, STM32H723 + IS66WVS4M8; ST community
        threads, not confirmed by ST; docs/hardware.md#dqse) that with WCCR.DQSE=1
        a memory-mapped write narrower than 64 bits stores 0 in the other bytes of
        its double word, while 64-bit writes are fine: DQS would act as the byte
        mask of a 64-bit beat. `wire_writes` applies that to each AXI write that
        leaves the store buffer or the cache, so what decides is the width.

        The emulator delivers STRD/STM/VSTR.64 word by word and unaligned stores
        byte by byte; the core issues the bytes of one instruction that fall into
        one double word as one AXI write (`sim/store_insn.py`). The width of a
        piece is therefore the number of bytes its instruction stores into the
        piece's double word (pieces arrive in ascending address order).
        """
        pc = self.machine.uc.reg_read(arm_const.UC_ARM_REG_PC)
        seen = self._insn
        if seen is not None and seen[0] == pc and seen[1] > 0:
            seen[1] -= size
            start, total = seen[2], seen[3]
        else:
            total = store_bytes(self._code_at(pc)) or size
            start = offset
            self._insn = [pc, total - size, offset, total]
        dword = offset & ~7
        return max(size, min(start + total, dword + 8) - max(start, dword))

    #: [pc, bytes of the instruction still to come, its first offset, its total bytes]
    _insn: list | None = None

    def _code_at(self, pc: int) -> bytes:
        uc = self.machine.uc
        try:
            return bytes(uc.mem_read(pc & ~1, 4))
        except UcError:
            return bytes(uc.mem_read(pc & ~1, 2))

    #: hazard (d) switch, see MemoryMappedPaths._prefetch_before_write (off: not confirmed by ST)
    prefetch_stale = False

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
