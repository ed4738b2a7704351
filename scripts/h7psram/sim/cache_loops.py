"""Cache maintenance loops by address, run at engine speed.

CMSIS' `SCB_CleanInvalidateDCache_by_Addr` (and its clean / invalidate
siblings) write one SCB register per 32-byte line. The model treats cache
maintenance as a counted no-op, but each write is still a Python call from
the engine: the board's boot memtest cleans the whole 8 MiB PSRAM window 22
times, 5.8 million writes, most of a MicroPython boot's wall time.

When such a write comes in a run of consecutive lines from one loop, the
loop is decoded (a short straight-line body of register-only instructions,
one store with a fixed base register, one backward branch). If it has that
shape, the 1 KiB page holding the cache registers (0xE000EC00) is swapped for
plain RAM and the loop runs inside unicorn up to its exit or the next timer
event, whichever comes first; then the page is served by the model again.
Nothing else can touch the page meanwhile: the body's only memory access is
that store, and exceptions are only taken between slices. When an interrupt
cut the loop short, the next slice that starts inside it continues it the
same way. Executed instructions are counted exactly from the decoded body and
the number of lines written, so simulated time is what it would have been
without the shortcut (only the slice that first noticed the loop is
estimated, as for any slice stopped early).
"""
from __future__ import annotations

import ctypes
import logging
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from unicorn import UC_PROT_ALL, UcError

from .fast_regs import mmio_map_raw
from .scs import CACHE_OPS

if TYPE_CHECKING:  # pragma: no cover
    from .machine import Machine

log = logging.getLogger("h7psram.sim")

PAGE_BASE = 0xE000EC00
PAGE_SIZE = 0x400
LINE = 32
RUN_TO_SKIP = 16          # consecutive lines from one loop before it is taken over
MAX_BODY_HALFWORDS = 16   # loops longer than this are left alone
BY_ADDRESS = {a for a, name in CACHE_OPS.items() if name.endswith(("MVAC", "MVAU"))}


@dataclass(frozen=True)
class LoopShape:
    start: int           # branch target: first instruction of the body
    store: int           # the store that writes the cache register
    branch: int          # the backward branch
    exit: int            # first instruction after the loop
    addrs: tuple[int, ...]   # every instruction of the body, `start` .. `branch`

    @property
    def body(self) -> int:
        """Instructions per iteration."""
        return len(self.addrs)

    def to_branch(self, pc: int) -> int:
        """Instructions from `pc` to the closing branch, both included."""
        return sum(1 for a in self.addrs if a >= pc)

    def contains(self, pc: int) -> bool:
        return self.start <= pc <= self.branch


def _is_32bit(hw: int) -> bool:
    return hw >> 11 in (0b11101, 0b11110, 0b11111)


