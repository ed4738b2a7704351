"""SPI1..SPI6 of the STM32H7A3 (the H7 SPI with FIFOs, TSIZE and end-of-transfer), as a master
whose MISO is wired to its own MOSI (a loopback: what is sent comes back).

Register layout and bits from CMSIS SPI_TypeDef / SPI_* of stm32h7a3xx.h: CR1 0x00 (SPE b0,
CSTART b9), CR2 0x04 (TSIZE 15:0), CFG1 0x08 (DSIZE 4:0, RXDMAEN b14, TXDMAEN b15, MBR 30:28),
CFG2 0x0C (COMM 18:17), IER 0x10, SR 0x14 (RXP b0, TXP b1, DXP b2, EOT b3, TXTF b4, TXC b12;
reset 0x1002), IFCR 0x18, TXDR 0x20, RXDR 0x30. The bit clock is the kernel clock divided by
2^(MBR + 1); the kernel clock is PLL1Q for SPI1..3 and APB2 for SPI4/5 after reset
(RCC CDCCIP1R SPI123SEL/SPI45SEL, other sources computed where the model knows them).
The DMAMUX request lines are the node's dmas ("tx", "rx"); a SPI without them (SPI6, whose
BDMA is not modelled) moves no data by DMA.

Two ways a transfer of TSIZE frames runs, as ST's HAL drives them:
- polled: each frame written to TXDR takes its frame time in the shifter (TXP while the
  16-frame FIFO has room); it comes back to RXDR (RXP) unless the SPI is a simplex transmitter;
  after the last frame EOT and TXC are set;
- DMA (TXDMAEN/RXDMAEN set at CSTART): the whole block takes TSIZE frame times; then the TX
  stream's data is fetched, stored through the RX stream, both streams complete
  (sim/dma.py), and EOT/TXC are set, so the HAL's DMA-complete handler enables the EOT
  interrupt and closes the transfer as on the chip.
Error flags (overrun, underrun, mode fault, CRC) never rise.
"""
from __future__ import annotations

from . import dma
from .peripheral import RegisterBlock

CR1, CR2, CFG1, CFG2, IER, SR, IFCR, TXDR, RXDR = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x20, 0x30
SPE, CSTART = 1 << 0, 1 << 9
RXDMAEN, TXDMAEN = 1 << 14, 1 << 15
RXP, TXP, DXP, EOT, TXTF, TXC = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 1 << 12
IFCR_MASK = 0xFF8                       # EOTC .. SUSPC
COMM_SIMPLEX_TX = 1
FIFO_FRAMES = 16

CDCCIP1R = 0x50
HSI_HZ, CSI_HZ = 64_000_000, 4_000_000


