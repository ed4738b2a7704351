"""True random number generator: seeded, so runs repeat.

Offsets from CMSIS RNG_TypeDef: CR 0x00 (RNGEN b2, IE b3), SR 0x04 (DRDY b0),
DR 0x08. DRDY is set whenever the generator is enabled.
"""
from __future__ import annotations

import random

from .peripheral import RegisterBlock

CR, SR, DR = 0x00, 0x04, 0x08
RNGEN, IE, DRDY = 1 << 2, 1 << 3, 1 << 0


class Rng(RegisterBlock):
    def __init__(self, machine, block) -> None:
        self.irq = block.irq
        super().__init__(machine, block)
        self.on_read(SR, lambda off: DRDY if self.regs.get(CR, 0) & RNGEN else 0)
        self.on_read(DR, self._dr)
        self.on_write(CR, self._cr)

    def reset(self) -> None:
        super().reset()
        self._random = random.Random(getattr(self.machine, "seed", 0))

    def _dr(self, off: int) -> int:
        if not self.regs.get(CR, 0) & RNGEN:
            return 0
        return self._random.getrandbits(32)

    def _cr(self, off: int, value: int) -> None:
        self.regs[CR] = value
        self.machine.set_irq_level(self.irq, bool(value & RNGEN and value & IE))
