"""DMA1/DMA2 (8 streams each) and DMAMUX1 of the STM32H7A3, for peripheral-driven transfers.

Register layout from CMSIS DMA_TypeDef / DMA_Stream_TypeDef / DMAMUX_Channel_TypeDef of
stm32h7a3xx.h: LISR 0x00, HISR 0x04, LIFCR 0x08, HIFCR 0x0C; stream n at 0x10 + 0x18 n with CR,
NDTR, PAR, M0AR, M1AR, FCR (reset 0x21). Stream flags FEIF b0, DMEIF b2, TEIF b3, HTIF b4, TCIF b5,
shifted by 0, 6, 16, 22 for streams 0..3 (LISR) and 4..7 (HISR); stream n raises the controller
node's n-th interrupt. DMAMUX1 channel c (CCR at 4 c, DMAREQ_ID in bits 6:0) feeds stream c % 8 of
the (c // 8)-th controller in the DMAMUX node's dma-controllers.

The model does not move data by itself: a peripheral model that is driven by DMA (sim/spi.py)
finds the enabled stream serving its request with `stream_for(request)` and, when its transfer
ends, has the stream copy the whole block (`Stream.finish`). Memory seen by the DMA is the
simulator's memory; the D-cache is not modelled, so it is always coherent.
"""
from __future__ import annotations

from .peripheral import RegisterBlock

LISR, HISR, LIFCR, HIFCR = 0x00, 0x04, 0x08, 0x0C
CR, NDTR, PAR, M0AR, M1AR, FCR = 0x0, 0x4, 0x8, 0xC, 0x10, 0x14
EN, DMEIE, TEIE, HTIE, TCIE = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4
CIRC, PINC, MINC = 1 << 8, 1 << 9, 1 << 10
FEIF, DMEIF, TEIF, HTIF, TCIF = 1 << 0, 1 << 2, 1 << 3, 1 << 4, 1 << 5
FLAG_SHIFT = (0, 6, 16, 22)
DIR_P2M, DIR_M2P = 0, 1


def stream_offset(n: int) -> int:
    return 0x10 + 0x18 * n


class Stream:
    """One stream of a controller: a view on its registers."""

    def __init__(self, dma: "Dma", n: int) -> None:
        self.dma, self.n = dma, n
        self.base = stream_offset(n)

    def reg(self, off: int) -> int:
        return self.dma.regs.get(self.base + off, 0)

    @property
    def enabled(self) -> bool:
        return bool(self.reg(CR) & EN)

    @property
    def direction(self) -> int:
        return (self.reg(CR) >> 6) & 3

    def unit(self, memory: bool) -> int:
        """Bytes per item on the memory (MSIZE) or peripheral (PSIZE) side."""
        return 1 << ((self.reg(CR) >> (13 if memory else 11)) & 3)

    def read_items(self, count: int) -> list[int]:
        """Memory-to-peripheral: the next `count` items the stream would fetch from memory."""
        size, inc = self.unit(True), bool(self.reg(CR) & MINC)
        data = self.dma.machine.read_memory(self.reg(M0AR), size * count if inc else size)
        items = [int.from_bytes(data[i * size:(i + 1) * size], "little") for i in range(count if inc else 1)]
        return items if inc else items * count

    def write_items(self, items: list[int]) -> None:
        """Peripheral-to-memory: store `items` where the stream points."""
        size = self.unit(True)
        if self.reg(CR) & MINC:
            blob = b"".join((v & ((1 << (8 * size)) - 1)).to_bytes(size, "little") for v in items)
            self.dma.machine.write_memory(self.reg(M0AR), blob)
        elif items:
            self.dma.machine.write_memory(self.reg(M0AR), items[-1].to_bytes(size, "little"))

    def finish(self) -> None:
        """The block is done: NDTR 0, half- and full-transfer flags, EN cleared (normal mode)."""
        regs = self.dma.regs
        if self.reg(CR) & CIRC:
            regs[self.base + NDTR] = self.reg(NDTR)
        else:
            regs[self.base + NDTR] = 0
            regs[self.base + CR] = self.reg(CR) & ~EN
        self.dma.raise_flags(self.n, HTIF | TCIF)


class Dma(RegisterBlock):
    """One DMA controller; interrupt lines follow flags AND enables, per stream."""

    def __init__(self, machine, block) -> None:
        self.irqs = [number for _, number in block.irqs]
        self.RESET = {stream_offset(n) + FCR: 0x21 for n in range(8)}
        super().__init__(machine, block)
        self.streams = [Stream(self, n) for n in range(8)]
        self.on_write(LISR, lambda off, v: None)
        self.on_write(HISR, lambda off, v: None)
        self.on_write(LIFCR, self._clear_flags)
        self.on_write(HIFCR, self._clear_flags)
        for n in range(8):
            self.on_write(stream_offset(n) + CR, self._write_cr)

    def _flag_reg(self, n: int) -> tuple[int, int]:
        return (LISR if n < 4 else HISR), FLAG_SHIFT[n % 4]

    def flags(self, n: int) -> int:
        reg, shift = self._flag_reg(n)
        return (self.regs.get(reg, 0) >> shift) & 0x3D

    def raise_flags(self, n: int, flags: int) -> None:
        reg, shift = self._flag_reg(n)
        self.regs[reg] = self.regs.get(reg, 0) | (flags << shift)
        self._update_irq(n)

    def _clear_flags(self, off: int, value: int) -> None:
        reg = LISR if off == LIFCR else HISR
        self.regs[reg] = self.regs.get(reg, 0) & ~value
        for n in (range(4) if reg == LISR else range(4, 8)):
            self._update_irq(n)

    def _write_cr(self, off: int, value: int) -> None:
        self.regs[off] = value
        self._update_irq((off - 0x10) // 0x18)

    def _update_irq(self, n: int) -> None:
        cr, flags = self.streams[n].reg(CR), self.flags(n)
        level = bool((flags & TCIF and cr & TCIE) or (flags & HTIF and cr & HTIE)
                     or (flags & TEIF and cr & TEIE) or (flags & DMEIF and cr & DMEIE))
        self.machine.set_irq_level(self.irqs[n], level)


class Dmamux(RegisterBlock):
    """DMAMUX1: which request each of the 16 channels passes on (CCR.DMAREQ_ID)."""

    def __init__(self, machine, block) -> None:
        super().__init__(machine, block)
        self.controller_names = tuple(block.props.get("dma-controllers", ()))
        self.controllers: list[Dma] = []                  # wired by sim/soc.py, in that order
        self.on_write(0x84, lambda off, v: None)          # CFR: clear synchronisation overruns

    def request(self, channel: int) -> int:
        return self.regs.get(4 * channel, 0) & 0x7F


def stream_for(machine, request: int) -> Stream | None:
    """The enabled stream DMAMUX connects to `request` (a DMA_REQUEST_x number), if any."""
    controllers = machine.dmamux.controllers
    for channel in range(8 * len(controllers)):
        if machine.dmamux.request(channel) == request:
            stream = controllers[channel // 8].streams[channel % 8]
            if stream.enabled:
                return stream
    return None
