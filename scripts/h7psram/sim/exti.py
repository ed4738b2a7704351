"""EXTI (0x58000000) lines 0..15 from GPIO pins, and SYSCFG (0x58000400) EXTICR port selection.

Offsets from CMSIS EXTI_TypeDef (RTSR1 0x00, FTSR1 0x04, SWIER1 0x08,
CPUIMR1 0x80, CPUPR1 0x88) and SYSCFG_TypeDef (EXTICR[0..3] 0x08..0x14,
CCCSR 0x20). IRQ numbers: EXTI0..4 = 6..10, EXTI9_5 = 23, EXTI15_10 = 40.
"""
from __future__ import annotations

from .peripheral import RegisterBlock

RTSR1, FTSR1, SWIER1, CPUIMR1, CPUPR1 = 0x00, 0x04, 0x08, 0x80, 0x88
EXTICR0 = 0x08


def line_irq(line: int) -> int:
    if line <= 4:
        return 6 + line
    return 23 if line <= 9 else 40


class Syscfg(RegisterBlock):
    name = "SYSCFG"
    RESET = {0x20: 0x00000100}      # CCCSR: READY reads 1, compensation cell is instant

    def port_of_line(self, line: int) -> int:
        return (self.get(EXTICR0 + 4 * (line // 4)) >> (4 * (line % 4))) & 0xF


class Exti(RegisterBlock):
    name = "EXTI"

    def __init__(self, machine, syscfg: Syscfg, base: int = 0x58000000, size: int = 0x400) -> None:
        self.syscfg = syscfg
        super().__init__(machine, base, size)
        self.on_write(SWIER1, self._swier)
        self.on_write(CPUPR1, self._clear)
        self.on_write(CPUIMR1, self._imr)

    def gpio_changed(self, port: str, pin: int, level: int) -> None:
        if self.syscfg.port_of_line(pin) != "ABCDEFGHIJK".index(port):
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
        irq = line_irq(line)
        lines = range(line, line + 1) if line <= 4 else (range(5, 10) if line <= 9 else range(10, 16))
        active = any(self.get(CPUPR1) >> n & 1 and self.get(CPUIMR1) >> n & 1 for n in lines)
        self.machine.set_irq_level(irq, active)