class Spi(RegisterBlock):
    RESET = {SR: TXP | TXC}

    def __init__(self, machine, block) -> None:
        self.irq = block.irq
        requests = {name: cells["request"] for name, _, cells in block.props.get("dmas", ())}
        self.rx_request, self.tx_request = requests.get("rx"), requests.get("tx")
        self._event = None
        self._tx: list[int] = []              # frames written, not yet shifted
        self._rx: list[int] = []              # frames received, not yet read
        self._left = 0                        # frames of the transfer still to shift
        super().__init__(machine, block)
        self.on_write(CR1, self._cr1)
        self.on_write(IER, self._ier)
        self.on_write(IFCR, self._ifcr)
        self.on_write(SR, lambda off, v: None)
        self.on_write(TXDR, self._txdr)
        self.on_read(RXDR, self._rxdr)
        self.on_read(SR, self._sr)

    def reset(self) -> None:
        super().reset()
        self._stop()

    def _stop(self) -> None:
        if getattr(self, "_event", None) is not None:
            self._event.cancel()
        self._event = None
        self._tx, self._rx, self._left = [], [], 0

    # -- clocks ----------------------------------------------------------------------------------
    def kernel_hz(self) -> int:
        m, board = self.machine, self.machine.board
        rcc = m.rcc
        sel = rcc.regs.get(CDCCIP1R, 0)
        if self.name in ("SPI4", "SPI5"):
            source = (sel >> 16) & 7
            options = {0: lambda: (getattr(board, "apb_hz", None) or {}).get("APB2", 0),
                       1: lambda: rcc.pll_output_hz(2, 16, board), 2: lambda: rcc.pll_output_hz(3, 16, board),
                       3: lambda: HSI_HZ, 4: lambda: CSI_HZ, 5: lambda: getattr(board, "hse_hz", 0)}
        else:
            source = (sel >> 12) & 7
            options = {0: lambda: rcc.pll_output_hz(1, 16, board), 1: lambda: rcc.pll_output_hz(2, 9, board),
                       2: lambda: rcc.pll_output_hz(3, 9, board)}
        return int(options.get(source, lambda: 0)() or m.cpu_hz)

    def frame_ns(self) -> float:
        cfg1 = self.regs.get(CFG1, 0)
        bits = (cfg1 & 0x1F) + 1
        baud = self.kernel_hz() / (2 << ((cfg1 >> 28) & 7))
        return bits * 1e9 / baud

    # -- registers -------------------------------------------------------------------------------
    def _sr(self, off: int) -> int:
        value = self.regs.get(SR, 0) & ~(RXP | TXP | DXP | 0xFFFF_0000)
        if self._rx:
            value |= RXP
        if self.regs.get(CR1, 0) & SPE and len(self._tx) < FIFO_FRAMES:
            value |= TXP
        if value & RXP and value & TXP:
            value |= DXP
        value |= (self._left & 0xFFFF) << 16  # CTSIZE
        self.machine.note_clock_read()
        return value

    def _cr1(self, off: int, value: int) -> None:
        was = self.regs.get(CR1, 0)
        self.regs[CR1] = value & ~CSTART
        if not value & SPE:
            self._stop()                       # disabling flushes the FIFOs and ends a transfer
        elif value & CSTART and not was & CSTART:
            self._start()
        self._update_irq()

    def _ier(self, off: int, value: int) -> None:
        self.regs[IER] = value
        self._update_irq()

    def _ifcr(self, off: int, value: int) -> None:
        self.regs[SR] = self.regs.get(SR, 0) & ~(value & IFCR_MASK)
        self._update_irq()

    def _txdr(self, off: int, value: int) -> None:
        if not self.regs.get(CR1, 0) & SPE or len(self._tx) >= FIFO_FRAMES:
            return
        self._tx.append(value & ((1 << ((self.regs.get(CFG1, 0) & 0x1F) + 1)) - 1))
        if self._left and self._event is None and not self._dma_mode():
            self._shift_next()
        self._update_irq()

    def _rxdr(self, off: int) -> int:
        value = self._rx.pop(0) if self._rx else 0
        self._update_irq()
        return value

    # -- transfers -------------------------------------------------------------------------------
    def _dma_mode(self) -> bool:
        return bool(self.regs.get(CFG1, 0) & (TXDMAEN | RXDMAEN))

    def _start(self) -> None:
        self._left = self.regs.get(CR2, 0) & 0xFFFF
        self.regs[SR] = self.regs.get(SR, 0) & ~(EOT | TXTF | TXC)
        if self._dma_mode():
            if self._left:
                self._event = self.machine.after_ns(int(self._left * self.frame_ns()), self._dma_done)
        elif self._tx:
            self._shift_next()

    def _shift_next(self) -> None:
        frame = self._tx.pop(0)
        self._event = self.machine.after_ns(int(self.frame_ns()), lambda: self._shifted(frame))

    def _shifted(self, frame: int) -> None:
        self._event = None
        if (self.regs.get(CFG2, 0) >> 17) & 3 != COMM_SIMPLEX_TX:
            self._rx.append(frame)             # MISO wired to MOSI
        if self._left:
            self._left -= 1
            if not self._left:
                self.regs[SR] = self.regs.get(SR, 0) | EOT | TXTF | TXC
        if self._tx and self._left:
            self._shift_next()
        self._update_irq()

    def _dma_done(self) -> None:
        self._event = None
        count, self._left = self._left, 0
        cfg1 = self.regs.get(CFG1, 0)
        tx = dma.stream_for(self.machine, self.tx_request) if cfg1 & TXDMAEN and self.tx_request else None
        rx = dma.stream_for(self.machine, self.rx_request) if cfg1 & RXDMAEN and self.rx_request else None
        frames = tx.read_items(count) if tx is not None else [0] * count
        if tx is not None:
            tx.finish()
        if rx is not None:
            rx.write_items(frames)
            rx.finish()
        self.regs[SR] = self.regs.get(SR, 0) | EOT | TXTF | TXC
        self._update_irq()

    def _update_irq(self) -> None:
        level = bool(self._sr(SR) & self.regs.get(IER, 0) & 0x7FF)
        self.machine.set_irq_level(self.irq, level)

