"""General-purpose and basic timers (TIM1..TIM7): up-counting with the update interrupt.

Offsets from CMSIS TIM_TypeDef: CR1 0x00 (CEN b0, OPM b3), DIER 0x0C
(UIE b0), SR 0x10 (UIF b0), EGR 0x14 (UG b0), CNT 0x24, PSC 0x28, ARR 0x2C.
Counting is only modelled up, from the core clock (the usual configuration
with APB prescalers of 2 gives timer clocks equal to the AHB clock).
The update event raises the node's "up" interrupt (TIM1) or its "global"
one; the counter width is the node's counter-bits.
"""
from __future__ import annotations

from .peripheral import RegisterBlock

CR1, DIER, SR, EGR, CNT, PSC, ARR = 0x00, 0x0C, 0x10, 0x14, 0x24, 0x28, 0x2C
CEN, OPM, UIE, UIF, UG = 1 << 0, 1 << 3, 1 << 0, 1 << 0, 1 << 0


class Timer(RegisterBlock):
    def __init__(self, machine, block) -> None:
        self.irq = block.irq_named("up", "global")
        self.RESET = {ARR: (1 << block.props.get("counter-bits", 16)) - 1}
        self._event = None
        super().__init__(machine, block)
        self.on_read(CNT, lambda off: self._count())
        for reg in (CR1, PSC, ARR, CNT):
            self.on_write(reg, self._config)
        self.on_write(EGR, self._egr)
        self.on_write(SR, self._sr)
        self.on_write(DIER, self._dier)

    def reset(self) -> None:
        super().reset()
        if getattr(self, "_event", None) is not None:
            self._event.cancel()
        self._event = None
        self._anchor = 0
        self._start_count = 0

    def _tick_cycles(self) -> int:
        return self.regs.get(PSC, 0) + 1

    def _running(self) -> bool:
        return bool(self.regs.get(CR1, 0) & CEN)

    def _count(self) -> int:
        if not self._running():
            return self.regs.get(CNT, 0)
        self.machine.note_clock_read()
        period = self.regs.get(ARR, 0) + 1
        ticks = (self.machine.cycles - self._anchor) // self._tick_cycles()
        return (self._start_count + ticks) % period

    def _config(self, off: int, value: int) -> None:
        self.regs[CNT] = self._count()
        self.regs[off] = value
        self._rearm()

    def _rearm(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None
        if not self._running():
            return
        self._anchor = self.machine.cycles
        self._start_count = self.regs.get(CNT, 0)
        left = (self.regs.get(ARR, 0) + 1 - self._start_count) * self._tick_cycles()
        self._event = self.machine.schedule_cycles(self.machine.cycles + max(left, 1), self._overflow)

    def _overflow(self) -> None:
        self._event = None
        self.regs[SR] = self.regs.get(SR, 0) | UIF
        self._update_irq()
        self.regs[CNT] = 0
        if self.regs.get(CR1, 0) & OPM:
            self.regs[CR1] = self.regs.get(CR1, 0) & ~CEN
            return
        self._rearm()

    def _egr(self, off: int, value: int) -> None:
        if value & UG:
            self.regs[CNT] = 0
            self.regs[SR] = self.regs.get(SR, 0) | UIF
            self._update_irq()
            self._rearm()

    def _sr(self, off: int, value: int) -> None:
        self.regs[SR] = self.regs.get(SR, 0) & value      # rc_w0 flags
        self._update_irq()

    def _dier(self, off: int, value: int) -> None:
        self.regs[DIER] = value
        self._update_irq()

    def _update_irq(self) -> None:
        self.machine.set_irq_level(self.irq, bool(self.regs.get(SR, 0) & UIF and self.regs.get(DIER, 0) & UIE))
