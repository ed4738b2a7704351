"""DBGMCU: IDCODE of the STM32H7A3/B3 (DEV_ID 0x480), the rest is storage."""
from __future__ import annotations

from .peripheral import RegisterBlock


class Dbgmcu(RegisterBlock):

    def __init__(self, machine, block) -> None:
        super().__init__(machine, block)
        self.on_read(0x00, lambda off: self.machine.idcode)
        self.on_write(0x00, lambda off, v: None)
