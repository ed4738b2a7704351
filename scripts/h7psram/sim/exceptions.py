"""Exception bookkeeping of the ARMv7-M NVIC: pending/active/enabled sets and priorities.

Pure state, no CPU: `exception_frames.py` does the stacking; `scs.py` exposes this
state through the NVIC and SCB registers. Priority rules follow the ARMv7-M
architecture reference manual (B1.5.4 "Exception priorities and preemption"):
lower value wins, only the group-priority field decides preemption, ties
go to the lower exception number.
"""
from __future__ import annotations

RESET, NMI, HARDFAULT, MEMMANAGE, BUSFAULT, USAGEFAULT = 1, 2, 3, 4, 5, 6
SVCALL, DEBUGMON, PENDSV, SYSTICK = 11, 12, 14, 15
IRQ0 = 16

FIXED_PRIORITY = {RESET: -3, NMI: -2, HARDFAULT: -1}
#: exception number -> index into SHPR bytes (SHPR1 starts at exception 4)
CONFIGURABLE_SYSTEM = (MEMMANAGE, BUSFAULT, USAGEFAULT, SVCALL, DEBUGMON, PENDSV, SYSTICK)

NAMES = {NMI: "NMI", HARDFAULT: "HardFault", MEMMANAGE: "MemManage", BUSFAULT: "BusFault",
         USAGEFAULT: "UsageFault", SVCALL: "SVCall", DEBUGMON: "DebugMonitor",
         PENDSV: "PendSV", SYSTICK: "SysTick"}


def exception_name(exc: int) -> str:
    return NAMES.get(exc, f"IRQ{exc - IRQ0}" if exc >= IRQ0 else f"exception {exc}")


class ExceptionState:
    """NVIC state. `prio_bits` is the number of implemented priority bits (4 on STM32H7)."""

    def __init__(self, num_irqs: int, prio_bits: int = 4) -> None:
        self.num_irqs = num_irqs
        self.prio_mask = (0xFF << (8 - prio_bits)) & 0xFF
        self.reset()

    def reset(self) -> None:
        self.priority: list[int] = [0] * (IRQ0 + self.num_irqs)
        for exc, prio in FIXED_PRIORITY.items():
            self.priority[exc] = prio
        self.pending: set[int] = set()
        self.enabled: set[int] = set()       # IRQs (exception numbers) enabled in ISER
        self.active: list[int] = []          # in activation order, innermost last
        self.level: set[int] = set()         # IRQ lines currently asserted by peripherals
        self.prigroup = 0
        # SHCSR enables for the configurable faults
        self.fault_enabled: set[int] = set()

    # -- priorities -----------------------------------------------------------------
    def set_priority(self, exc: int, value: int) -> None:
        if exc in FIXED_PRIORITY or exc >= len(self.priority):
            return
        self.priority[exc] = value & self.prio_mask

    def group(self, prio: int) -> int:
        if prio < 0:
            return prio
        return prio & ~((2 << self.prigroup) - 1) & 0xFF

    def execution_priority(self, primask: int = 0, basepri: int = 0, faultmask: int = 0) -> int:
        """Current execution priority; 256 means thread mode with nothing masked."""
        prio = 256
        for exc in self.active:
            prio = min(prio, self.group(self.priority[exc]))
        if basepri & self.prio_mask:
            prio = min(prio, self.group(basepri & self.prio_mask))
        if primask & 1:
            prio = min(prio, 0)
        if faultmask & 1:
            prio = min(prio, -1)
        return prio

    # -- pending ----------------------------------------------------------------------
    def pend(self, exc: int) -> None:
        if 0 < exc < len(self.priority):
            self.pending.add(exc)

    def unpend(self, exc: int) -> None:
        self.pending.discard(exc)

    def set_level(self, exc: int, high: bool) -> None:
        """A peripheral's interrupt line: pending follows a high level unless already active."""
        if high:
            self.level.add(exc)
            if exc not in self.active:
                self.pending.add(exc)
        else:
            self.level.discard(exc)

    def candidate(self) -> int | None:
        """Highest-priority pending exception that is enabled, regardless of masking."""
        best = None
        best_prio = 1 << 16
        for exc in self.pending:
            if exc >= IRQ0 and exc not in self.enabled:
                continue
            prio = self.priority[exc]
            if prio < best_prio or (prio == best_prio and exc < best):
                best, best_prio = exc, prio
        return best

    def preempting(self, exec_prio: int) -> int | None:
        exc = self.candidate()
        if exc is None:
            return None
        if self.group(self.priority[exc]) < exec_prio:
            return exc
        return None

    # -- activation ---------------------------------------------------------------------
    def activate(self, exc: int) -> None:
        self.pending.discard(exc)
        self.active.append(exc)

    def deactivate(self, exc: int) -> None:
        if exc in self.active:
            # Returning from an exception that is not the innermost one is
            # UNPREDICTABLE on hardware; dropping it keeps the model consistent.
            self.active.remove(exc)
        if exc in self.level:
            self.pending.add(exc)

    @property
    def current(self) -> int:
        return self.active[-1] if self.active else 0
