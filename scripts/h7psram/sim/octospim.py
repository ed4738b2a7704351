"""OCTOSPI I/O manager (OCTOSPIM; base from the devicetree): which controller drives which port.

Only the question the PSRAM model needs is answered here: does OCTOSPI1
reach the pins of port 1 with CLK, NCS and IO[3:0]? Register layout, reset
values and write masks: CMSIS-H7 `OCTOSPIM_TypeDef` and the SVD (docs/hardware.md).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from .peripheral import RegisterBlock

if TYPE_CHECKING:  # pragma: no cover
    from .machine import Machine

CR, P1CR, P2CR = 0x00, 0x04, 0x08
P1CR_RESET = 0x03010111
P2CR_RESET = 0x07050333

# PxCR fields
CLKEN, CLKSRC = 1 << 0, 1 << 1
NCSEN, NCSSRC = 1 << 8, 1 << 9
IOLEN = 1 << 16
IOLSRC_SHIFT = 17


class Octospim(RegisterBlock):
    name = "OCTOSPIM"
    RESET = {CR: 0, P1CR: P1CR_RESET, P2CR: P2CR_RESET}
    WRITABLE = {CR: 0x00FF0001, P1CR: 0x07070333, P2CR: 0x07070333}

    def __init__(self, machine: "Machine", block: Any) -> None:
        """`block`: the board's OCTOSPIM register block (devicetree node octospim)."""
        self._listeners: list[Callable[[], None]] = []
        super().__init__(machine, block)
        for off in (CR, P1CR, P2CR):
            self.on_write(off, self._store_and_tell)

    def on_change(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def _store_and_tell(self, offset: int, value: int) -> None:
        self.store(offset, value)
        for cb in self._listeners:
            cb()

    def port1_problem(self) -> str | None:
        """Why OCTOSPI1 does not reach the PSRAM on port 1, or None when it does."""
        p1 = self.get(P1CR)
        if not p1 & CLKEN or p1 & CLKSRC:
            return f"OCTOSPIM P1CR=0x{p1:08x}: port 1 CLK not from OCTOSPI1"
        if not p1 & NCSEN or p1 & NCSSRC:
            return f"OCTOSPIM P1CR=0x{p1:08x}: port 1 NCS not from OCTOSPI1"
        if not p1 & IOLEN or (p1 >> IOLSRC_SHIFT) & 3:
            return f"OCTOSPIM P1CR=0x{p1:08x}: port 1 IO[3:0] not from OCTOSPI1 IO[3:0]"
        return None
