"""Embedded flash controller of the STM32H7A3, two banks of 128 x 8 KiB sectors.

Offsets from CMSIS FLASH_TypeDef: bank 1 registers at 0x00.. (ACR 0x00,
KEYR1 0x04, CR1 0x0C, SR1 0x10, CCR1 0x14, OPTCR 0x18), bank 2 at +0x100
(KEYR2 0x104, CR2 0x10C, SR2 0x110, CCR2 0x114). CR bits as used by the
firmware in mpy-boot-trace 4: LOCK b0, PG b1, SER b2, BER b3, START b5,
SSN b[12:6], EOPIE b16. Flash is RAM-backed: programming stores land
directly (no NOR "clear bits only" rule); an erase fills with 0xFF and
sets EOP (SR b16), raising the controller's interrupt when EOPIE is set. ACR/OPTSR reset
values are plausible STM32H7A3 values (RM0455 not available here); the boot
trace shows ACR is written before it is read.
"""
from __future__ import annotations

from .peripheral import RegisterBlock

ACR, OPTCR = 0x00, 0x18
KEY1, KEY2 = 0x45670123, 0xCDEF89AB
SECTOR = 0x2000
BANK_SIZE = 0x100000
LOCK, PG, SER, BER, START, EOPIE = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 5, 1 << 16
EOP = 1 << 16


class Flash(RegisterBlock):
    RESET = {ACR: 0x00000013, 0x0C: LOCK, 0x10C: LOCK, 0x1C: 0x1C0EAAF0, OPTCR: 0x00000001}

    def __init__(self, machine, block) -> None:
        self._key_step = {0: 0, 1: 0}
        self.irq = block.irq
        super().__init__(machine, block)
        self.erased: list[int] = []                 # addresses of erased sectors (for tests)
        for bank in (0, 1):
            off = bank * 0x100
            self.on_write(off + 0x04, self._keyr(bank))
            self.on_write(off + 0x0C, self._cr(bank))
            self.on_write(off + 0x14, self._ccr(bank))
            self.on_read(off + 0x10, self._sr(bank))

    def reset(self) -> None:
        super().reset()
        self._key_step = {0: 0, 1: 0}

    def _keyr(self, bank: int):
        def write(off: int, value: int) -> None:
            cr = bank * 0x100 + 0x0C
            step = self._key_step[bank]
            if step == 0 and value == KEY1:
                self._key_step[bank] = 1
            elif step == 1 and value == KEY2:
                self.regs[cr] = self.regs.get(cr, 0) & ~LOCK
                self._key_step[bank] = 0
            else:
                self._key_step[bank] = 0
        return write

    def _cr(self, bank: int):
        def write(off: int, value: int) -> None:
            old = self.regs.get(off, 0)
            if old & LOCK:
                return                               # locked: writes ignored (only LOCK is settable)
            self.regs[off] = value & ~START
            if value & START:
                self._erase(bank, value)
        return write

    def _ccr(self, bank: int):
        def write(off: int, value: int) -> None:
            sr = bank * 0x100 + 0x10
            self.regs[sr] = self.regs.get(sr, 0) & ~(value & 0x0FFF0000)
            if not self.regs[sr] & EOP:
                self.machine.set_irq_level(self.irq, self._irq_level())
        return write

    def _sr(self, bank: int):
        return lambda off: self.regs.get(off, 0)          # never busy: operations are instant

    def _irq_level(self) -> bool:
        return any(self.regs.get(b * 0x100 + 0x10, 0) & EOP and self.regs.get(b * 0x100 + 0x0C, 0) & EOPIE
                   for b in (0, 1))

    def _erase(self, bank: int, cr: int) -> None:
        m = self.machine
        base = m.flash_base + bank * BANK_SIZE
        if cr & BER:
            start, size = base, BANK_SIZE
        elif cr & SER:
            start, size = base + ((cr >> 6) & 0x7F) * SECTOR, SECTOR
        else:
            return
        if m.flash is not None and start + size <= m.flash_base + len(m.flash):
            lo = start - m.flash_base
            m.flash[lo:lo + size] = b"\xff" * size
            self.erased.append(start)
        sr = bank * 0x100 + 0x10
        self.regs[sr] = self.regs.get(sr, 0) | EOP
        if cr & EOPIE:
            m.set_irq_level(self.irq, True)
