"""Memory-mapped mode of the OCTOSPI model: which path serves the window, and the AXI-to-command engine.

Memory-mapped mode (CR.FMODE = 11) has three ways to reach the array, chosen
again whenever a register, the MPU, SCB CCR.DC, the pins, the clocks or the
I/O manager change:

* plain RAM ("ram"): the configuration is one the real chip survives and
  the memory system in front of it can neither lose nor reorder data (see
  `HazardRules.unsafe_reasons`), so the CPU gets the PSRAM array itself --
  no Python per access, no D-cache model, no time for PSRAM traffic;
* "direct" MMIO: the configuration is safe but the chip has an injected data
  or address fault (or floats): each access goes through the chip's fault
  model, without burst timing;
* "burst" MMIO: anything else. Every CPU access goes through the M7 data
  side (`sim/memsys.py`: D-cache, store buffer) and reaches this controller
  as AXI reads and `AxiWrite`s; the controller turns them into CE#-low
  bursts the way it does on the wires (CSBOUND, REFRESH, the timeout counter
  TCEN/LPTR, prefetch), and the chip model applies page wrap, tCEM loss and
  wrong command or dummy-cycle decoding. Each transaction costs the CPU the
  time its command phases take at the programmed clock.
The table in docs/simulator-octospi.md lists the rules. Facts: docs/hardware.md.
"""
from __future__ import annotations

import logging
from typing import Any

from .memsys import DEVICE, STRONGLY_ORDERED, WRITE_BACK, WRITE_BACK_WA, AxiWrite, MemorySystem, policy
from .octospi_regs import CR, DCR3, DCR4, FIFO_SIZE, LPTR, MEMORY_MAPPED, TCEN, TOF, TOIE, WCCR
from .psram import Burst, cycles_per_byte

log = logging.getLogger("h7psram.sim.octospi")

#: Clock cycles between the end of one access and the next when the CPU had to
#: wait for the first (a load, or the line fill it started). An assumption (no
#: RM timing available): the core needs a few cycles to issue the next access
#: plus the AXI request path, at least two OCTOSPI clocks at CLK <= SYSCLK/2.
#: Posted writes do not wait: the store buffer queues them, so the next one is
#: already waiting when the previous command ends (gap 0).
CPU_ACCESS_GAP_CYCLES = 2
#: Chunk of the window with one cache policy (MPU regions the driver uses are >= 64 KiB).
POLICY_CHUNK = 0x10000


