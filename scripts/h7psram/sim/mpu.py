"""Cortex-M7 (ARMv7-M PMSA) MPU registers and attribute decoding.

Register layout from CMSIS core_cm7.h (MPU_Type at 0xE000ED90: TYPE, CTRL,
RNR, RBAR, RASR and three RBAR/RASR alias pairs). Attribute decoding follows
the ARMv7-M "TEX, C, B, and S encoding" table (docs/hardware.md#cortex-m7). The
model is informational: unicorn does not enforce the MPU, but other models
(the OCTOSPI window) ask it what the firmware configured.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

NUM_REGIONS = 16
TYPE_VALUE = NUM_REGIONS << 8           # DREGION field; unified MPU


@dataclass(frozen=True)
class MpuAttributes:
    type: str               # "strongly-ordered" | "device" | "normal" | "reserved" | "implementation-defined"
    cacheable: bool
    bufferable: bool        # the B bit (TEX 0..2) or "inner write-back" (TEX 1xx)
    write_back: bool
    shareable: bool
    ap: int                 # RASR.AP (3 = full access)
    xn: bool
    enabled: bool           # True when an enabled MPU region decided this (False: default map)
    region: int | None = None
    write_allocate: bool = False   # write-back write-allocate (TEX 001 C1 B1, inner policy 01 of TEX 1BB)


# Inner/outer cache policy of TEX=1BB encodings: 0 non-cacheable, 1 WB+WRA, 2 WT no-WA, 3 WB no-WA.
_POLICY_CACHEABLE = (False, True, True, True)
_POLICY_WRITE_BACK = (False, True, False, True)


def decode_tex_c_b(tex: int, c: int, b: int, s: int) -> tuple[str, bool, bool, bool]:
    """(type, cacheable, write_back, shareable) for one TEX/C/B/S combination."""
    if tex & 0b100:
        inner = (c << 1) | b
        return "normal", _POLICY_CACHEABLE[inner], _POLICY_WRITE_BACK[inner], bool(s)
    key = (tex, c, b)
    if key == (0, 0, 0):
        return "strongly-ordered", False, False, True
    if key == (0, 0, 1):
        return "device", False, False, True
    if key == (0, 1, 0):
        return "normal", True, False, bool(s)
    if key == (0, 1, 1):
        return "normal", True, True, bool(s)
    if key == (1, 0, 0):
        return "normal", False, False, bool(s)
    if key == (1, 1, 1):
        return "normal", True, True, bool(s)
    if key == (1, 1, 0):
        return "implementation-defined", False, False, bool(s)
    if key == (2, 0, 0):
        return "device", False, False, False
    return "reserved", False, False, bool(s)


def default_map_attributes(addr: int) -> MpuAttributes:
    """ARMv7-M default memory map (DUI0646 table 2-11), used with the MPU off or as background."""
    top = addr >> 29
    if top == 0:        # code
        return MpuAttributes("normal", True, False, False, False, 3, False, False)
    if top in (1, 3):   # SRAM, external RAM: WBWA
        return MpuAttributes("normal", True, True, True, False, 3, False, False, write_allocate=True)
    if top == 4:        # external RAM 0x80000000..0x9FFFFFFF: WT
        return MpuAttributes("normal", True, False, False, False, 3, False, False)
    if top == 2:        # peripherals
        return MpuAttributes("device", False, True, False, True, 3, True, False)
    if top in (5, 6):   # external device
        return MpuAttributes("device", False, True, False, top == 5, 3, True, False)
    return MpuAttributes("strongly-ordered", False, False, False, True, 3, True, False)


class MpuModel:
    def __init__(self) -> None:
        self._callbacks: list[Callable[["MpuModel"], None]] = []
        self.cacr = 0
        self.reset()

    def reset(self) -> None:
        self.ctrl = 0
        self.rnr = 0
        self.rbar = [0] * NUM_REGIONS
        self.rasr = [0] * NUM_REGIONS

    @property
    def enabled(self) -> bool:
        return bool(self.ctrl & 1)

    def on_change(self, callback: Callable[["MpuModel"], None]) -> None:
        self._callbacks.append(callback)

    def _changed(self) -> None:
        for cb in self._callbacks:
            cb(self)

    # -- registers (offsets from 0xE000ED90) -------------------------------------------
    def read(self, off: int) -> int:
        if off == 0x0:
            return TYPE_VALUE
        if off == 0x4:
            return self.ctrl
        if off == 0x8:
            return self.rnr
        if off in (0xC, 0x14, 0x1C, 0x24):
            return (self.rbar[self.rnr] & ~0x1F) | self.rnr
        if off in (0x10, 0x18, 0x20, 0x28):
            return self.rasr[self.rnr]
        return 0

    def write(self, off: int, value: int) -> None:
        if off == 0x4:
            self.ctrl = value & 0x7
        elif off == 0x8:
            self.rnr = value & (NUM_REGIONS - 1)
            return
        elif off in (0xC, 0x14, 0x1C, 0x24):
            if value & 0x10:   # VALID: the REGION field selects the region and updates RNR
                self.rnr = value & (NUM_REGIONS - 1)
            self.rbar[self.rnr] = value & ~0x1F & 0xFFFFFFFF
        elif off in (0x10, 0x18, 0x20, 0x28):
            self.rasr[self.rnr] = value & 0x173FFF3F
        else:
            return
        self._changed()

    # -- decoding -----------------------------------------------------------------------
    def region_bounds(self, n: int) -> tuple[int, int]:
        size = 1 << (((self.rasr[n] >> 1) & 0x1F) + 1)
        base = self.rbar[n] & ~(size - 1) & 0xFFFFFFFF
        return base, size

    def region_hit(self, addr: int) -> int | None:
        """Highest-numbered enabled region covering addr (subregion disables honoured)."""
        for n in range(NUM_REGIONS - 1, -1, -1):
            rasr = self.rasr[n]
            if not rasr & 1 or ((rasr >> 1) & 0x1F) < 4:
                continue
            base, size = self.region_bounds(n)
            if not base <= addr < base + size:
                continue
            if size >= 256:
                sub = (addr - base) // (size // 8)
                if (rasr >> (8 + sub)) & 1:
                    continue
            return n
        return None

    def attributes(self, addr: int) -> MpuAttributes:
        if not self.enabled:
            return default_map_attributes(addr)
        n = self.region_hit(addr)
        if n is None:
            # PRIVDEFENA gives privileged code the default map; otherwise the access faults.
            if self.ctrl & 0x4:
                return default_map_attributes(addr)
            return MpuAttributes("strongly-ordered", False, False, False, True, 0, True, False)
        rasr = self.rasr[n]
        tex, s, c, b = (rasr >> 19) & 7, (rasr >> 18) & 1, (rasr >> 17) & 1, (rasr >> 16) & 1
        kind, cacheable, write_back, shareable = decode_tex_c_b(tex, c, b, s)
        # Cortex-M7: normal shareable memory is not cached unless CACR.SIWT (DUI0646 4.9.3).
        if kind == "normal" and shareable and cacheable:
            if self.cacr & 1:      # SIWT: shareable regions become write-through
                write_back = False
            else:
                cacheable = write_back = False
        bufferable = bool(b) if not tex & 0b100 else write_back
        allocate = write_back and ((tex, c, b) == (1, 1, 1) or (tex & 0b100 and (c, b) == (0, 1)))
        return MpuAttributes(kind, cacheable, bufferable, write_back, shareable,
                             (rasr >> 24) & 7, bool(rasr >> 28 & 1), True, n, write_allocate=bool(allocate))
