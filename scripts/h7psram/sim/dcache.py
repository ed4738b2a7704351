"""The Cortex-M7 L1 data cache of the STM32H7A3, for the lines of the PSRAM window.

Geometry (docs/hardware.md#cortex-m7): 16 KiB, 4 ways, 32-byte lines, so 128
sets; the set index is address bits 11:5, a set/way operand carries the way
in bits 31:30 and the set in bits 11:5. The model only ever holds lines of
the OCTOSPI window, because the other memories are served by unicorn
directly; lines of internal RAM that would compete for the same sets are not
seen (a choice: the model can only under-evict).

Replacement is not described in the public text; the model fills the lowest
invalid way first and otherwise replaces round-robin per set (**choice**).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

LINE = 32
SETS = 128
WAYS = 4
SET_SHIFT = 5
WAY_SHIFT = 30


@dataclass
class Line:
    tag: int                     # line address (address & ~31)
    data: bytearray
    dirty: bool = False


@dataclass
class DCache:
    """Lines by set; `write_back(addr, data)` is called for every dirty line leaving the cache."""

    write_back: Callable[[int, bytes], None]
    sets: list[list[Line | None]] = field(default_factory=lambda: [[None] * WAYS for _ in range(SETS)])
    victim: list[int] = field(default_factory=lambda: [0] * SETS)
    fills: int = 0
    evictions: int = 0

    @staticmethod
    def index(addr: int) -> int:
        return (addr >> SET_SHIFT) & (SETS - 1)

    def lookup(self, addr: int) -> Line | None:
        tag = addr & ~(LINE - 1)
        for line in self.sets[self.index(addr)]:
            if line is not None and line.tag == tag:
                return line
        return None

    def allocate(self, addr: int, data: bytes) -> Line:
        """Put a freshly filled line in its set, evicting (and writing back) a victim if needed."""
        s = self.index(addr)
        ways = self.sets[s]
        way = next((w for w, line in enumerate(ways) if line is None), None)
        if way is None:
            way = self.victim[s]
            self.victim[s] = (way + 1) % WAYS
            self._evict(s, way)
        line = Line(addr & ~(LINE - 1), bytearray(data))
        ways[way] = line
        self.fills += 1
        return line

    def _evict(self, s: int, way: int) -> None:
        line = self.sets[s][way]
        if line is None:
            return
        self.sets[s][way] = None
        if line.dirty:
            self.evictions += 1
            self.write_back(line.tag, bytes(line.data))

    # -- maintenance (docs/hardware.md#cortex-m7: DCIMVAC, DCCMVAC, DCCIMVAC, DCISW, DCCSW, DCCISW) --
    def clean_line(self, line: Line) -> None:
        if line.dirty:
            line.dirty = False
            self.write_back(line.tag, bytes(line.data))

    def by_address(self, addr: int, clean: bool, invalidate: bool) -> None:
        s = self.index(addr)
        for way, line in enumerate(self.sets[s]):
            if line is not None and line.tag == addr & ~(LINE - 1):
                self._maintain(s, way, clean, invalidate)

    def by_set_way(self, operand: int, clean: bool, invalidate: bool) -> None:
        self._maintain((operand >> SET_SHIFT) & (SETS - 1), (operand >> WAY_SHIFT) & (WAYS - 1), clean, invalidate)

    def _maintain(self, s: int, way: int, clean: bool, invalidate: bool) -> None:
        line = self.sets[s][way]
        if line is None:
            return
        if clean:
            self.clean_line(line)
        if invalidate:
            # an invalidate without clean drops dirty data, as on the core
            self.sets[s][way] = None

    def lines(self) -> Iterator[Line]:
        for ways in self.sets:
            for line in ways:
                if line is not None:
                    yield line

    def dirty_count(self) -> int:
        return sum(1 for line in self.lines() if line.dirty)

    def clear(self) -> None:
        """Drop every line without writing anything (reset)."""
        self.sets = [[None] * WAYS for _ in range(SETS)]
        self.victim = [0] * SETS
