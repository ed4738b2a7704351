"""The Cortex-M7 data side between the CPU and the OCTOSPI window: D-cache, store buffer, AXI writes.

Every CPU load or store to the window that is not served as plain RAM comes
here (see `octospi_mm.MemoryMappedPaths`). What leaves towards the OCTOSPI
is what the M7's AXI master (AXIM) would issue (docs/hardware.md#cortex-m7):

* reads: a cacheable read miss is a 32-byte line fill; an uncached read is
  one AXI read of the access's own size;
* writes: `AxiWrite`s. A store to Device or strongly-ordered memory leaves
  at once with its own size. Stores to Normal memory pass the store buffer,
  which merges stores to the same double word into one entry
  (Arm DDI0489F 5.9.2); an entry leaves when all 8 bytes are written, when a
  store to another double word arrives, when a load overlaps it, on cache
  maintenance, and at the end of each execution slice (**choice**: the core
  drains idle entries soon, the public text does not say when). An entry
  written by one store leaves with that store's width; merged entries leave
  as 64-bit beats with byte strobes, as the Arm store-buffer examples show.
* write-back lines leave whole (32 bytes, all strobes) on eviction or clean.

The cache policy of each address comes from the MPU attributes actually
programmed (or the default map), SCB CCR.DC and CACR.FORCEWT; see `policy`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from .dcache import LINE, DCache

#: cache policies, as `policy` names them
STRONGLY_ORDERED, DEVICE, NON_CACHEABLE, WRITE_THROUGH, WRITE_BACK, WRITE_BACK_WA = (
    "so", "device", "nc", "wt", "wb", "wbwa")
CACHEABLE = frozenset({WRITE_THROUGH, WRITE_BACK, WRITE_BACK_WA})
CACR_FORCEWT = 1 << 2


@dataclass(frozen=True)
class AxiWrite:
    """One AXI write as the OCTOSPI receives it: the interface of its memory-mapped write path.

    `offset` is the window offset of `data[0]` and is 8-byte aligned; `data`
    covers whole double words; bit i of `strobe` says data[i] is written (the
    other bytes of `data` are what the bus carries in unstrobed lanes, here
    0). `width` is the AXI transfer size: 1, 2 or 4 for a store that left
    alone, 8 for merged store-buffer beats and cache lines.
    """

    offset: int
    data: bytes
    strobe: int
    width: int

    def runs(self) -> list[tuple[int, bytes]]:
        """(offset, bytes) of each run of consecutive strobed bytes."""
        out: list[tuple[int, bytes]] = []
        i, n = 0, len(self.data)
        while i < n:
            if not self.strobe >> i & 1:
                i += 1
                continue
            j = i
            while j < n and self.strobe >> j & 1:
                j += 1
            out.append((self.offset + i, self.data[i:j]))
            i = j
        return out

    @property
    def full(self) -> bool:
        return self.strobe == (1 << len(self.data)) - 1


class AxiTarget(Protocol):
    def axi_read(self, offset: int, length: int) -> bytes: ...
    def axi_write(self, write: AxiWrite) -> None: ...


def policy(attrs, dc_enabled: bool, cacr: int) -> str:
    """Cache policy from MPU attributes (DDI0489F 5.9: only non-shared cacheable memory is looked
    up, and only with the cache enabled; CACR.FORCEWT makes write-back write-through)."""
    kind = attrs.type
    if kind == "strongly-ordered":
        return STRONGLY_ORDERED
    if kind == "device":
        return DEVICE
    if kind != "normal" or not attrs.cacheable or not dc_enabled:
        return NON_CACHEABLE       # implementation-defined / reserved encodings: uncached (choice)
    if not attrs.write_back or cacr & CACR_FORCEWT:
        return WRITE_THROUGH
    return WRITE_BACK_WA if getattr(attrs, "write_allocate", False) else WRITE_BACK


class _Entry:
    __slots__ = ("dword", "data", "strobe", "width", "stores")

    def __init__(self, dword: int) -> None:
        self.dword = dword
        self.data = bytearray(8)
        self.strobe = 0
        self.width = 0
        self.stores = 0


class MemorySystem:
    """D-cache + store buffer in front of an `AxiTarget`; offsets are window offsets."""

    def __init__(self, target: AxiTarget, policy_at: Callable[[int], str]) -> None:
        self.target = target
        self.policy_at = policy_at
        self.cache = DCache(write_back=self._write_line)
        self._entry: _Entry | None = None
        self.stats = {"line_fills": 0, "line_writes": 0, "axi_reads": 0, "axi_writes": 0, "merged": 0}

    # -- CPU side ----------------------------------------------------------------------------
    def load(self, offset: int, size: int) -> bytes:
        pol = self.policy_at(offset)
        entry = self._entry
        if entry is not None and (pol in (DEVICE, STRONGLY_ORDERED)
                                  or entry.dword < offset + size and offset < entry.dword + 8):
            self.drain()     # the core drains before Device/SO reads and resolves overlaps
        if pol in CACHEABLE:
            out = bytearray()
            pos = offset
            while pos < offset + size:
                line = self._line_for_read(pos)
                start = pos - line.tag
                take = min(offset + size - pos, LINE - start)
                out += line.data[start:start + take]
                pos += take
            return bytes(out)
        self.stats["axi_reads"] += 1
        return self.target.axi_read(offset, size)

    def store(self, offset: int, data: bytes, width: int | None = None) -> None:
        """A CPU store (or one piece of it); `width` is the AXI size its instruction
        would have in this double word (default: the piece's own size)."""
        pol = self.policy_at(offset)
        pos = 0
        while pos < len(data):
            here = offset + pos
            take = min(len(data) - pos, 8 - (here & 7))
            self._store_piece(here, data[pos:pos + take], pol, width or len(data))
            pos += take

    def _store_piece(self, offset: int, data: bytes, pol: str, width: int) -> None:
        if pol in CACHEABLE:
            line = self.cache.lookup(offset)
            if line is None and pol == WRITE_BACK_WA:
                line = self._line_for_read(offset)     # write-allocate: fill, then merge
            if line is not None:
                start = offset - line.tag
                line.data[start:start + len(data)] = data
                if pol != WRITE_THROUGH:
                    line.dirty = True
                    return                              # write-back hit: nothing on the bus
        dword = offset & ~7
        if pol in (DEVICE, STRONGLY_ORDERED):
            self.drain()
            self._emit(dword, data, offset, width)      # no merging (DDI0489F 5.9.2)
            return
        entry = self._entry
        if entry is not None and entry.dword != dword:
            self.drain()
            entry = None
        if entry is None:
            entry = self._entry = _Entry(dword)
            entry.width = width
        else:
            self.stats["merged"] += 1
            entry.width = 8
        lane = offset - dword
        entry.data[lane:lane + len(data)] = data
        entry.strobe |= ((1 << len(data)) - 1) << lane
        entry.stores += 1
        if entry.strobe == 0xFF:
            entry.width = 8
            self.drain()

    def drain(self) -> None:
        """Send the open store-buffer entry to the bus."""
        entry = self._entry
        if entry is None:
            return
        self._entry = None
        self.stats["axi_writes"] += 1
        self.target.axi_write(AxiWrite(entry.dword, bytes(entry.data), entry.strobe, min(entry.width, 8)))

    def _emit(self, dword: int, data: bytes, offset: int, width: int) -> None:
        lane = offset - dword
        beat = bytearray(8)
        beat[lane:lane + len(data)] = data
        self.stats["axi_writes"] += 1
        self.target.axi_write(AxiWrite(dword, bytes(beat), ((1 << len(data)) - 1) << lane, min(width, 8)))

    def _line_for_read(self, offset: int):
        line = self.cache.lookup(offset)
        if line is None:
            tag = offset & ~(LINE - 1)
            if self._entry is not None and tag <= self._entry.dword < tag + LINE:
                self.drain()
            self.stats["line_fills"] += 1
            data = self.target.axi_read(tag, LINE)
            line = self.cache.allocate(tag, data)
        return line

    def _write_line(self, tag: int, data: bytes) -> None:
        self.stats["line_writes"] += 1
        self.target.axi_write(AxiWrite(tag, data, (1 << LINE) - 1, 8))

    # -- maintenance -----------------------------------------------------------------------------
    def maintain(self, op: str, operand: int, window_offset: int | None) -> None:
        """DCIMVAC/DCCMVAC/DCCIMVAC (operand an address; `window_offset` when it is in the window)
        and DCISW/DCCSW/DCCISW (operand set/way). The store buffer drains first (DDI0489F 5.9.2)."""
        self.drain()
        clean = op in ("DCCMVAC", "DCCIMVAC", "DCCSW", "DCCISW", "DCCMVAU")
        invalidate = op in ("DCIMVAC", "DCCIMVAC", "DCISW", "DCCISW")
        if op.endswith("SW"):
            self.cache.by_set_way(operand, clean, invalidate)
        elif window_offset is not None:
            self.cache.by_address(window_offset, clean, invalidate)

    def holds_lines(self) -> bool:
        return self._entry is not None or any(True for _ in self.cache.lines())

    def reset(self) -> None:
        self._entry = None
        self.cache.clear()
