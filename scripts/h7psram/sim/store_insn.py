"""How many bytes one Thumb store instruction writes.

The emulator hands a store to an MMIO callback in pieces: STRD, STM, PUSH,
VSTR.64, VSTM and VPUSH one 32-bit word at a time, an unaligned STR or STRH
one byte at a time. The Cortex-M7 issues the bytes of one instruction that
fall into one double word as a single AXI write (its AXI master and
load/store unit are 64 bits wide, DDI0489 "AXIM"; a uint64 write was the
width users found unaffected by the DQSE side effect, docs/hardware.md#dqse).
Knowing the instruction's total size lets the window model put the pieces of
one execution back together before it decides how wide the AXI write was.
Encodings: Armv7-M Architecture Reference Manual (DDI0403), A5 and A7.7.
"""
from __future__ import annotations

#: 32-bit "store single data item" (hw1 = 1111 1000 op1 0 Rn): op1 -> bytes
_SINGLE_32 = {0b000: 1, 0b100: 1, 0b001: 2, 0b101: 2, 0b010: 4, 0b110: 4}


def _count(bits: int) -> int:
    return bin(bits).count("1")


def store_bytes(code: bytes) -> int | None:
    """Bytes stored by the instruction at the start of `code` (2 or 4 bytes, little
    endian), or None when it is not a store."""
    hw1 = int.from_bytes(code[0:2], "little")
    if (hw1 & 0xE000) != 0xE000 or (hw1 & 0x1800) == 0:
        return _store_bytes_16(hw1)
    if len(code) < 4:
        return None
    hw2 = int.from_bytes(code[2:4], "little")
    if (hw1 & 0xFF10) == 0xF800:                       # STR/STRB/STRH (all forms), STRT...
        return _SINGLE_32.get(hw1 >> 5 & 7)
    if (hw1 & 0xFFD0) in (0xE880, 0xE900):             # STM.W / STMDB (PUSH.W)
        return 4 * _count(hw2)
    if (hw1 & 0xFFF0) == 0xE840:                       # STREX
        return 4
    if (hw1 & 0xFFF0) == 0xE8C0 and hw2 >> 4 & 0xE == 0x4:   # STREXB / STREXH
        return 1 << (hw2 >> 4 & 1)
    if (hw1 & 0xFE50) == 0xE840 and hw1 & 0x0120:      # STRD (immediate): P or W set
        return 8
    if (hw1 & 0xFF30) == 0xED00 and hw2 >> 9 & 7 == 5:   # VSTR: coprocessor 10 single, 11 double
        return 8 if hw2 >> 8 & 1 else 4
    if (hw1 & 0xFE10) == 0xEC00 and hw2 >> 9 & 7 == 5:
        p, u, w = hw1 >> 8 & 1, hw1 >> 7 & 1, hw1 >> 5 & 1
        if (p, u, w) in ((0, 1, 0), (0, 1, 1), (1, 0, 1)):   # VSTM IA / IA! / DB! (VPUSH)
            return 4 * (hw2 & 0xFF)                    # imm8 counts words for S and D registers
    return None


def _store_bytes_16(hw1: int) -> int | None:
    if (hw1 & 0xF000) == 0x5000:                       # register offset: STR, STRH, STRB
        return {0: 4, 1: 2, 2: 1}.get(hw1 >> 9 & 7)
    top = hw1 & 0xF800
    if top in (0x6000, 0x9000):                        # STR (immediate), STR (SP relative)
        return 4
    if top == 0x7000:                                  # STRB (immediate)
        return 1
    if top == 0x8000:                                  # STRH (immediate)
        return 2
    if top == 0xC000:                                  # STMIA
        return 4 * _count(hw1 & 0xFF)
    if (hw1 & 0xFE00) == 0xB400:                       # PUSH: registers + LR (M)
        return 4 * (_count(hw1 & 0xFF) + (hw1 >> 8 & 1))
    return None
