"""Timer events on the simulated clock (cycles of the core clock)."""
from __future__ import annotations

import heapq
import itertools
from typing import Callable


class Event:
    __slots__ = ("at", "callback", "cancelled")

    def __init__(self, at: int, callback: Callable[[], None]) -> None:
        self.at = at
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class EventQueue:
    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Event]] = []
        self._seq = itertools.count()

    def clear(self) -> None:
        self._heap.clear()

    def add(self, at: int, callback: Callable[[], None]) -> Event:
        event = Event(at, callback)
        heapq.heappush(self._heap, (at, next(self._seq), event))
        return event

    def next_at(self) -> int | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def fire_due(self, now: int) -> int:
        """Run every event due at or before `now`; returns how many ran."""
        fired = 0
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, event = heapq.heappop(heap)
            if not event.cancelled:
                event.cancelled = True
                event.callback()
                fired += 1
        return fired