class MemoryMappedPaths:
    """Mixin of `Octospi`: the memory-mapped window."""

    def reevaluate(self) -> None:
        """Pick plain RAM / direct MMIO / burst MMIO (or nothing) for the window."""
        self._seen_config = self._config_key()
        if not (self.enabled and self.fmode == MEMORY_MAPPED and self.clocked(warn=False)):
            if self.mapped is not None:
                self._unmap()
            return
        self._update_reachability()
        reasons, notes = self.unsafe_reasons()
        wiring = self.wiring_problem()
        faulty_only = all(r.startswith("injected fault") or r == wiring for r in reasons)
        memsys = getattr(self, "memsys", None)
        if memsys is not None and memsys.cache.dirty_count() and not reasons:
            # leaving the model would lose data that only the modelled cache holds
            reasons = ["the D-cache model still holds dirty lines of the window"]
            faulty_only = False
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
        self._set_model(kind == "burst")
        size = self.window_size()
        if self.mapped == (kind, size):
            return
        if self.mapped is not None:
            self._unmap(keep_model=True)
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
        self._insn = None

    _mm: dict = {}
    mapping_notes: list[str] = []
    #: serve the window through the full model even when it is safe (exact data path and
    #: PSRAM time, e.g. for bandwidth figures or to check the fast path against the model)
    exact = False
    memsys: MemorySystem | None = None

    # -- the M7 data side in front of the window (sim/memsys.py) --------------------------------------
    def scan_policies(self) -> list[str]:
        """Cache policy of each 64 KiB chunk of the window (MPU or default map, CCR.DC, CACR)."""
        mpu = getattr(self.machine, "mpu", None)
        size = self.window_size()
        count = max(1, size // POLICY_CHUNK)
        if mpu is None:
            return ["nc"] * count
        dc = bool(getattr(self.machine, "dcache_enabled", False))
        return [policy(mpu.attributes(self.window_base + i * POLICY_CHUNK), dc, mpu.cacr) for i in range(count)]

    def _policy_at(self, offset: int) -> str:
        pols = self._policies
        index = offset // POLICY_CHUNK
        return pols[index] if 0 <= index < len(pols) else pols[-1]

    _policies: list[str] = ["nc"]

    def _set_model(self, on: bool) -> None:
        m = self.machine
        if on:
            if self.memsys is None:
                self.memsys = MemorySystem(self, self._policy_at)
            if hasattr(m, "slice_end_hooks") and self._drain_hook not in m.slice_end_hooks:
                m.slice_end_hooks.append(self._drain_hook)
            if hasattr(m, "cache_op_hook"):
                m.cache_op_hook = self._cache_op
        else:
            if self.memsys is not None:
                self.memsys.drain()
                if not self.memsys.cache.dirty_count():
                    self.memsys.reset()
            hooks = getattr(m, "slice_end_hooks", None)
            if hooks is not None and self._drain_hook in hooks:
                hooks.remove(self._drain_hook)
            if getattr(m, "cache_op_hook", None) == self._cache_op:
                m.cache_op_hook = None

    def _drain_hook(self) -> None:
        if self.memsys is not None:
            self.memsys.drain()
            self._close_idle_burst()

    def _cache_op(self, op: str, operand: int) -> bool:
        """Machine.cache_op_hook: D-cache maintenance reaches the model; True keeps the
        engine-speed loop shortcut (sim/cache_loops.py) away from window addresses."""
        memsys = self.memsys
        if memsys is None or not op.startswith("DC"):
            return False                 # instruction cache and branch predictor: nothing of ours
        by_address = op.endswith(("MVAC", "MVAU"))
        inside = self.window_base <= operand < self.window_base + self.window_size()
        if by_address and not inside:
            return False
        memsys.maintain(op, operand, operand - self.window_base if by_address else None)
        if by_address or op.endswith("SW"):
            if not memsys.cache.dirty_count() and self.mapping_reasons == [
                    "the D-cache model still holds dirty lines of the window"]:
                self.reevaluate()
        return True

    def _unmap(self, keep_model: bool = False) -> None:
        assert self.mapped is not None
        if self.memsys is not None:
            self.memsys.drain()
        self._close_burst()
        self.machine.unmap(self.window_base, max(self.mapped[1], 0x1000))
        self.mapped = None
        if not keep_model:
            self._set_model(False)

    # -- CPU accesses through Python ----------------------------------------------------------------
    def _offset(self, addr: int) -> int:
        return addr - self.window_base if addr >= self.window_base else addr

    def _mm_read(self, offset: int, size: int, *_: Any) -> int:
        offset = self._offset(offset)
        if self.mapped is not None and self.mapped[0] == "direct":
            psram = self.psram
            if psram.floating:
                return (1 << (8 * size)) - 1
            return int.from_bytes(bytes(psram.load(offset + i) for i in range(size)), "little")
        if self.memsys is None:
            return int.from_bytes(self.axi_read(offset, size), "little")
        return int.from_bytes(self.memsys.load(offset, size), "little")

    def _mm_write(self, offset: int, size: int, value: int, *_: Any) -> None:
        offset = self._offset(offset)
        data = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        if self.mapped is not None and self.mapped[0] == "direct":
            if not self._dqs_ok(offset):
                return
            psram = self.psram
            if not psram.floating:
                for i, b in enumerate(data):
                    psram.store(offset + i, b)
            return
        # the AXI transfer size matters only to the narrow-write hazard; finding it costs a decode
        width = self.store_width(offset, size) if self._mm.get("narrow_write_zero") else size
        if self.memsys is None:
            lane = offset & 7
            self.axi_write(AxiWrite(offset & ~7, bytes(lane) + data + bytes(8 - lane - size),
                                    ((1 << size) - 1) << lane, width))
            return
        self.memsys.store(offset, data, width)

    def _dqs_ok(self, offset: int) -> bool:
        if self.reg(WCCR) & (1 << 29):
            return True
        # ES0478 2.7.8 (docs/hardware.md#dqse): a memory-mapped write with DQS
        # disabled gets an error response on the bus -> BusFault/HardFault. The
        # error comes back on the AXI write response, after the store retired: on
        # the H7A3 it shows as FORCED + IMPRECISERR (ST community thread, H7A3 +
        # LY68L6400; docs/hardware.md#dqse).
        self._close_burst()
        self.machine.bus_error(self.window_base + offset, True, imprecise=True)
        return False

    # -- the AXI side: what the controller receives -----------------------------------------------
    def axi_read(self, offset: int, length: int) -> bytes:
        """One AXI read (an uncached access, or a 32-byte line fill)."""
        return self._mm_burst(offset, length, None)

    def axi_write(self, write: AxiWrite) -> None:
        """One AXI write (a store that left the store buffer, a merged beat, a cache line).

        This is the seam for write-path hazards: `wire_writes` decides which
        bytes go out as memory-mapped write commands.
        """
        if not self._dqs_ok(write.offset):
            return
        for offset, data in self.wire_writes(write):
            self._mm_burst(offset, len(data), data)

    def wire_writes(self, write: AxiWrite) -> list[tuple[int, bytes]]:
        """(offset, bytes) the controller writes for one AXI write: the strobed runs; under
        the narrow-write-zero hazard a write narrower than 64 bits writes its whole double
        word, the lanes it does not strobe as the 0 the bus carries there."""
        if write.width < 8 and self._mm.get("narrow_write_zero"):
            return [(write.offset, bytes(write.data[:8]))]
        return write.runs()

    # -- the command engine ---------------------------------------------------------------------------
    def _close_burst(self, timed_out: bool = False) -> None:
        burst = getattr(self, "_burst", None)
        if burst is not None:
            burst.deselect()
            self._burst = None
            if timed_out:
                self.flags |= TOF
                if self.regs.get(CR, 0) & TOIE:
                    self._irq()

    def _close_idle_burst(self) -> None:
        """End of a slice: NCS is released if the timeout (or REFRESH) would have raised it."""
        if self._burst is None or not self._mm:
            return
        idle = self._idle_ns(0)
        if not self._held(int(idle / self._mm["period"])):
            self._close_burst(timed_out=True)

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

    def _cpu_now_ns(self) -> float:
        return float(self.machine.now_ns) if self._has_clock else 0.0

    def _mm_burst(self, offset: int, size: int, data: bytes | None) -> bytes:
        """Issue one AXI transaction as the controller would, continuing an open burst when it can."""
        writing = data is not None
        mm = self._mm
        ph, clean, opcode, header_len, lines = mm[writing]
        if not lines:
            return b"" if writing else b"\xff" * size
        clk = mm["clk"]
        period = mm["period"]
        burst = self._burst
        gap = 0 if writing and self._burst_writing and burst is not None else CPU_ACCESS_GAP_CYCLES
        idle_ns = self._idle_ns(gap)
        start_ns = self._ctrl_ns + idle_ns
        if not writing and self._stale is not None:
            stale_at, stale = self._stale
            self._stale = None
            if offset == stale_at:
                # (d) a sequential read is served from the prefetch buffer filled before the
                # write: the bytes the chip held then (see _prefetch_before_write)
                take = stale[:size]
                self.prefetch_hits += 1
                self._ctrl_ns = start_ns
                self._stall_until(start_ns)
                if len(take) == size:
                    return bytes(take)
                return bytes(take) + self._mm_burst(offset + len(take), size - len(take), None)
        cycles0 = 0
        if burst is not None:
            if writing and not self._burst_writing and self.prefetch_stale:
                self._prefetch_before_write(burst, idle_ns, lines)
            held = self._held(int(idle_ns / period))
            refresh = mm["refresh"]
            if held and refresh and (burst.ce_low_ns + idle_ns) / period >= refresh + (1 if writing else 4):
                held = False     # REFRESH raised NCS while the controller waited (docs/hardware.md#octospi-registers)
                timed_out = False
            else:
                timed_out = not held
            if held and self._burst_writing == writing and self._burst_next == offset:
                burst.stall(idle_ns)
                cycles0 = burst.cycles
            else:
                self._close_burst(timed_out=timed_out)
                burst = None
        spent = 0
        out = bytearray()
        pos = 0
        while pos < size:
            if burst is not None and self._must_split(offset + pos, burst, writing):
                spent += burst.cycles - cycles0
                self._close_burst()
                spent += int(round(mm["csht_ns"] / period))     # NCS high between the two commands
                burst = None
            if burst is None:
                burst = self.psram.select(clk, mm["csht_ns"])
                cycles0 = 0
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
        spent += burst.cycles - cycles0 if burst is not None else 0
        self._ctrl_ns = start_ns + spent * period
        self.traffic[writing] += size
        self.traffic_ns += spent * period
        # the core waits for read data; a posted write only until the controller takes it
        self._stall_until(start_ns if writing else self._ctrl_ns)
        return bytes(out)

    def _stall_until(self, t_ns: float) -> None:
        stall = getattr(self.machine, "stall_cycles", None)
        if stall is None:
            return
        wait_ns = t_ns - self._cpu_now_ns()
        if wait_ns > 0:
            stall(int(wait_ns * self.machine.cpu_hz // 1_000_000_000) or 1)

    def _prefetch_before_write(self, burst: Burst, idle_ns: float, lines: int) -> None:
        """Hazard (d), switch `prefetch_stale`: while NCS stays low after a read the controller
        keeps reading ahead into its FIFO (docs/hardware.md#memory-mapped); when a write follows,
        the prefetched bytes are kept and a following sequential read gets them, not what the
        write stored. Source: ST community, STM32U575 OCTOSPI "immediate write after read fails"
        (content not retrieved; docs/hardware.md#memory-mapped) -- off by default."""
        mm = self._mm
        held_ns = idle_ns if not mm["tcen"] or not mm["lptr"] else min(idle_ns, mm["lptr"] * mm["period"])
        count = min(FIFO_SIZE, int(held_ns / mm["period"]) // cycles_per_byte(lines))
        if count > 0:
            self._stale = (self._burst_next, burst.read(count, lines))

    _stale: tuple[int, bytes] | None = None
    prefetch_hits = 0
    _sent_instruction = False
    _burst_writing = False
    _burst_next = -1
    _burst_bytes = 0
    _ctrl_ns: float = 0.0

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

    def _idle_ns(self, gap_cycles: int) -> float:
        """How long the controller waited since its last command: the CPU's gap, or the
        simulated time since then when the CPU did other work in between."""
        idle = gap_cycles * self._mm["period"]
        since = self._cpu_now_ns() - self._ctrl_ns
        return since if since > idle else idle


def writes_back(policies: list[str]) -> bool:
    """Does any chunk hold dirty lines the chip only gets on eviction or clean?"""
    return any(p in (WRITE_BACK, WRITE_BACK_WA) for p in policies)


def uncached_device(policies: list[str]) -> bool:
    return any(p in (DEVICE, STRONGLY_ORDERED) for p in policies)
