"""System Control Space (0xE0000000..0xE00FFFFF): SCB, NVIC, SysTick, MPU, FPU, caches, DWT.

unicorn maps none of it (see the unicorn notes), so the whole private
peripheral bus is one MMIO region served here. Register addresses are those
of CMSIS core_cm7.h (SCB_Type, NVIC_Type, SysTick_Type, MPU_Type, DWT_Type);
identification values are those of a Cortex-M7 r1p2 (CPUID 0x411FC272) with
16 KiB 4-way D-cache and 16 KiB 2-way I-cache of 32-byte lines, as on the
STM32H7A3.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from . import exceptions as ex
from .mpu import MpuModel

if TYPE_CHECKING:  # pragma: no cover
    from .machine import Machine

log = logging.getLogger("h7psram.sim")

SCS_BASE = 0xE0000000
SCS_SIZE = 0x00100000

CPUID = 0x411FC272
CLIDR = 0x09000003          # L1 I+D, LoUU = LoC = 1
CTR = 0x8303C003            # 8-word lines for both caches
CCSIDR_D = 0xF00FE019       # 128 sets, 4 ways, 32-byte lines, WT/WB/RA/WA
CCSIDR_I = 0xF01FE009       # 256 sets, 2 ways, 32-byte lines
MVFR = (0x10110221, 0x11000011, 0x00000040)   # single + double precision FPU

CACHE_OPS = {0xE000EF50: "ICIALLU", 0xE000EF58: "ICIMVAU", 0xE000EF5C: "DCIMVAC",
             0xE000EF60: "DCISW", 0xE000EF64: "DCCMVAU", 0xE000EF68: "DCCMVAC", 0xE000EF6C: "DCCSW",
             0xE000EF70: "DCCIMVAC", 0xE000EF74: "DCCISW", 0xE000EF78: "BPIALL"}

# CFSR bits (ARMv7-M B3.2.15)
IACCVIOL, DACCVIOL, MMARVALID = 1 << 0, 1 << 1, 1 << 7
IBUSERR, PRECISERR, STKERR, UNSTKERR, BFARVALID = 1 << 8, 1 << 9, 1 << 12, 1 << 11, 1 << 15
IMPRECISERR = 1 << 10
UNDEFINSTR, INVSTATE, INVPC, NOCP, UNALIGNED, DIVBYZERO = (1 << 16, 1 << 17, 1 << 18, 1 << 19,
                                                          1 << 24, 1 << 25)
HFSR_VECTTBL, HFSR_FORCED = 1 << 1, 1 << 30


class SysTick:
    """24-bit down-counter clocked by the core (CLKSOURCE=1) or HCLK/8 (STM32 external reference)."""

    def __init__(self, machine: "Machine") -> None:
        self.m = machine
        self._event = None
        self.reset()

    def reset(self) -> None:
        if self._event is not None:
            self._event.cancel()
        self._event = None
        self.csr = 0
        self.rvr = 0
        self.cvr = 0
        self.anchor = 0     # cycle at which the counter held RVR

    def _div(self) -> int:
        return 1 if self.csr & 4 else 8

    def _running(self) -> bool:
        return bool(self.csr & 1) and self.rvr > 0

    def current(self) -> int:
        if not self._running():
            return self.cvr
        m = self.m
        m.note_clock_read()
        if m._in_emu and self._event is not None and self._event.at <= m._slice_end:
            # Time stands still inside a slice, and this slice ends where the counter wraps.
            # The read happens somewhere in it; taking it at the end keeps what firmware
            # relies on when it reads VAL and then CTRL a few cycles apart with interrupts
            # off (MicroPython's ticks_us): COUNTFLAG set by the second read means VAL was
            # read near zero. Read at the slice start instead, VAL could be thousands of
            # counts before the wrap that the next slice's CTRL read then reports, and
            # ticks_us jumped a millisecond ahead and back. Having said 0, the wrap must not
            # come later than this slice's end, also when the slice stops early.
            if self._keep_promise not in m.slice_end_hooks:
                m.slice_end_hooks.append(self._keep_promise)
            return 0
        elapsed = (m.cycles - self.anchor) // self._div()
        return self.rvr - (elapsed % (self.rvr + 1))

    def _keep_promise(self) -> None:
        """After a slice in which VAL read 0: a slice that stopped early (unicorn does not say
        where, so it is counted as half) is counted up to the wrap instead, so that time never
        reads earlier than the 0 already returned (ticks_us went backwards by up to 1 ms)."""
        m = self.m
        m.slice_end_hooks.remove(self._keep_promise)
        if self._event is not None and self._event.at > m.cycles:
            m.cycles = self._event.at

    def _restart(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None
        if self._running():
            self.anchor = self.m.cycles
            self._schedule(self.anchor + self.rvr * self._div())

    def _schedule(self, at: int) -> None:
        self._event = self.m.schedule_cycles(at, self._wrap)

    def _wrap(self) -> None:
        # The counter reached zero: flag, exception, reload.
        self.csr |= 1 << 16
        if self.csr & 2:
            self.m.exc.pend(ex.SYSTICK)
        period = (self.rvr + 1) * self._div()
        # Reloaded at once: the exception entry that follows takes no simulated time, so
        # code running after the handler at this same cycle must see the new period
        # starting (VAL = RVR), not a zero that would put ticks_us a millisecond ahead.
        self.anchor = self.m.cycles
        self._schedule(self.m.cycles + period)

    def read(self, off: int) -> int:
        if off == 0x0:
            value = self.csr
            self.csr &= ~(1 << 16)          # COUNTFLAG clears on read
            return value
        if off == 0x4:
            return self.rvr
        if off == 0x8:
            return self.current()
        return 0                              # CALIB: no reference information

    def write(self, off: int, value: int) -> None:
        if off == 0x0:
            was_running = self._running()
            old_source = self.csr & 4
            if was_running:
                self.cvr = self.current()
            self.csr = (self.csr & (1 << 16)) | (value & 0x7)
            if self._running() and (not was_running or old_source != self.csr & 4):
                self._restart()
            elif not self._running() and self._event is not None:
                self._event.cancel()
                self._event = None
        elif off == 0x4:
            self.rvr = value & 0xFFFFFF
        elif off == 0x8:
            self.cvr = 0
            self.csr &= ~(1 << 16)
            self._restart()


class SystemControlSpace:
    name = "SCS"

    def __init__(self, machine: "Machine") -> None:
        self.m = machine
        self.exc: ex.ExceptionState = machine.exc
        self.mpu: MpuModel = machine.mpu
        self.systick = SysTick(machine)
        self.cache_ops: dict[str, int] = {name: 0 for name in CACHE_OPS.values()}
        self._warned: set[int] = set()
        self.reset()

    def reset(self) -> None:
        self.systick.reset()
        self.mpu.reset()
        self.vtor = self.m.boot_address
        self.scr = 0
        self.ccr = 0x00040200        # BP and STKALIGN set out of reset on Cortex-M7
        self.cfsr = 0
        self.hfsr = 0
        self.mmfar = 0
        self.bfar = 0
        self.cpacr = 0
        self.csselr = 0
        self.fpccr = 0xC0000000      # ASPEN | LSPEN
        self.fpcar = 0
        self.fpdscr = 0
        self.demcr = 0
        self.dwt_ctrl = 0x40000000   # NUMCOMP = 4
        self.cyccnt_base = 0
        self.cyccnt_value = 0
        self.store: dict[int, int] = {}   # ACTLR, TCM control and other plain registers

    # -- fault status, set by the core ------------------------------------------------
    def record_fault(self, cfsr_bits: int = 0, bfar: int | None = None, mmfar: int | None = None,
                     hfsr_bits: int = 0) -> None:
        self.cfsr |= cfsr_bits
        self.hfsr |= hfsr_bits
        if bfar is not None:
            self.bfar = bfar & 0xFFFFFFFF
            self.cfsr |= BFARVALID
        if mmfar is not None:
            self.mmfar = mmfar & 0xFFFFFFFF
            self.cfsr |= MMARVALID

    # -- bus interface ----------------------------------------------------------------------
    def read(self, offset: int, size: int) -> int:
        addr = SCS_BASE + offset
        if 0xE000E400 <= addr < 0xE000E400 + self.exc.num_irqs or 0xE000ED18 <= addr < 0xE000ED24:
            return self._read_bytes(addr, size)
        word = addr & ~3
        value = self._read_word(word)
        shift = (addr & 3) * 8
        return (value >> shift) & ((1 << (size * 8)) - 1)

    def write(self, offset: int, size: int, value: int) -> None:
        addr = SCS_BASE + offset
        if 0xE000E400 <= addr < 0xE000E400 + self.exc.num_irqs or 0xE000ED18 <= addr < 0xE000ED24:
            self._write_bytes(addr, size, value)
            return
        if size != 4:
            shift = (addr & 3) * 8
            value = (value << shift) & 0xFFFFFFFF
        self._write_word(addr & ~3, value)

    # byte-addressable priority registers (NVIC_IPR, SHPR1..3)
    def _prio_exc(self, addr: int) -> int:
        if addr >= 0xE000ED18 and addr < 0xE000ED24:
            return 4 + (addr - 0xE000ED18)
        return ex.IRQ0 + (addr - 0xE000E400)

    def _read_bytes(self, addr: int, size: int) -> int:
        value = 0
        for i in range(size):
            exc = self._prio_exc(addr + i)
            prio = self.exc.priority[exc] if exc < len(self.exc.priority) else 0
            value |= (max(prio, 0) & 0xFF) << (8 * i)
        return value

    def _write_bytes(self, addr: int, size: int, value: int) -> None:
        for i in range(size):
            exc = self._prio_exc(addr + i)
            if exc in ex.CONFIGURABLE_SYSTEM or exc >= ex.IRQ0:
                self.exc.set_priority(exc, (value >> (8 * i)) & 0xFF)

    def _irq_bits(self, index: int, members) -> int:
        bits = 0
        for i in range(32):
            if ex.IRQ0 + index * 32 + i in members:
                bits |= 1 << i
        return bits

    def _each_irq(self, index: int, value: int):
        for i in range(32):
            if value >> i & 1:
                exc = ex.IRQ0 + index * 32 + i
                if exc - ex.IRQ0 < self.exc.num_irqs:
                    yield exc

    def _read_word(self, addr: int) -> int:
        e = self.exc
        if 0xE000E010 <= addr < 0xE000E020:
            return self.systick.read(addr - 0xE000E010)
        if 0xE000E100 <= addr < 0xE000E400:
            group, index = divmod(addr - 0xE000E100, 0x80)
            index //= 4
            if index >= 16:
                return 0
            if group == 0 or group == 1:
                return self._irq_bits(index, e.enabled)
            if group == 2 or group == 3:
                return self._irq_bits(index, e.pending)
            if group == 4:
                return self._irq_bits(index, e.active)
            return 0
        if addr == 0xE000E004:
            return (e.num_irqs + 31) // 32 - 1
        if addr == 0xE000ED00:
            return CPUID
        if addr == 0xE000ED04:
            return self._icsr()
        if addr == 0xE000ED08:
            return self.vtor
        if addr == 0xE000ED0C:
            return 0xFA050000 | (e.prigroup << 8)
        if addr == 0xE000ED10:
            return self.scr
        if addr == 0xE000ED14:
            return self.ccr
        if addr == 0xE000ED24:
            return self._shcsr()
        if addr == 0xE000ED28:
            return self.cfsr
        if addr == 0xE000ED2C:
            return self.hfsr
        if addr == 0xE000ED34:
            return self.mmfar
        if addr == 0xE000ED38:
            return self.bfar
        if addr == 0xE000ED78:
            return CLIDR
        if addr == 0xE000ED7C:
            return CTR
        if addr == 0xE000ED80:
            return CCSIDR_I if self.csselr & 1 else CCSIDR_D
        if addr == 0xE000ED84:
            return self.csselr
        if addr == 0xE000ED88:
            return self.cpacr
        if 0xE000ED90 <= addr < 0xE000EDBC:
            return self.mpu.read(addr - 0xE000ED90)
        if addr == 0xE000EDFC:
            return self.demcr
        if addr == 0xE000EF34:
            return self.fpccr
        if addr == 0xE000EF38:
            return self.fpcar
        if addr == 0xE000EF3C:
            return self.fpdscr
        if 0xE000EF40 <= addr <= 0xE000EF48:
            return MVFR[(addr - 0xE000EF40) // 4]
        if addr == 0xE000EF9C:
            return self.mpu.cacr
        if addr in CACHE_OPS or addr == 0xE000EF00:
            return 0                     # write-only
        if addr == 0xE0001000:
            return self.dwt_ctrl
        if addr == 0xE0001004:
            return self._cyccnt()
        if addr == 0xE00E1000:
            return self.m.idcode
        if addr in self.store:
            return self.store[addr]
        if addr in (0xE000E008, 0xE000EF90, 0xE000EF94, 0xE000EF98, 0xE000EFA0, 0xE000EFA8,
                    0xE0001FB0, 0xE000ED30, 0xE000ED3C):
            return 0
        self._unknown(addr, "read")
        return 0

    def _write_word(self, addr: int, value: int) -> None:
        e = self.exc
        if 0xE000E010 <= addr < 0xE000E020:
            self.systick.write(addr - 0xE000E010, value)
            return
        if 0xE000E100 <= addr < 0xE000E300:
            group, index = divmod(addr - 0xE000E100, 0x80)
            index //= 4
            if index >= 16:
                return
            for exc in self._each_irq(index, value):
                if group == 0:
                    e.enabled.add(exc)
                elif group == 1:
                    e.enabled.discard(exc)
                elif group == 2:
                    e.pend(exc)
                else:
                    e.unpend(exc)
            if group in (0, 2) and value:
                self.m.take_effect_now()
            return
        if addr == 0xE000EF00:           # STIR
            e.pend(ex.IRQ0 + (value & 0x1FF))
            self.m.take_effect_now()
            return
        if addr == 0xE000ED04:
            self._write_icsr(value)
            return
        if addr == 0xE000ED08:
            self.vtor = value & 0xFFFFFF80
        elif addr == 0xE000ED0C:
            if value >> 16 == 0x05FA:
                e.prigroup = (value >> 8) & 7
                if value & 0x4:
                    self.m.request_system_reset("AIRCR.SYSRESETREQ")
        elif addr == 0xE000ED10:
            self.scr = value & 0x16
        elif addr == 0xE000ED14:
            old, self.ccr = self.ccr, value & 0x00070F1B
            if (old ^ self.ccr) >> 16 & 1:
                self.mpu._changed()      # CCR.DC changes what is cached: the same listeners as the MPU
        elif addr == 0xE000ED24:
            e.fault_enabled = {exc for bit, exc in ((16, ex.MEMMANAGE), (17, ex.BUSFAULT),
                                                    (18, ex.USAGEFAULT)) if value >> bit & 1}
        elif addr == 0xE000ED28:
            self.cfsr &= ~value
        elif addr == 0xE000ED2C:
            self.hfsr &= ~value
        elif addr == 0xE000ED34:
            self.mmfar = value
        elif addr == 0xE000ED38:
            self.bfar = value
        elif addr == 0xE000ED84:
            self.csselr = value & 0xF
        elif addr == 0xE000ED88:
            self.cpacr = value & 0x00F00000
        elif 0xE000ED90 <= addr < 0xE000EDBC:
            self.mpu.write(addr - 0xE000ED90, value)
        elif addr == 0xE000EDFC:
            self.demcr = value
        elif addr == 0xE000EF34:
            self.fpccr = value
        elif addr == 0xE000EF38:
            self.fpcar = value & ~7
        elif addr == 0xE000EF3C:
            self.fpdscr = value
        elif addr == 0xE000EF9C:
            self.mpu.cacr = value & 0x7
            self.mpu._changed()
        elif addr in CACHE_OPS:
            # Counted here; the D-cache model of the PSRAM window gets them through
            # Machine.cache_op_hook (sim/memsys.py), other memories have no cache model.
            self.cache_ops[CACHE_OPS[addr]] += 1
        elif addr == 0xE0001000:
            if value & 1 and not self.dwt_ctrl & 1:
                self.cyccnt_base = self.m.cycles - self.cyccnt_value
            elif not value & 1 and self.dwt_ctrl & 1:
                self.cyccnt_value = self._cyccnt()
            self.dwt_ctrl = (self.dwt_ctrl & 0xF0000000) | (value & 0x0FFFFFFF)
        elif addr == 0xE0001004:
            self.cyccnt_value = value
            self.cyccnt_base = self.m.cycles - value
        elif addr in (0xE000E008, 0xE000EF90, 0xE000EF94, 0xE000EF98, 0xE000EFA0, 0xE000EFA8,
                      0xE0001FB0, 0xE000ED3C, 0xE000ED30):
            self.store[addr] = value
        else:
            self._unknown(addr, "write")

    def _cyccnt(self) -> int:
        if self.dwt_ctrl & 1:
            self.m.note_clock_read()
            return (self.m.cycles - self.cyccnt_base) & 0xFFFFFFFF
        return self.cyccnt_value

    def _icsr(self) -> int:
        e = self.exc
        value = e.current & 0x1FF
        if len(e.active) <= 1:
            value |= 1 << 11                          # RETTOBASE
        cand = e.candidate()
        if cand is not None:
            value |= (cand & 0x1FF) << 12
        if any(x >= ex.IRQ0 for x in e.pending):
            value |= 1 << 22
        if ex.SYSTICK in e.pending:
            value |= 1 << 26
        if ex.PENDSV in e.pending:
            value |= 1 << 28
        if ex.NMI in e.pending:
            value |= 1 << 31
        return value

    def _write_icsr(self, value: int) -> None:
        e = self.exc
        if value & (1 << 27):
            e.unpend(ex.PENDSV)
        if value & (1 << 25):
            e.unpend(ex.SYSTICK)
        now = False
        for bit, exc in ((31, ex.NMI), (28, ex.PENDSV), (26, ex.SYSTICK)):
            if value >> bit & 1:
                e.pend(exc)
                now = True
        if now:
            self.m.take_effect_now()

    def _shcsr(self) -> int:
        e = self.exc
        value = 0
        for bit, exc in ((0, ex.MEMMANAGE), (1, ex.BUSFAULT), (3, ex.USAGEFAULT), (7, ex.SVCALL),
                         (8, ex.DEBUGMON), (10, ex.PENDSV), (11, ex.SYSTICK)):
            if exc in e.active:
                value |= 1 << bit
        for bit, exc in ((12, ex.USAGEFAULT), (13, ex.MEMMANAGE), (14, ex.BUSFAULT), (15, ex.SVCALL)):
            if exc in e.pending:
                value |= 1 << bit
        for bit, exc in ((16, ex.MEMMANAGE), (17, ex.BUSFAULT), (18, ex.USAGEFAULT)):
            if exc in e.fault_enabled:
                value |= 1 << bit
        return value

    def _unknown(self, addr: int, what: str) -> None:
        if addr not in self._warned:
            self._warned.add(addr)
            log.warning("unmodelled SCS %s at 0x%08x", what, addr)
