"""The board simulator: a unicorn Cortex-M7 plus the STM32H7A3 memory map and peripheral models.

Execution is sliced with `emu_start(count=N)`; every slice ends at the next
timer event so interrupts are delivered on time, and nothing stops the
engine from inside a callback except the few writes that must take effect
at once (see `take_effect_now`). Simulated time is the instruction count at
`cpu_hz` (one instruction per cycle), so runs are reproducible.
"""
from __future__ import annotations

import collections
import ctypes
import logging
import os
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from unicorn import (UC_ARCH_ARM, UC_HOOK_BLOCK, UC_HOOK_INSN_INVALID, UC_HOOK_INTR,
                     UC_HOOK_MEM_UNMAPPED, UC_MODE_THUMB, UC_PROT_ALL, Uc, UcError)
from unicorn import arm_const as A
from unicorn import unicorn_const as UCC

from ..errors import InputError
from . import exceptions as ex
from .exception_frames import CoreRegs, StackingError, pop_frame, push_frame
from .events import Event, EventQueue
from .fault_report import FaultReport
from .mpu import MpuModel
from .peripheral import Peripheral
from .cache_loops import CacheLoopRunner
from .fast_regs import mmio_map_direct, mmio_map_raw
from .scs import (CACHE_OPS, DACCVIOL, DIVBYZERO, HFSR_FORCED, IACCVIOL, IBUSERR, INVSTATE, NOCP,
                  PRECISERR, IMPRECISERR, SCS_BASE, SCS_SIZE, UNALIGNED, UNDEFINSTR, SystemControlSpace)
from .uart_io import UartEndpoint

log = logging.getLogger("h7psram.sim")

BUS_BASE = 0x40000000             # the Armv7-M default map's Peripheral region (DUI0646); blocks from the tree
BUS_SIZE = 0x20000000
PAGE = 0x1000
# offsets in the device-information block (devicetree node device_info): UID, then the flash size
UID_OFFSET, FLASH_SIZE_OFFSET = 0x0, 0xC

MAX_SLICE = 100_000               # bounds the timing error of a slice cut short
MASKED_SLICE = 16                 # bounds the delay of cpsie / BASEPRI changes: firmware that
                                  # reads a timer after unmasking must find the handler has run
HANDLER_SLICE = 4_000             # first slice of an exception handler
CLOCK_SLICE = 2_000               # while the firmware polls a clock register (about 7 us at 280 MHz)
POLL_SLICE = 200_000              # bounds UART input latency when input may arrive
LOOP_WINDOW = 2_000_000           # most instructions of a cache loop run at once (sim/cache_loops.py)
HARDFAULT_SPIN_S = 0.05           # a HardFault handler running this long never returns
TRACE_DEPTH = 32

WFI_T1 = 0xBF30
CPSIE_I = (0xB662, 0xB663)        # cpsie i, cpsie if
MSR_T1 = 0xF380                   # msr <special>, Rn: first halfword (Rn in bits 3:0)
MSR_MASKS = (0x8810, 0x8811, 0x8812, 0x8813)   # second halfword: PRIMASK, BASEPRI, BASEPRI_MAX, FAULTMASK
UNMASK_SCAN = 8                   # instructions looked at for the one that unmasks
WFI_T2 = 0x8003F3AF
DEFAULT_CPU_HZ = 280_000_000
STM32H7A3_IRQS = 160
STM32H7A3_IDCODE = 0x10036480     # DBGMCU_IDCODE seen by the boot trace (DEV_ID 0x480)


@dataclass
class RunResult:
    reason: str              # "stopped" | "max-seconds" | "text" | "died" | "idle" | "max-instructions" | "halted"
    instructions: int
    sim_ns: int
    wall_s: float
    fault: FaultReport | None = None
    pc: int = 0              # where the core was when the run ended


