"""OCTOSPI register layout as data: offsets, writable bits, fields, one command format.

Offsets, bit positions and which bits are writable: docs/hardware.md
"OCTOSPI registers". Nothing here knows about the PSRAM or the CPU; the
controller model (`sim/octospi.py`) reads these tables.
"""
from __future__ import annotations

from dataclasses import dataclass

from .psram import FLOAT, drive

FIFO_SIZE = 32

# Register offsets
CR, DCR1, DCR2, DCR3, DCR4 = 0x000, 0x008, 0x00C, 0x010, 0x014
SR, FCR, DLR, AR, DR = 0x020, 0x024, 0x040, 0x048, 0x050
PSMKR, PSMAR, PIR = 0x080, 0x088, 0x090
CCR, TCR, IR, ABR, LPTR = 0x100, 0x108, 0x110, 0x120, 0x130
WPCCR, WPTCR, WPIR, WPABR = 0x140, 0x148, 0x150, 0x160
WCCR, WTCR, WIR, WABR = 0x180, 0x188, 0x190, 0x1A0
HLCR = 0x200
HWCFGR, VER, ID, MID = 0x3F0, 0x3F4, 0x3F8, 0x3FC

#: Writable bits per register; everything else reads back 0.
WRITABLE = {
    CR: 0x30DF1FCF, DCR1: 0x071F077B, DCR2: 0x000700FF, DCR3: 0x001F00FF, DCR4: 0xFFFFFFFF,
    DLR: 0xFFFFFFFF, AR: 0xFFFFFFFF, PSMKR: 0xFFFFFFFF, PSMAR: 0xFFFFFFFF, PIR: 0x0000FFFF,
    CCR: 0xAF3F3F3F, TCR: 0x5000001F, IR: 0xFFFFFFFF, ABR: 0xFFFFFFFF, LPTR: 0x0000FFFF,
    WPCCR: 0xAF3F3F3F, WPTCR: 0x5000001F, WPIR: 0xFFFFFFFF, WPABR: 0xFFFFFFFF,
    WCCR: 0xAF3F3F3F, WTCR: 0x0000001F, WIR: 0xFFFFFFFF, WABR: 0xFFFFFFFF,
    HLCR: 0x00FFFF03,
}
#: Registers whose value changes what memory-mapped accesses do.
MAPPING_REGS = frozenset({CR, DCR1, DCR2, DCR3, DCR4, CCR, TCR, IR, ABR, LPTR, WCCR, WTCR, WIR, WABR})
#: Read-only registers that read 0 here: FCR is write-only; the identification
#: values were not found in a public source.
READS_ZERO = frozenset({FCR, HWCFGR, VER, ID, MID})

# CR bits
EN, ABORT, TCEN = 1 << 0, 1 << 1, 1 << 3
TEIE, TCIE, FTIE, SMIE, TOIE = (1 << n for n in range(16, 21))
APMS, PMM = 1 << 22, 1 << 23
FMODE_SHIFT = 28
INDIRECT_WRITE, INDIRECT_READ, AUTO_POLL, MEMORY_MAPPED = range(4)
# SR bits
TEF, TCF, FTF, SMF, TOF, BUSY = (1 << n for n in range(6))
FLAG_ENABLES = ((TEF, TEIE), (TCF, TCIE), (FTF, FTIE), (SMF, SMIE), (TOF, TOIE))
#: CCR.DQSE: the write data strobe; memory-mapped writes need it (docs/hardware.md "DQSE").
DQSE = 1 << 29

#: (register, shift, width) of the fields the model reads.
FIELDS = {
    "FTHRES": (CR, 8, 5),
    "DEVSIZE": (DCR1, 16, 5),
    "CSHT": (DCR1, 8, 3),
    "PRESCALER": (DCR2, 0, 8),
    "CSBOUND": (DCR3, 16, 5),
}

#: CCR line-count codes -> data lines
LINES = {0: 0, 1: 1, 2: 2, 3: 4, 4: 8}


def field(regs: dict[int, int], name: str) -> int:
    reg, shift, width = FIELDS[name]
    return (regs.get(reg, 0) >> shift) & ((1 << width) - 1)


@dataclass(frozen=True)
class Phases:
    """One command format: a CCR/TCR/IR/ABR set (or the W/WP variants)."""

    ccr: int
    tcr: int
    ir: int
    abr: int

    def _field(self, shift: int, width: int) -> int:
        return (self.ccr >> shift) & ((1 << width) - 1)

    @property
    def ilines(self) -> int:
        return LINES.get(self._field(0, 3), 0)

    @property
    def alines(self) -> int:
        return LINES.get(self._field(8, 3), 0)

    @property
    def ablines(self) -> int:
        return LINES.get(self._field(16, 3), 0)

    @property
    def dlines(self) -> int:
        return LINES.get(self._field(24, 3), 0)

    @property
    def isize(self) -> int:
        return self._field(4, 2) + 1

    @property
    def adsize(self) -> int:
        return self._field(12, 2) + 1

    @property
    def absize(self) -> int:
        return self._field(20, 2) + 1

    @property
    def dcyc(self) -> int:
        return self.tcr & 0x1F

    @property
    def dtr(self) -> bool:
        return bool(self.ccr & ((1 << 3) | (1 << 11) | (1 << 19) | (1 << 27)))

    @property
    def dqse(self) -> bool:
        return bool(self.ccr & DQSE)

    @property
    def sioo(self) -> bool:
        return bool(self.ccr >> 31 & 1)

    def header(self, address: int, *, instruction: bool = True) -> list[int]:
        """Bus nibbles of the instruction, address, alternate and dummy phases."""
        cycles: list[int] = []
        if self.ilines and instruction:
            bits = self.isize * 8
            cycles += drive(self.ir & ((1 << bits) - 1), bits, self.ilines)
        if self.alines:
            bits = self.adsize * 8
            cycles += drive(address & ((1 << bits) - 1), bits, self.alines)
        if self.ablines:
            bits = self.absize * 8
            cycles += drive(self.abr & ((1 << bits) - 1), bits, self.ablines)
        cycles += [FLOAT] * self.dcyc
        return cycles
