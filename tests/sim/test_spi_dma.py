"""Register-level SPI (H7 SPI with TSIZE/EOT) and DMA stream models, driven the way ST's HAL
drives them: a polled transfer frame by frame, and a DMA transfer whose streams DMAMUX picks
by request number. MISO is wired to MOSI, so what is sent comes back."""
from __future__ import annotations

import pytest

from h7psram.boards import load_board
from h7psram.sim import exceptions as ex
from h7psram.sim import dma
from h7psram.sim.machine import Machine
from h7psram.sim.spi import CFG1, CFG2, CR1, CR2, CSTART, EOT, IER, IFCR, RXDMAEN, RXDR, RXP, SPE, SR, \
    TXC, TXDMAEN, TXDR, TXP

SRC, DST = 0x24000000, 0x24001000
MBR_256 = 7 << 28
MASTER = 1 << 22


@pytest.fixture
def m():
    machine = Machine(load_board("devebox_h7a3"), uart="none")
    yield machine
    machine.close()


def advance_to(m, cycle):
    m.cycles = cycle
    m.events.fire_due(cycle)


def start(spi, frames, cfg1=0):
    spi.write(CFG1, 4, 7 | MBR_256 | cfg1)              # 8-bit frames, kernel / 256
    spi.write(CFG2, 4, MASTER)
    spi.write(CR2, 4, frames)
    spi.write(CR1, 4, SPE)
    spi.write(CR1, 4, SPE | CSTART)


def test_polled_frames_take_their_time_and_come_back(m):
    spi = m.spis["SPI2"]
    start(spi, 3)
    frame_cycles = 8 * 256 * m.cpu_hz / spi.kernel_hz()
    for b in b"abc":
        assert spi.read(SR, 4) & TXP
        spi.write(TXDR, 1, b)                             # the HAL's byte-wide access
    first = spi._event.at
    assert first - m.cycles == pytest.approx(frame_cycles, rel=1e-3)
    advance_to(m, first)
    assert spi.read(SR, 4) & RXP and not spi.read(SR, 4) & EOT
    assert spi.read(RXDR, 1) == ord("a")
    advance_to(m, spi._event.at)
    advance_to(m, spi._event.at)
    assert spi.read(SR, 4) & (EOT | TXC) == EOT | TXC
    assert bytes([spi.read(RXDR, 1), spi.read(RXDR, 1)]) == b"bc"
    assert not spi.read(SR, 4) & RXP
    spi.write(IFCR, 4, EOT)
    assert not spi.read(SR, 4) & EOT


def setup_stream(m, controller, stream, request, cr, periph, memory, count):
    d = m.dma[controller]
    channel = 8 * controller + stream
    m.dmamux.write(4 * channel, 4, request)
    base = dma.stream_offset(stream)
    d.write(base + dma.NDTR, 4, count)
    d.write(base + dma.PAR, 4, periph)
    d.write(base + dma.M0AR, 4, memory)
    d.write(base + dma.CR, 4, cr | dma.MINC | dma.TCIE | dma.EN)


def test_a_dma_transfer_takes_the_block_time_then_both_streams_complete(m):
    spi = m.spis["SPI2"]
    data = bytes(range(40, 104))
    m.write_memory(SRC, data)
    m.write_memory(DST, bytes(len(data)))
    # MicroPython's choice on the H7: SPI2 RX on DMA1 stream 3, TX on DMA1 stream 4
    setup_stream(m, 0, 3, spi.rx_request, 0, spi.base + RXDR, DST, len(data))
    setup_stream(m, 0, 4, spi.tx_request, 1 << 6, spi.base + TXDR, SRC, len(data))
    start(spi, len(data), RXDMAEN | TXDMAEN)
    done = spi._event.at
    assert done - m.cycles == pytest.approx(len(data) * 8 * 256 * m.cpu_hz / spi.kernel_hz(), rel=1e-3)
    advance_to(m, done - 1)
    assert m.read_memory(DST, len(data)) == bytes(len(data))
    advance_to(m, done)
    assert m.read_memory(DST, len(data)) == data
    d = m.dma[0]
    assert d.read(dma.LISR, 4) >> 22 & dma.TCIF and d.read(dma.HISR, 4) & dma.TCIF
    for n in (3, 4):
        assert not d.streams[n].enabled and d.streams[n].reg(dma.NDTR) == 0
        assert ex.IRQ0 + d.irqs[n] in m.exc.pending
    assert ex.IRQ0 + d.irqs[3] in m.exc.level
    d.write(dma.LIFCR, 4, 0x3D << 22)                       # the handler clears the flags
    assert ex.IRQ0 + d.irqs[3] not in m.exc.level
    # the HAL's DMA-complete callback enables the end-of-transfer interrupt: it fires at once
    assert spi.read(SR, 4) & EOT and ex.IRQ0 + spi.irq not in m.exc.pending
    spi.write(IER, 4, EOT)
    assert ex.IRQ0 + spi.irq in m.exc.pending


def test_a_transmit_only_dma_transfer_needs_no_rx_stream(m):
    spi = m.spis["SPI4"]
    m.write_memory(SRC, b"xyz")
    setup_stream(m, 1, 4, spi.tx_request, 1 << 6, spi.base + TXDR, SRC, 3)
    start(spi, 3, TXDMAEN)
    advance_to(m, spi._event.at)
    assert spi.read(SR, 4) & EOT and m.dma[1].read(dma.HISR, 4) & dma.TCIF
    assert spi.kernel_hz() == m.board.apb_hz["APB2"]          # SPI4/5 run from APB2 after reset


def test_disabling_the_spi_ends_a_transfer(m):
    spi = m.spis["SPI1"]
    start(spi, 8, TXDMAEN)
    assert spi._event is not None
    spi.write(CR1, 4, 0)
    assert spi._event is None and not spi.read(SR, 4) & TXP