class Machine:
    """One simulated board. See docs/architecture.md "Simulator" for the contract."""

    def __init__(self, board: Any, *, psram_faults: Any = None, uart: str = "none",
                 cpu_hz: int | None = None, uart_name: str | None = None, trace: bool = False,
                 idle_sync: bool | None = None, seed: int = 0) -> None:
        if uart not in ("none", "stdio", "pty"):
            raise InputError(f"simulator: unknown UART mode {uart!r} (none, stdio or pty)")
        self.board = board
        self.psram_faults = psram_faults
        if cpu_hz is not None and cpu_hz <= 0:
            raise InputError(f"simulator: CPU clock {cpu_hz} Hz, must be positive")
        self.cpu_hz = int(cpu_hz or getattr(board, "sysclk_hz", 0) or DEFAULT_CPU_HZ)
        self.seed = seed
        self.trace = trace
        if idle_sync is None:
            # Hold sleep to wall-clock time only when a person may be typing.
            idle_sync = uart == "pty" or (uart == "stdio" and os.isatty(0))
        self.idle_sync = idle_sync
        self._stop = threading.Event()
        self.uart = UartEndpoint(uart)
        self.uart.on_escape = self._stop.set
        self.repl_uart_name = (uart_name or getattr(board, "repl_uart", None) or "USART1").upper()
        self.idcode = STM32H7A3_IDCODE

        self.cycles = 0
        self.instructions = 0
        self.fault_report: FaultReport | None = None
        self.events = EventQueue()
        self.exc = ex.ExceptionState(STM32H7A3_IRQS)
        self.mpu = MpuModel()
        self.peripherals: dict[str, Peripheral] = {}
        self._bus_pages: dict[int, Peripheral] = {}
        self._warned: set[tuple[int, str]] = set()
        self._buffers: dict[int, tuple[bytearray, Any]] = {}
        self._hook_error: BaseException | None = None
        self._in_emu = False
        self._slice_end = 0
        self._clock_read = False
        self._clock_polling = False
        self._early_stop = False
        self._immediate = False
        self._suppress: tuple[int, int, int] | None = None
        self._current_write: tuple[int, int, int] | None = None
        self._reset_request: str | None = None
        self._bus_fault_request: tuple[int, bool, bool] | None = None
        self._unmapped: tuple[int, int] | None = None
        self._sleeping = False
        self._thread: threading.Thread | None = None
        self._hardfault_since: int | None = None
        self._last_fault: dict[str, Any] | None = None
        self._loaded: list[tuple[str, list[tuple[int, int]]]] = []
        self._good_vectors: set[int] = set()
        self._last_slice_pc: int | None = None
        self._ring: collections.deque[int] = collections.deque(maxlen=TRACE_DEPTH)
        self._wall_anchor = time.monotonic()
        self.boot_address = self._flash_base()
        # Debugger seam (sim/gdbstub.py): once debug_halt is set, run() returns "halted";
        # debug_poll runs once per loop turn (GDB's Ctrl-C); catch_faults halts on fault entry.
        self.debug_halt: str | None = None
        self.debug_poll: Callable[[], None] | None = None
        self.catch_faults = False
        # Memory-system seams (sim/memsys.py via the OCTOSPI model): a cache maintenance
        # operation goes to cache_op_hook(op, operand) first (True: it must see every one);
        # slice_end_hooks run after each execution slice (store-buffer drain).
        self.cache_op_hook: Callable[[str, int], bool] | None = None
        self.slice_end_hooks: list[Callable[[], None]] = []

        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
        self.uc.ctl_set_cpu_model(A.UC_CPU_ARM_CORTEX_M7)
        self.regs = CoreRegs(self.uc)
        self._map_memories()
        self.scs = SystemControlSpace(self)
        self._thunks = [mmio_map_raw(self.uc, SCS_BASE, SCS_SIZE, self._scs_read, self._scs_write),
                        mmio_map_raw(self.uc, BUS_BASE, BUS_SIZE, self._bus_read, self._bus_write)]
        self.cache_loops = CacheLoopRunner(self)
        self._window_cap = LOOP_WINDOW
        self.uc.hook_add(UC_HOOK_INTR, self._on_intr)
        self.uc.hook_add(UC_HOOK_INSN_INVALID, self._on_invalid)
        self.uc.hook_add(UC_HOOK_MEM_UNMAPPED, self._on_unmapped)
        if trace:
            # Only on request: a block hook costs a Python call per translated block run.
            self.uc.hook_add(UC_HOOK_BLOCK, self._on_block)
        self._cpu_context = self.uc.context_save()

        from . import soc
        soc.attach_stm32h7a3(self)
        self.reset()

    # ------------------------------------------------------------------ memory map
    def _flash_base(self) -> int:
        for region in getattr(self.board, "regions", []):
            if region.kind == "flash":
                return region.start
        return 0                        # no flash node: the Armv7-M reset value of VTOR

    def _map_memories(self) -> None:
        mapped: list[tuple[int, int]] = []
        self.flash: bytearray | None = None
        for region in sorted(self.board.regions, key=lambda r: (r.start, -r.size)):
            if region.kind == "psram":
                continue                    # the OCTOSPI model maps its window
            start = region.start & ~(PAGE - 1)
            end = (region.start + region.size + PAGE - 1) & ~(PAGE - 1)
            if any(start < e and s < end for s, e in mapped):
                continue                    # a sub-bank of a region already mapped
            if region.kind == "flash":
                self.flash = bytearray(b"\xff" * (end - start))
                self.flash_base = start
                self.map_ram(start, end - start, self.flash)
            else:
                self.uc.mem_map(start, end - start, UC_PROT_ALL)
            mapped.append((start, end))
        self.system_page = bytearray(b"\xff" * PAGE)
        info = next((b for b in getattr(self.board, "mmio", ()) if b.compatible == "st,stm32-device-info"), None)
        if info is None:
            return                          # a tree without the block: no system page
        page = info.base & ~(PAGE - 1)      # the OTP area shares the page
        flash_kib = (len(self.flash) // 1024) if self.flash is not None else 2048
        struct.pack_into("<H", self.system_page, info.base - page + FLASH_SIZE_OFFSET, flash_kib)
        # A fixed, plausible 96-bit unique ID so runs are reproducible.
        struct.pack_into("<3I", self.system_page, info.base - page + UID_OFFSET,
                         0x00300041, 0x31385105, 0x37363437 ^ self.seed)
        self.map_ram(page, PAGE, self.system_page)

    def map_ram(self, base: int, size: int, buffer: bytearray) -> None:
        """Map `buffer` at `base`; the engine reads and writes the bytearray itself (no copies)."""
        if len(buffer) < size:
            raise ValueError(f"map_ram: buffer of {len(buffer)} bytes for {size} bytes at 0x{base:08x}")
        cbuf = (ctypes.c_char * size).from_buffer(buffer)
        self.uc.mem_map_ptr(base, size, UC_PROT_ALL, ctypes.addressof(cbuf))
        self._buffers[base] = (buffer, cbuf)

    def map_mmio(self, base: int, size: int, read_cb: Callable[[int, int], int],
                 write_cb: Callable[[int, int, int], None]) -> None:
        """read_cb(offset, size) -> value; write_cb(offset, size, value); offsets from `base`."""
        def _read(offset, sz):
            try:
                return read_cb(offset, sz)
            except BaseException as err:  # a ctypes callback must not raise
                self._callback_failed(err)
                return 0

        def _write(offset, sz, value):
            try:
                write_cb(offset, sz, value)
            except BaseException as err:
                self._callback_failed(err)

        # keep the ctypes thunks alive as long as the mapping
        self._buffers[base] = (None, mmio_map_direct(self.uc, base, size, _read, _write))

    def unmap(self, base: int, size: int) -> None:
        self.uc.mem_unmap(base, size)
        self._buffers.pop(base, None)

    def read_memory(self, addr: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(addr, size))

    def write_memory(self, addr: int, data: bytes) -> None:
        self.uc.mem_write(addr, bytes(data))

    def read_u32(self, addr: int) -> int:
        return struct.unpack("<I", self.uc.mem_read(addr, 4))[0]

    # ------------------------------------------------------------------ peripherals
    def add_peripheral(self, p: Peripheral) -> None:
        first, last = p.base >> 10, (p.base + p.size - 1) >> 10
        for page in range(first, last + 1):
            old = self._bus_pages.get(page)
            if old is not None and old is not p and not old.placeholder:
                raise ValueError(f"peripheral {p.name} at 0x{p.base:08x} overlaps {old.name}")
        for page in range(first, last + 1):
            old = self._bus_pages.get(page)
            if old is not None and old is not p:
                self.peripherals.pop(old.name, None)
            self._bus_pages[page] = p
        self.peripherals[p.name] = p

    def peripheral(self, name: str) -> Peripheral:
        return self.peripherals[name]

    # The four bus callbacks take unicorn's C arguments (handle, offset, size, [value,] user data)
    # directly: one Python frame per access on the hottest path of MMIO-bound firmware.
    def _bus_read(self, handle: Any, offset: int, size: int, ud: Any = None) -> int:
        addr = BUS_BASE + offset
        try:
            p = self._bus_pages[addr >> 10]
        except KeyError:
            self._unmodelled(addr, size, "read")
            return 0
        try:
            return p.read(addr - p.base, size)
        except BaseException as err:
            self._callback_failed(err)
            return 0

    def _bus_write(self, handle: Any, offset: int, size: int, value: int, ud: Any = None) -> None:
        addr = BUS_BASE + offset
        if self._suppress is not None and self._suppress == (addr, size, value):
            self._suppress = None           # the replayed duplicate of an immediate write
            return
        p = self._bus_pages.get(addr >> 10)
        if p is None:
            self._unmodelled(addr, size, "write")
            return
        self._current_write = (addr, size, value)
        try:
            p.write(addr - p.base, size, value)
        except BaseException as err:
            self._callback_failed(err)
        finally:
            self._current_write = None

    def _scs_read(self, handle: Any, offset: int, size: int, ud: Any = None) -> int:
        try:
            return self.scs.read(offset, size)
        except BaseException as err:
            self._callback_failed(err)
            return 0

    def _scs_write(self, handle: Any, offset: int, size: int, value: int, ud: Any = None) -> None:
        addr = SCS_BASE + offset
        op = CACHE_OPS.get(addr)
        if op is not None:
            # Cache maintenance by address runs once per 32-byte line (millions of writes
            # for a PSRAM memtest): count it before anything else.
            self.scs.cache_ops[op] += 1
            hook = self.cache_op_hook
            if hook is not None and hook(op, value):
                return                      # the D-cache model wants every operation: no shortcut
            if self.cache_loops.note(addr, value) and self._in_emu:
                self._early_stop = True
                self.uc.emu_stop()
            return
        if self._suppress is not None and self._suppress == (addr, size, value):
            self._suppress = None
            return
        self._current_write = (addr, size, value)
        try:
            self.scs.write(offset, size, value)
        except BaseException as err:
            self._callback_failed(err)
        finally:
            self._current_write = None

    def _unmodelled(self, addr: int, size: int, what: str) -> None:
        key = (addr, what)
        if key not in self._warned:
            self._warned.add(key)
            log.warning("unmodelled peripheral %s of %d bytes at 0x%08x (pc 0x%08x)", what, size,
                        addr, self.uc.reg_read(A.UC_ARM_REG_PC))

    @property
    def unmodelled_accesses(self) -> list[tuple[int, str]]:
        return sorted(self._warned)

    def _callback_failed(self, err: BaseException) -> None:
        if self._hook_error is None:
            self._hook_error = err
        if self._in_emu:
            self.uc.emu_stop()

    # ------------------------------------------------------------------ API for models
    def pend_irq(self, irqn: int) -> None:
        exc = ex.IRQ0 + irqn
        newly = exc not in self.exc.pending
        self.exc.pend(exc)
        if newly and exc in self.exc.enabled:
            self.take_effect_now()

    def set_irq_level(self, irqn: int, high: bool) -> None:
        exc = ex.IRQ0 + irqn
        newly = high and exc not in self.exc.pending
        self.exc.set_level(exc, high)
        if newly and exc in self.exc.pending and exc in self.exc.enabled:
            # A register write raised an interrupt: the core takes it after this instruction.
            self.take_effect_now()

    def schedule(self, at_ns: int, callback: Callable[[], None]) -> Event:
        at = -(-int(at_ns) * self.cpu_hz // 1_000_000_000)
        return self.schedule_cycles(at, callback)

    def schedule_cycles(self, at_cycle: int, callback: Callable[[], None]) -> Event:
        if self._in_emu and at_cycle < self._slice_end:
            # A register write started a timer that expires inside the running slice.
            self.take_effect_now()
        return self.events.add(max(at_cycle, self.cycles), callback)

    def after_ns(self, delay_ns: int, callback: Callable[[], None]) -> Event:
        return self.schedule(self.now_ns + delay_ns, callback)

    def note_clock_read(self) -> None:
        """A model returned a time-derived value: it only changes at slice boundaries, so keep
        the following slices short while the firmware polls it (busy-wait delays)."""
        self._clock_read = True

    def stall_cycles(self, cycles: int) -> None:
        """The core waits `cycles` core clocks for the bus (PSRAM traffic): simulated time moves on,
        the instruction count does not."""
        if cycles > 0:
            self.cycles += int(cycles)

    @property
    def dcache_enabled(self) -> bool:
        """SCB CCR.DC (bit 16)."""
        return bool(self.scs.ccr >> 16 & 1)

    @property
    def now_ns(self) -> int:
        return self.cycles * 1_000_000_000 // self.cpu_hz

    def bus_error(self, addr: int, write: bool, *, imprecise: bool = False) -> None:
        """Called from an MMIO callback: the access ends in a BusFault.

        `imprecise`: a buffered write whose error response comes back after the
        store retired (CFSR.IMPRECISERR, no BFAR). The model still enters the
        fault at the store, where a real core would be a few instructions later.
        """
        if self._bus_fault_request is None:
            self._bus_fault_request = (addr, write, imprecise)
        if self._in_emu:
            self._early_stop = True
            self.uc.emu_stop()

    def take_effect_now(self) -> None:
        """An MMIO write just pended an exception: stop so it is taken after this instruction.

        Stopping from a callback makes unicorn restart the instruction, so the
        run loop re-executes it alone with the duplicate write suppressed.
        """
        if self._in_emu and not self._immediate and self._current_write is not None:
            self._immediate = True
            self._early_stop = True
            self._suppress = self._current_write
            self.uc.emu_stop()

    def halt(self, why: str) -> None:
        """Stop the run loop before the next instruction (breakpoint, Ctrl-C, caught fault)."""
        self.debug_halt = why
        if self._in_emu:
            self._early_stop = True
            self.uc.emu_stop()

    def request_system_reset(self, why: str) -> None:
        self._reset_request = why
        if self._in_emu:
            self._early_stop = True
            self.uc.emu_stop()

    def on_mpu_change(self, callback: Callable[[MpuModel], None]) -> None:
        self.mpu.on_change(callback)

    # ------------------------------------------------------------------ loading and reset
    def load_elf(self, path: str) -> None:
        from .elf_loader import load_segments
        segments = load_segments(path)
        self._loaded.append((path, [(a, len(d)) for a, d in segments]))
        for addr, data in segments:
            try:
                self.uc.mem_write(addr, data)
            except UcError:
                raise InputError(f"{path}: segment at 0x{addr:08x} ({len(data)} bytes) is outside "
                                 f"the memories of board {getattr(self.board, 'name', '?')}") from None
        self.reset()

    def check_boot_image(self) -> None:
        """Refuse an image a real core could not start: the vector table at the boot address
        must hold an initial SP inside internal RAM and a Thumb reset address in flash or
        internal RAM (ARMv7-M B1.5.5: reset loads SP from word 0, PC from word 1, and bit 0 of
        the PC must be 1). Erased flash (0xFFFFFFFF) or a wrong link address fails here."""
        base = self.boot_address
        path = next((p for p, segs in reversed(self._loaded)
                     if any(a <= base < a + n for a, n in segs)), None)
        name = path or (self._loaded[-1][0] if self._loaded else "flash")
        if path is None:
            where = "no segment of the ELF covers it"
        else:
            where = "is the ELF linked for this board?"
        sp, pc = self.read_u32(base), self.read_u32(base + 4)
        regions = getattr(self.board, "regions", [])
        ram = [r for r in regions if r.kind in ("itcm", "dtcm", "sram", "backup")]
        code = ram + [r for r in regions if r.kind == "flash"]
        if sp & 3 or not any(r.start < sp <= r.start + r.size for r in ram):
            raise InputError(f"{name}: no vector table at 0x{base:08x}: initial SP 0x{sp:08x} is not "
                             f"in internal RAM ({where})")
        if not pc & 1 or not any(r.start <= (pc & ~1) < r.start + r.size for r in code):
            raise InputError(f"{name}: no vector table at 0x{base:08x}: reset address 0x{pc:08x} is "
                             f"not a Thumb address in flash or RAM ({where})")

    def _handler_usable(self, vector: int) -> bool:
        """A vector a core can branch to: Thumb, and in memory that may hold code (not the XN
        peripheral, device or system regions of the ARMv7-M default map, B3.1) and mapped."""
        if vector in self._good_vectors:
            return True
        addr = vector & ~1
        if not vector & 1 or 0x40000000 <= addr < 0x60000000 or addr >= 0xA0000000:
            return False
        if not any(start <= addr <= end for start, end, _ in self.uc.mem_regions()):
            return False
        self._good_vectors.add(vector)
        return True

    def load_flash_image(self, path: str) -> None:
        """Fill flash from a previous `save_flash_image` (e.g. to keep a filesystem between runs)."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as err:
            raise InputError(f"{path}: cannot read flash image ({err.strerror})") from None
        if self.flash is None or len(data) != len(self.flash):
            raise InputError(f"{path}: flash image of {len(data)} bytes, the board has "
                             f"{0 if self.flash is None else len(self.flash)}")
        self.flash[:] = data

    def save_flash_image(self, path: str) -> None:
        if self.flash is not None:
            with open(path, "wb") as f:
                f.write(self.flash)

    def reset(self) -> None:
        """Power-on style reset of core and peripherals; memory contents are kept."""
        self._system_reset(power_on=True)

    def _system_reset(self, power_on: bool) -> None:
        self.uc.context_restore(self._cpu_context)
        self.events.clear()
        self.exc.reset()
        self.scs.reset()
        self.cache_loops.reset()
        for p in list(self.peripherals.values()):
            if power_on or not getattr(p, "backup_domain", False):
                p.reset()
        rcc = self.peripherals.get("RCC")
        if rcc is not None and hasattr(rcc, "note_reset"):
            rcc.note_reset(software=not power_on)
        self._sleeping = False
        self._hardfault_since = None
        sp = self.read_u32(self.boot_address)
        pc = self.read_u32(self.boot_address + 4)
        self.uc.reg_write(A.UC_ARM_REG_MSP, sp)
        self.uc.reg_write(A.UC_ARM_REG_PC, pc | 1)

    # ------------------------------------------------------------------ hooks
    def _on_block(self, uc, address: int, size: int, ud) -> None:
        self._ring.append(address)

    def _on_unmapped(self, uc, access: int, address: int, size: int, value: int, ud) -> bool:
        self._unmapped = (access, address)
        return False

    def _on_invalid(self, uc, ud) -> bool:
        try:
            pc = uc.reg_read(A.UC_ARM_REG_PC)
            half = struct.unpack("<H", uc.mem_read(pc - 2, 2))[0]
        except UcError:
            return False
        # WFE, YIELD, SEV: hints. WFE may always return early (ARMv7-M B1.5.18).
        return half in (0xBF20, 0xBF10, 0xBF40)

    def _on_intr(self, uc, intno: int, ud) -> None:
        try:
            self._handle_intr(intno)
        except BaseException as err:
            self._callback_failed(err)

    def _handle_intr(self, intno: int) -> None:
        pc = self.regs.pc.read()
        if intno in (3, 8) and pc >= 0xFFFFFF00:
            self._exception_return(pc | 1)
            return
        if intno == 2:                                   # SVC: PC already past it
            self._take_synchronous(ex.SVCALL, pc)
            return
        kinds = {1: (UNDEFINSTR, "UNDEFINSTR"), 17: (NOCP, "NOCP"), 18: (INVSTATE, "INVSTATE"),
                 22: (UNALIGNED, "UNALIGNED"), 23: (DIVBYZERO, "DIVBYZERO")}
        if intno in kinds:
            bits, name = kinds[intno]
            self._fault(ex.USAGEFAULT, bits, f"UsageFault {name}", pc)
        elif intno == 7:
            self._fault(ex.HARDFAULT, 0, "BKPT without a debugger", pc, hfsr=1 << 31)
        elif intno == 3:
            self._fault(ex.BUSFAULT, IBUSERR, "BusFault IBUSERR", pc)
        else:
            self._fault(ex.HARDFAULT, 0, f"unhandled CPU exception {intno}", pc, hfsr=HFSR_FORCED)

    # ------------------------------------------------------------------ exceptions
    def _masks(self) -> tuple[int, int, int]:
        return self.regs.masks.read()

    def _enter(self, exc: int, return_address: int) -> None:
        self.exc.activate(exc)
        try:
            vector = push_frame(self.uc, self.regs, exc, return_address, self.scs.vtor)
        except StackingError as err:
            self._die("lockup", f"{ex.exception_name(exc)} entry failed: {err}")
            return
        if not self._handler_usable(vector):
            # The handler fetch faults; in the HardFault or NMI handler that is a lockup
            # (ARMv7-M B1.5.15), elsewhere it escalates to HardFault.
            cause = f"{ex.exception_name(exc)} vector 0x{vector:08x} is not a usable handler address"
            if exc in (ex.HARDFAULT, ex.NMI):
                first = self._last_fault.get("cause") if self._last_fault else None
                self._die("lockup", f"{first}, then {cause}" if first else cause)
            else:
                self._fault(ex.HARDFAULT, 0, cause, vector & ~1, hfsr=HFSR_FORCED)
            return
        if not self.trace:
            self._ring.append(return_address)

    def _exception_return(self, exc_return: int) -> None:
        exc = self.exc.current
        self.exc.deactivate(exc)
        try:
            pop_frame(self.uc, self.regs, exc_return)
        except StackingError as err:
            self._die("lockup", f"return from {ex.exception_name(exc)} failed: {err}")
            return
        if exc == ex.HARDFAULT:
            self._hardfault_since = None
        self._deliver()                                   # tail-chaining

    def _deliver(self) -> bool:
        if not self.exc.pending:
            return False
        prio = self.exc.execution_priority(*self._masks())
        exc = self.exc.preempting(prio)
        if exc is None:
            return False
        self._sleeping = False
        self._enter(exc, self.regs.pc.read())
        return True

    def _take_synchronous(self, exc: int, return_address: int) -> None:
        prio = self.exc.execution_priority(*self._masks())
        if self.exc.group(self.exc.priority[exc]) >= prio:
            self._fault(ex.HARDFAULT, 0, f"{ex.exception_name(exc)} escalated", return_address,
                        hfsr=HFSR_FORCED)
            return
        self._enter(exc, return_address)

    def _fault(self, kind: int, cfsr_bits: int, cause: str, pc: int, *, bfar: int | None = None,
               mmfar: int | None = None, hfsr: int = 0, address: int | None = None) -> None:
        lr, sp = self.regs.lr_sp.read()
        self._last_fault = dict(cause=cause, pc=pc, lr=lr, sp=sp,
                                address=address if address is not None else (bfar if bfar is not None else mmfar))
        self.scs.record_fault(cfsr_bits, bfar=bfar, mmfar=mmfar, hfsr_bits=hfsr)
        current = self.exc.current
        if current in (ex.HARDFAULT, ex.NMI) or ex.HARDFAULT in self.exc.active and kind == ex.HARDFAULT:
            self._die("lockup", f"{cause} inside the {ex.exception_name(current)} handler")
            return
        target = kind
        if kind != ex.HARDFAULT:
            prio = self.exc.execution_priority(*self._masks())
            if kind not in self.exc.fault_enabled or self.exc.group(self.exc.priority[kind]) >= prio:
                target = ex.HARDFAULT
                self.scs.record_fault(hfsr_bits=HFSR_FORCED)
        if target == ex.HARDFAULT:
            self._hardfault_since = self.cycles
        self._enter(target, pc)
        if self.catch_faults and self.fault_report is None:
            self.halt("fault")

    def _die(self, kind: str, cause: str, handler_pc: int | None = None) -> None:
        if self.fault_report is not None:
            return
        uc = self.uc
        pc, lr, sp = uc.reg_read_batch((A.UC_ARM_REG_PC, A.UC_ARM_REG_LR, A.UC_ARM_REG_SP))
        first = self._last_fault or {}
        self.fault_report = FaultReport(
            kind=kind, cause=first.get("cause", cause) if kind != "lockup" else cause,
            pc=first.get("pc", pc), lr=first.get("lr", lr), sp=first.get("sp", sp),
            fault_address=first.get("address"), cfsr=self.scs.cfsr, hfsr=self.scs.hfsr,
            handler_pc=handler_pc, last_pcs=list(self._ring))
        if self._in_emu:
            uc.emu_stop()

    # ------------------------------------------------------------------ running
    def start(self, **run_kwargs: Any) -> None:
        """Run in a background thread (tests); stop() ends it."""
        self._stop.clear()
        self.result: RunResult | None = None

        def body() -> None:
            self.result = self.run(**run_kwargs)

        self._thread = threading.Thread(target=body, name="h7psram-sim", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> RunResult | None:
        self._stop.set()
        self.uart.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
            return self.result
        return None

    def run(self, *, max_seconds: float | None = None, until_text: str | None = None,
            max_instructions: int | None = None) -> RunResult:
        """Run until stopped, dead, `max_seconds` of simulated time, or `until_text` on the REPL UART."""
        wall0 = time.monotonic()
        self._wall_anchor = wall0 - self.cycles / self.cpu_hz
        end_cycle = None if max_seconds is None else self.cycles + int(max_seconds * self.cpu_hz)
        end_instr = None if max_instructions is None else self.instructions + max_instructions
        text_from = self.uart.output_length()
        input_possible = self.uart.mode != "none" or self._thread is not None or self.debug_poll is not None
        reason = "stopped"
        while True:
            if self.debug_poll is not None:
                self.debug_poll()
            if self.debug_halt is not None:
                reason = "halted"
                break
            if self._stop.is_set():
                reason = "stopped"
                break
            if self.fault_report is not None:
                reason = "died"
                break
            if end_cycle is not None and self.cycles >= end_cycle:
                reason = "max-seconds"
                break
            if end_instr is not None and self.instructions >= end_instr:
                reason = "max-instructions"
                break
            if until_text is not None and self.uart.output_contains(until_text, text_from):
                reason = "text"
                break
            self.events.fire_due(self.cycles)
            for u in self._usarts:
                u.poll()
            delivered = self._deliver()
            if self.fault_report is not None:
                continue
            if self._sleeping:
                if self._wfi_wakes():
                    self._sleeping = False
                    continue
                if not self._idle(end_cycle, input_possible):
                    reason = "idle"
                    break
                continue
            n = MAX_SLICE
            nxt = self.events.next_at()
            if nxt is not None:
                n = min(n, nxt - self.cycles)
            if end_cycle is not None:
                n = min(n, end_cycle - self.cycles)
            if end_instr is not None:
                n = min(n, end_instr - self.instructions)
            if self.exc.pending and self.exc.candidate() is not None:
                # Pending but masked: look again soon, and end the slice right after the
                # instruction that unmasks when it is a few instructions on. Firmware such as
                # MicroPython's DMA wait loops on `cpsid; test; wfi; msr primask`, where a
                # slice of any fixed length keeps ending while masked and the IRQ never runs.
                n = min(n, MASKED_SLICE, self._unmask_distance())
            if self._clock_polling:
                n = min(n, CLOCK_SLICE)
            if delivered:
                # Handlers are short and often end in WFI, whose slice length counts as
                # elapsed time: keep it small so time is not over-counted.
                n = min(n, HANDLER_SLICE)
            if input_possible:
                n = min(n, POLL_SLICE)
            self._window_cap = min([LOOP_WINDOW]
                                   + ([end_cycle - self.cycles] if end_cycle is not None else [])
                                   + ([end_instr - self.instructions] if end_instr is not None else []))
            self._slice(max(n, 1))
        if self._hook_error is not None:
            err, self._hook_error = self._hook_error, None
            raise err
        return RunResult(reason, self.instructions, self.now_ns, time.monotonic() - wall0,
                         self.fault_report, self.uc.reg_read(A.UC_ARM_REG_PC))

    def _wfi_wakes(self) -> bool:
        # WFI wakes on any pending exception that would preempt if PRIMASK were clear.
        _, basepri, faultmask = self._masks()
        prio = self.exc.execution_priority(0, basepri, faultmask)
        return self.exc.preempting(prio) is not None

    def _idle(self, end_cycle: int | None, input_possible: bool) -> bool:
        """Sleeping in WFI: jump to the next event or wait for input. False: nothing can wake it."""
        if ex.HARDFAULT in self.exc.active:
            self._die("hardfault-wfi", "HardFault handler sleeping",
                      handler_pc=self.uc.reg_read(A.UC_ARM_REG_PC))
            return True
        nxt = self.events.next_at()
        if nxt is None and not input_possible:
            return False
        if end_cycle is not None and (nxt is None or nxt > end_cycle):
            nxt = end_cycle
        # Queued input only wakes the core once a UART takes it in; before that
        # (still booting) it must not cut every sleep short.
        receiving = any(u.receiving for u in self._usarts)
        if nxt is None:
            if self.uart.wait_input(0.05, queued_counts=receiving):
                for u in self._usarts:
                    u.poll()
            return True
        if self.idle_sync:
            target = self._wall_anchor + nxt / self.cpu_hz
            delay = target - time.monotonic()
            if delay > 0 and self.uart.wait_input(min(delay, 0.05), queued_counts=receiving):
                # Input arrived: time moves to "now" rather than to the next event.
                now_cycle = int((time.monotonic() - self._wall_anchor) * self.cpu_hz)
                self.cycles = max(self.cycles, min(now_cycle, nxt))
                for u in self._usarts:
                    u.poll()
                return True
            if delay > 0.05:
                return True
        self.cycles = max(self.cycles, nxt)
        return True

    def _slice(self, n: int) -> None:
        uc = self.uc
        pc = self.regs.pc.read()
        if not self.trace:
            self._ring.append(pc)
        self._unmapped = None
        self._current_write = None
        self._early_stop = False
        self._clock_read = False
        self._slice_end = self.cycles + n
        self._in_emu = True
        error: UcError | None = None
        loops = self.cache_loops
        exact: int | None = None
        try:
            if loops.active is not None:
                exact = loops.continue_active(pc & ~1, self._window_cap)
            if exact is None:
                uc.emu_start(pc | 1, 1, 0, n)
            if loops.pending is not None and error is None:
                # a cache maintenance loop stopped the engine: run the rest of it at once
                exact = loops.run_pending(self._window_cap)
                n = max(n // 2, 1) + exact
                self._early_stop = False
                exact = None
        except UcError as err:
            error = err
        finally:
            self._in_emu = False
        self._clock_polling = self._clock_read
        if exact is not None:
            n = exact
        elif self._early_stop or error is not None:
            # unicorn does not say how far a stopped slice got: count half of it, which
            # keeps the expected timing error zero and bounded by MAX_SLICE / 2.
            n = max(n // 2, 1)
        self.cycles += n
        self.instructions += n
        for hook in self.slice_end_hooks:
            hook()
        if self.idle_sync:
            lag = time.monotonic() - self._wall_anchor - self.cycles / self.cpu_hz
            if lag > 0.05:
                self._wall_anchor += lag        # busy: do not let idle time catch up in a burst
        if self._hook_error is not None or self.fault_report is not None:
            return
        if self._reset_request is not None:
            log.info("system reset: %s", self._reset_request)
            self._reset_request = None
            self._system_reset(power_on=False)
            return
        if self._bus_fault_request is not None:
            addr, write, imprecise = self._bus_fault_request
            self._bus_fault_request = None
            fpc = uc.reg_read(A.UC_ARM_REG_PC)
            if imprecise:
                self._fault(ex.BUSFAULT, IMPRECISERR, f"BusFault IMPRECISERR (write to 0x{addr:08x})", fpc,
                            address=addr)
            else:
                self._fault(ex.BUSFAULT, PRECISERR, f"BusFault PRECISERR ({'write' if write else 'read'})",
                            fpc, bfar=addr)
            return
        if self._immediate:
            self._immediate = False
            rpc = uc.reg_read(A.UC_ARM_REG_PC)
            self._in_emu = True
            try:
                uc.emu_start(rpc | 1, 1, 0, 1)
            except UcError as err:
                error = err
            finally:
                self._in_emu = False
                self._suppress = None
            if error is None:
                return
        if error is not None:
            self._on_error(error)
            return
        self._check_wfi_and_spin()

    def _unmask_distance(self) -> int:
        """Instructions up to and including the next `cpsie i` or `msr primask/basepri/
        faultmask, Rn` if the code from the PC runs straight into it within UNMASK_SCAN
        instructions; otherwise MASKED_SLICE. A branch in between only makes the slice end
        where the count runs out, as before."""
        pc = self.regs.pc.read() & ~1
        try:
            halves = struct.unpack(f"<{2 * UNMASK_SCAN}H", self.uc.mem_read(pc, 4 * UNMASK_SCAN))
        except UcError:
            return MASKED_SLICE
        i = 0
        for count in range(1, UNMASK_SCAN + 1):
            if i >= len(halves):
                break
            half = halves[i]
            if half in CPSIE_I:
                return count
            wide = half >> 11 in (0b11101, 0b11110, 0b11111)
            if wide and half & 0xFFF0 == MSR_T1 and i + 1 < len(halves) and halves[i + 1] in MSR_MASKS:
                return count
            i += 2 if wide else 1
        return MASKED_SLICE

    def _check_wfi_and_spin(self) -> None:
        uc = self.uc
        pc = self.regs.pc.read()
        try:
            half = struct.unpack("<H", uc.mem_read(pc - 2, 2))[0]
            word = struct.unpack("<I", uc.mem_read(pc - 4, 4))[0]
        except UcError:
            half = word = 0
        if half == WFI_T1 or word == WFI_T2:
            self._sleeping = True
        if self._hardfault_since is not None and ex.HARDFAULT in self.exc.active:
            spinning = pc == self._last_slice_pc
            if spinning or self.cycles - self._hardfault_since > HARDFAULT_SPIN_S * self.cpu_hz:
                self._die("hardfault-spin", "fault handler never returned", handler_pc=pc)
        self._last_slice_pc = pc

    def _on_error(self, error: UcError) -> None:
        uc = self.uc
        pc = uc.reg_read(A.UC_ARM_REG_PC)
        code = error.errno
        if code in (UCC.UC_ERR_READ_UNMAPPED, UCC.UC_ERR_WRITE_UNMAPPED):
            addr = self._unmapped[1] if self._unmapped else None
            what = "write" if code == UCC.UC_ERR_WRITE_UNMAPPED else "read"
            self._fault(ex.BUSFAULT, PRECISERR, f"BusFault PRECISERR: {what} of unmapped 0x{addr or 0:08x}",
                        pc, bfar=addr)
        elif code == UCC.UC_ERR_FETCH_UNMAPPED:
            self._fault(ex.BUSFAULT, IBUSERR, f"BusFault IBUSERR: fetch from unmapped 0x{pc:08x}", pc,
                        address=pc)
        elif code == UCC.UC_ERR_FETCH_PROT:
            self._fault(ex.MEMMANAGE, IACCVIOL, f"MemManage IACCVIOL: execute-never at 0x{pc:08x}", pc,
                        address=pc)
        elif code in (UCC.UC_ERR_READ_PROT, UCC.UC_ERR_WRITE_PROT):
            addr = self._unmapped[1] if self._unmapped else None
            self._fault(ex.MEMMANAGE, DACCVIOL, "MemManage DACCVIOL", pc, mmfar=addr)
        elif code == UCC.UC_ERR_INSN_INVALID:
            log.debug("invalid instruction error at pc 0x%08x", pc)
            self._fault(ex.USAGEFAULT, UNDEFINSTR, "UsageFault UNDEFINSTR", pc)
        else:
            self._fault(ex.HARDFAULT, 0, f"CPU error: {error}", pc, hfsr=HFSR_FORCED)

    # ------------------------------------------------------------------ introspection
    @property
    def gpio(self):
        """The GPIO ports A..K (`GpioPorts`): modes, alternate functions, input levels."""
        return self._gpio

    def register(self, name: str) -> int:
        return self.uc.reg_read(getattr(A, f"UC_ARM_REG_{name.upper()}"))

    def close(self) -> None:
        self.uart.close()
