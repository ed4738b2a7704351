"""EXTI lines 0..15 from GPIO pins, and SYSCFG's EXTICR port selection.

Offsets from CMSIS EXTI_TypeDef (RTSR1 0x00, FTSR1 0x04, SWIER1 0x08,
CPUIMR1 0x80, CPUPR1 0x88) and SYSCFG_TypeDef (EXTICR[0..3] 0x08..0x14,
CCCSR 0x20). Lines 0..4 have a vector each, 5..9 and 10..15 share one; the
numbers are the EXTI node's interrupts, named "line0".."line4", "line5-9",
"line10-15" as in Zephyr's tree.
"""
from __future__ import annotations

from .peripheral import RegisterBlock

RTSR1, FTSR1, SWIER1, CPUIMR1, CPUPR1 = 0x00, 0x04, 0x08, 0x80, 0x88
EXTICR0 = 0x08


def vector_name(line: int) -> str:
    if line <= 4:
        return f"line{line}"
    return "line5-9" if line <= 9 else "line10-15"


class Syscfg(RegisterBlock):
    RESET = {0x20: 0x00000100}      # CCCSR: READY reads 1, compensation cell is instant

    def port_of_line(self, line: int) -> int:
        return (self.get(EXTICR0 + 4 * (line // 4)) >> (4 * (line % 4))) & 0xF


class Exti(RegisterBlock):
    def __init__(self, machine, block) -> None:
        self.syscfg: Syscfg | None = None       # wired by sim/soc.py
        names = dict(block.irqs)
        self.line_irq = [names[vector_name(line)] for line in range(16)]
        super().__init__(machine, block)
        self.on_write(SWIER1, self._swier)
        self.on_write(CPUPR1, self._clear)
        self.on_write(CPUIMR1, self._imr)

    def gpio_changed(self, port: str, pin: int, level: int) -> None:
        if self.syscfg is None or self.syscfg.port_of_line(pin) != "ABCDEFGHIJK".index(port):
            return
        edge_reg = RTSR1 if level else FTSR1
        if self.get(edge_reg) >> pin & 1:
            self._trigger(pin)

    def _trigger(self, line: int) -> None:
        self.regs[CPUPR1] = self.get(CPUPR1) | (1 << line)
        self._update(line)

    def _swier(self, off: int, value: int) -> None:
        for line in range(16):
            if value >> line & 1:
                self._trigger(line)

    def _clear(self, off: int, value: int) -> None:
        self.regs[CPUPR1] = self.get(CPUPR1) & ~value
        for line in range(16):
            self._update(line)

    def _imr(self, off: int, value: int) -> None:
        self.regs[CPUIMR1] = value
        for line in range(16):
            self._update(line)

    def _update(self, line: int) -> None:
        irq = self.line_irq[line]
        lines = range(line, line + 1) if line <= 4 else (range(5, 10) if line <= 9 else range(10, 16))
        active = any(self.get(CPUPR1) >> n & 1 and self.get(CPUIMR1) >> n & 1 for n in lines)
        self.machine.set_irq_level(irq, active)
