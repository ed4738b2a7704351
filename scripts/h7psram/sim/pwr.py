"""PWR of the STM32H7A3: voltage-scaling ready flags are always set.

Offsets from CMSIS PWR_TypeDef (CR1 0x00, CSR1 0x04, CR2 0x08, CR3 0x0C,
CPUCR 0x10, SRDCR 0x18). SystemClock_Config spins without timeout on
CSR1.ACTVOSRDY (bit 13) and SRDCR.VOSRDY (bit 13) (mpy-boot-trace table 2,
rows 1-2); the supply is ideal, so both read 1 and CSR1.ACTVOS mirrors
SRDCR.VOS. CR1/CR3/SRDCR reset values are the STM32H7A3 family values as
published by ST (RM0455 not available here); the boot does not read them
before writing.
"""
from __future__ import annotations

from .peripheral import RegisterBlock

CR1, CSR1, CR2, CR3, CPUCR, SRDCR = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x18
READY = 1 << 13


class Pwr(RegisterBlock):
    RESET = {CR1: 0xF000C000, CR3: 0x00000046, SRDCR: 0x00004000}

    def __init__(self, machine, block) -> None:
        super().__init__(machine, block)
        self.on_read(CSR1, lambda off: READY | (self.regs.get(SRDCR, 0) & (3 << 14)))
        self.on_read(SRDCR, lambda off: self.regs.get(SRDCR, 0) | READY)
        # USB33RDY (b26) follows USB33DEN (b24): the USB regulator is ready at once
        # (mboot waits for it before starting its DFU device).
        self.on_read(CR3, lambda off: self.regs.get(CR3, 0) | ((self.regs.get(CR3, 0) >> 24 & 1) << 26))