def _sext(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def _branch_target(addr: int, hw1: int, hw2: int | None) -> int | None:
    """Target of a B / B<cond> at `addr` (Thumb), else None."""
    if hw2 is None:
        if hw1 & 0xF000 == 0xD000 and (hw1 >> 8) & 0xF < 0xE:
            return addr + 4 + _sext(hw1 & 0xFF, 8) * 2
        if hw1 & 0xF800 == 0xE000:
            return addr + 4 + _sext(hw1 & 0x7FF, 11) * 2
        return None
    if hw1 & 0xF800 != 0xF000:
        return None
    s = hw1 >> 10 & 1
    j1, j2 = hw2 >> 13 & 1, hw2 >> 11 & 1
    if hw2 & 0xD000 == 0x8000 and (hw1 >> 6) & 0xF < 0xE:          # B<cond>.W (T3)
        imm = s << 20 | j2 << 19 | j1 << 18 | (hw1 & 0x3F) << 12 | (hw2 & 0x7FF) << 1
        return addr + 4 + _sext(imm, 21)
    if hw2 & 0xD000 == 0x9000:                                       # B.W (T4)
        i1, i2 = 1 - (j1 ^ s), 1 - (j2 ^ s)
        imm = s << 24 | i1 << 23 | i2 << 22 | (hw1 & 0x3FF) << 12 | (hw2 & 0x7FF) << 1
        return addr + 4 + _sext(imm, 25)
    return None


def _store_base(hw1: int, hw2: int | None) -> int | None:
    """Base register of a STR with an immediate offset and no writeback, else None."""
    if hw2 is None:
        return (hw1 >> 3) & 7 if hw1 & 0xF800 == 0x6000 else None   # STR Rt, [Rn, #imm5]
    if hw1 & 0xFFF0 == 0xF8C0:                                       # STR.W Rt, [Rn, #imm12]
        return hw1 & 0xF
    return None


def _register_only_dest(hw1: int, hw2: int | None) -> int | None:
    """Destination register of an instruction that touches no memory and no PC.

    -1 for instructions without a destination (barriers, NOP); None when the
    instruction is anything else (loads, stores, branches, IT, ...).
    """
    if hw2 is None:
        if hw1 >> 14 == 0:                                           # shifts, add/sub, mov/cmp imm8
            return (hw1 >> 8) & 7 if hw1 >> 13 == 1 else hw1 & 7
        if hw1 >> 10 == 0b010000:                                    # ALU on low registers
            return hw1 & 7
        if hw1 >> 10 == 0b010001 and hw1 & 0xFF00 != 0x4700:         # ADD/CMP/MOV high registers
            rd = (hw1 >> 4) & 8 | hw1 & 7
            return None if rd == 15 else rd
        if hw1 == 0xBF00:                                            # NOP
            return -1
        return None
    if hw1 == 0xF3BF and hw2 & 0xFFF0 in (0x8F40, 0x8F50, 0x8F60):   # DSB / DMB / ISB
        return -1
    if (hw1 & 0xFA00 in (0xF000, 0xF200) and not hw2 & 0x8000) or hw1 & 0xFE00 == 0xEA00:
        rd = (hw2 >> 8) & 0xF                                        # data processing (imm / reg)
        return None if rd in (13, 15) and not (hw1 >> 4 & 1) else rd
    return None


def decode_loop(read_halfword, store_pc: int) -> LoopShape | None:
    """The loop around the store at `store_pc`, if it has the shape described above."""
    hw1 = read_halfword(store_pc)
    hw2 = read_halfword(store_pc + 2) if _is_32bit(hw1) else None
    base = _store_base(hw1, hw2)
    if base is None:
        return None
    # find the backward branch that closes the loop
    addr = store_pc
    branch = target = None
    while addr < store_pc + 2 * MAX_BODY_HALFWORDS:
        a1 = read_halfword(addr)
        a2 = read_halfword(addr + 2) if _is_32bit(a1) else None
        t = _branch_target(addr, a1, a2)
        if t is not None:
            branch, target = addr, t
            break
        addr += 4 if a2 is not None else 2
    if branch is None or target is None or not store_pc - 2 * MAX_BODY_HALFWORDS <= target <= store_pc:
        return None
    size = 4 if _is_32bit(read_halfword(branch)) else 2
    # every other instruction of the body must be register-only and leave the base alone
    addr, addrs = target, []
    while addr < branch:
        a1 = read_halfword(addr)
        a2 = read_halfword(addr + 2) if _is_32bit(a1) else None
        addrs.append(addr)
        if addr != store_pc:
            rd = _register_only_dest(a1, a2)
            if rd is None or rd == base:
                return None
        addr += 4 if a2 is not None else 2
    if addr != branch or store_pc not in addrs:
        return None                        # the store is not on an instruction boundary we walked
    return LoopShape(start=target, store=store_pc, branch=branch, exit=branch + size,
                     addrs=tuple(addrs) + (branch,))


class CacheLoopRunner:
    """Watches cache maintenance writes and takes over the loops that make them."""

    def __init__(self, machine: "Machine") -> None:
        self.m = machine
        self.enabled = True
        self.loops_run = 0                 # windows run at engine speed
        self.lines_skipped = 0             # cache lines maintained inside them
        self._last: tuple[int, int] = (0, 0)
        self._run = 0
        self.pending: tuple[int, int] | None = None     # (register, value) of the write that stopped the engine
        self.active: LoopShape | None = None            # a loop an interrupt cut short
        self._active_reg = 0
        self._active_value = 0
        self._ram = bytearray(PAGE_SIZE)
        self._ram_c = (ctypes.c_char * PAGE_SIZE).from_buffer(self._ram)
        self._page_thunks: Any = None
        self._declined: set[int] = set()
        # The cache registers' page gets a mapping of its own so it can be swapped alone.
        machine.uc.mem_unmap(PAGE_BASE, PAGE_SIZE)
        self._map_model()

    def _map_model(self) -> None:
        m, delta = self.m, PAGE_BASE - 0xE0000000
        self._page_thunks = mmio_map_raw(
            m.uc, PAGE_BASE, PAGE_SIZE,
            lambda h, off, sz, ud: m._scs_read(h, off + delta, sz, ud),
            lambda h, off, sz, value, ud: m._scs_write(h, off + delta, sz, value, ud))

    def reset(self) -> None:
        self._last, self._run, self.pending, self.active = (0, 0), 0, None, None

    def note(self, addr: int, value: int) -> bool:
        """A cache maintenance write; True when the engine should stop so the loop can be taken over."""
        last_addr, last_value = self._last
        self._run = self._run + 1 if addr == last_addr and value == last_value + LINE else 0
        self._last = (addr, value)
        if self.active is not None:
            # the model sees the loop's writes again (an interrupt handler returned into it
            # within a slice): take it over again at once if it is the same run of lines
            if addr == self._active_reg and value == self._active_value + LINE:
                self._run = RUN_TO_SKIP
            self.active = None
        if self.enabled and self._run >= RUN_TO_SKIP and addr in BY_ADDRESS:
            if self.m.regs.pc.read() & ~1 in self._declined:
                self._run = 0
                return False
            self.pending = (addr, value)
            return True
        return False

    def _budget(self, limit: int) -> int:
        nxt = self.m.events.next_at()
        return limit if nxt is None else min(limit, nxt - self.m.cycles)

    def run_pending(self, limit: int) -> int:
        """Take over the loop whose write stopped the engine; returns the instructions it ran."""
        addr, value = self.pending or (0, 0)
        self.pending = None
        self._run = 0
        # unicorn re-runs the store that stopped it: the model must not count that write twice
        self.m.scs.cache_ops[CACHE_OPS[addr]] -= 1
        uc = self.m.uc
        pc = self.m.regs.pc.read() & ~1
        if pc in self._declined:
            return 0
        shape = decode_loop(lambda a: struct.unpack("<H", uc.mem_read(a, 2))[0], pc)
        if shape is None:
            self._declined.add(pc)
            self.enabled = len(self._declined) < 64
            log.info("cache loop at 0x%08x not taken over (shape not recognised)", pc)
            return 0
        return self._window(shape, pc, addr, value - LINE, self._budget(limit))

    def continue_active(self, pc: int, limit: int) -> int | None:
        """Continue a loop cut short by an interrupt when a slice starts inside it; None otherwise."""
        shape = self.active
        if shape is None or not shape.contains(pc):
            return None
        return self._window(shape, pc, self._active_reg, self._active_value, self._budget(limit))

    def _window(self, shape: LoopShape, pc: int, reg: int, before: int, budget: int) -> int:
        self.active = None
        if budget <= 0:
            return 0
        m, uc = self.m, self.m.uc
        word = reg - PAGE_BASE
        struct.pack_into("<I", self._ram, word, before)
        uc.mem_unmap(PAGE_BASE, PAGE_SIZE)
        uc.mem_map_ptr(PAGE_BASE, PAGE_SIZE, UC_PROT_ALL, ctypes.addressof(self._ram_c))
        # unicorn checks the `until` address when it translates a block: drop the cached
        # block at the exit before the window (so it stops there) and after it (so later
        # runs do not)
        uc.ctl_remove_cache(shape.exit, shape.exit + 2)
        error: UcError | None = None
        try:
            uc.emu_start(pc | 1, shape.exit, 0, budget)
        except UcError as err:
            error = err
        finally:
            uc.ctl_remove_cache(shape.exit, shape.exit + 2)
            uc.mem_unmap(PAGE_BASE, PAGE_SIZE)
            self._map_model()
        if error is not None:
            raise error
        last = struct.unpack_from("<I", self._ram, word)[0]
        stores = (last - before) // LINE
        if (last - before) % LINE or not 0 <= stores <= budget:
            log.warning("cache loop at 0x%08x wrote 0x%08x after 0x%08x: line count unknown", pc, last, before)
            stores = 0
        end = m.regs.pc.read() & ~1
        if end == shape.exit:
            full = stores - (1 if pc <= shape.store else 0)
            executed = min(shape.to_branch(pc) + max(full, 0) * shape.body, budget)
        else:
            executed = budget
            self.active, self._active_reg, self._active_value = shape, reg, last
        m.scs.cache_ops[CACHE_OPS[reg]] += stores
        self.loops_run += 1
        self.lines_skipped += stores
        return executed
