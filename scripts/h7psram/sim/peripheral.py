"""Base classes for memory-mapped peripheral models.

A model sees offsets relative to its own base. It is built from its
devicetree block (`boards.MmioBlock`: base, size, name, interrupts, binding
properties; sim/soc.py picks the model by compatible), so a model holds
register offsets and never an address. `Peripheral` is the contract seam
(docs/architecture.md); `RegisterBlock` adds word storage with reset
values and per-register read/write behaviour, which is what most STM32
blocks need: plain storage plus a few bits that follow other bits.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # pragma: no cover
    from ..boards import MmioBlock
    from .machine import Machine


class Peripheral:
    """One block of registers on the peripheral bus."""

    name: str = "peripheral"
    # A placeholder may be replaced by a richer model added later at the same address.
    placeholder: bool = False

    def __init__(self, machine: "Machine", block: "MmioBlock") -> None:
        self.machine = machine
        self.base = block.base
        self.size = block.size
        if getattr(block, "name", None):
            self.name = block.name

    def read(self, offset: int, size: int) -> int:
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        pass

    def reset(self) -> None:
        pass


ReadHook = Callable[[int], int]
WriteHook = Callable[[int, int], None]


class RegisterBlock(Peripheral):
    """Word-addressed registers with reset values.

    Sub-word accesses are folded into the containing word (read: shift and
    mask; write: read-modify-write of the stored value), because the
    firmware we run uses 8- and 16-bit accesses only on a few registers
    where that is also what the silicon does.
    """

    #: offset -> reset value; offsets not listed read 0 and store writes
    RESET: dict[int, int] = {}
    #: offset -> mask of bits that can be written (others keep their value)
    WRITABLE: dict[int, int] = {}

    def __init__(self, machine: "Machine", block: "MmioBlock") -> None:
        super().__init__(machine, block)
        self.regs: dict[int, int] = {}
        self._readers: dict[int, ReadHook] = {}
        self._writers: dict[int, WriteHook] = {}
        self.reset()

    # -- hooks for subclasses -------------------------------------------------
    def on_read(self, offset: int, fn: ReadHook) -> None:
        self._readers[offset] = fn

    def on_write(self, offset: int, fn: WriteHook) -> None:
        """fn(offset, value) is called instead of storing; use self.store()."""
        self._writers[offset] = fn

    def store(self, offset: int, value: int) -> None:
        mask = self.WRITABLE.get(offset)
        if mask is not None:
            value = (self.regs.get(offset, 0) & ~mask) | (value & mask)
        self.regs[offset] = value & 0xFFFFFFFF

    def store_and_tell(self, offset: int, value: int, listeners) -> None:
        """store(), then call every listener when the stored value changed (configuration seams)."""
        before = self.regs.get(offset, 0)
        self.store(offset, value)
        if self.regs.get(offset, 0) != before:
            for cb in listeners:
                cb()

    def get(self, offset: int) -> int:
        return self.regs.get(offset, 0)

    # -- Peripheral interface ---------------------------------------------------
    def reset(self) -> None:
        self.regs = dict(self.RESET)

    def read_word(self, offset: int) -> int:
        fn = self._readers.get(offset)
        if fn is not None:
            return fn(offset) & 0xFFFFFFFF
        return self.regs.get(offset, 0)

    def write_word(self, offset: int, value: int) -> None:
        fn = self._writers.get(offset)
        if fn is not None:
            fn(offset, value & 0xFFFFFFFF)
        else:
            self.store(offset, value)

    def read(self, offset: int, size: int) -> int:
        if size == 4 and not offset & 3:          # the common case, one call less
            fn = self._readers.get(offset)
            if fn is not None:
                return fn(offset) & 0xFFFFFFFF
            return self.regs.get(offset, 0)
        word = offset & ~3
        shift = (offset & 3) * 8
        value = self.read_word(word) >> shift
        return value & ((1 << (size * 8)) - 1)

    def write(self, offset: int, size: int, value: int) -> None:
        if size == 4 and not offset & 3:
            self.write_word(offset, value)
            return
        word = offset & ~3
        shift = (offset & 3) * 8
        mask = ((1 << (size * 8)) - 1) << shift
        merged = (self.regs.get(word, 0) & ~mask) | ((value << shift) & mask)
        self.write_word(word, merged)


class PlainStorage(RegisterBlock):
    """A block the firmware may configure but whose behaviour we do not model."""

    placeholder = True
