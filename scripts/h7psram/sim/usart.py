"""USART/UART of the STM32H7 (v3 IP with FIFO): registers, TX to the host, paced RX, interrupts.

Offsets and bits from CMSIS USART_TypeDef / USART_ISR_* of stm32h7a3xx.h:
CR1 0x00 (UE b0, RE b2, TE b3, RXNEIE b5, TCIE b6, TXEIE b7), CR2 0x04,
CR3 0x08, BRR 0x0C, GTPR 0x10, RTOR 0x14, RQR 0x18, ISR 0x1C, ICR 0x20,
RDR 0x24, TDR 0x28, PRESC 0x2C. ISR resets to 0x008000C0 (TXFE, TC, TXE;
mpy-boot-trace 2). TEACK and REACK follow TE and RE (boot-trace row 7).
Transmission on the REPL UART is instant (TXE/TC always read 1): its host
end stands for a port whose pace nobody measures, and pacing it would cost
simulated busy-waiting on every line the REPL prints. Every other UART
shifts each character out in its frame time at the baud rate the firmware
set (BRR, PRESC, the APB clock of the board), with TXE and TC following the
transmit register and the shifter, so code that times its own writes sees a
real line; `loopback` wires such a UART's TX to its own RX (a jumper, as
MicroPython's target-wiring files ask for). Received bytes arrive one
per character time of 115200 baud, so firmware ring buffers see the pace
of a real line and nothing is lost while RDR is full. Host input that
arrives while the receiver is off is held, and reaches the receiver once it
has been on for HOLD_NS: the host end stands for a port (USB CDC on these
boards) that exists only while the firmware runs, and a client such as
mpremote, opening the port as the board powers up, types at once.
"""
from __future__ import annotations

from .peripheral import RegisterBlock
from .uart_io import UartEndpoint

CR1, CR2, CR3, BRR, RQR, ISR, ICR, RDR, TDR, PRESC = 0x00, 0x04, 0x08, 0x0C, 0x18, 0x1C, 0x20, 0x24, 0x28, 0x2C
UE, RE, TE = 1 << 0, 1 << 2, 1 << 3
M0, OVER8, M1, FIFOEN = 1 << 12, 1 << 15, 1 << 28, 1 << 29
RXNEIE, TCIE, TXEIE, IDLEIE = 1 << 5, 1 << 6, 1 << 7, 1 << 4
RXNE, TC, TXE, IDLE, ORE = 1 << 5, 1 << 6, 1 << 7, 1 << 4, 1 << 3
TEACK, REACK, TXFE = 1 << 21, 1 << 22, 1 << 23
CHAR_NS = 10 * 1_000_000_000 // 115200
#: PRESC.PRESCALER -> kernel clock divider (values 12..15 also divide by 256)
PRESCALERS = (1, 2, 4, 6, 8, 10, 12, 16, 32, 64, 128, 256)
#: CR2.STOP -> stop bits, in half bits
STOP_HALF_BITS = {0: 2, 1: 1, 2: 4, 3: 3}
TX_FIFO_DEPTH = 16
#: the USARTs on APB2; the others are on APB1 (kernel clock = their APB clock after reset)
APB2_USARTS = ("USART1", "USART6")
# MicroPython turns RXNEIE on a moment before its UART object is registered; a byte
# latched in between would storm the IRQ (uart.c "should never happen"), so held
# input waits until the receiver has been on this long.
HOLD_NS = 20_000_000


class Usart(RegisterBlock):
    RESET = {ISR: TXFE | TC | TXE}

    def __init__(self, machine, block) -> None:
        self.irq = block.irq
        # the REPL UART's endpoint is the machine's (sim/soc.py connects it)
        self.endpoint = UartEndpoint("none")
        self._rx_event = None
        self.rx_byte: int | None = None
        self._on_since: int | None = None      # simulated ns at which the receiver came on
        self._held = False                     # input waited while the receiver was off
        self.loopback = False                  # TX wired to RX (set by the simulator's user)
        self._tx_queue: list[int] = []         # TDR / TX FIFO contents, not yet shifting
        self._tx_event = None                  # end of the character in the shifter
        super().__init__(machine, block)
        self.on_read(ISR, self._isr)
        self.on_read(RDR, self._rdr)
        self.on_write(TDR, self._tdr)
        self.on_write(CR1, self._cr1)
        self.on_write(ICR, self._icr)
        self.on_write(RQR, self._rqr)
        self.on_write(ISR, lambda off, v: None)

    def reset(self) -> None:
        super().reset()
        if getattr(self, "_rx_event", None) is not None:
            self._rx_event.cancel()
        self._rx_event = None
        self.rx_byte = None
        self._on_since = None
        if getattr(self, "_tx_event", None) is not None:
            self._tx_event.cancel()
        self._tx_event = None
        self._tx_queue = []

    # -- registers ------------------------------------------------------------------------
    @property
    def paced(self) -> bool:
        """Characters take their frame time (every UART but the REPL's, see the module doc)."""
        return self.endpoint is not self.machine.uart

    def _isr(self, off: int) -> int:
        cr1 = self.regs.get(CR1, 0)
        value = self.regs.get(ISR, 0) & ~(TXFE | TC | TXE)
        if not self.paced:
            value |= TXFE | TC | TXE
        else:
            self.machine.note_clock_read()     # TXE/TC change with time: keep polling slices short
            depth = TX_FIFO_DEPTH if cr1 & FIFOEN else 1
            if len(self._tx_queue) < depth:
                value |= TXE
            if not self._tx_queue:
                value |= TXFE
                if self._tx_event is None:
                    value |= TC
        if self.rx_byte is not None:
            value |= RXNE
        if cr1 & TE:
            value |= TEACK
        if cr1 & RE:
            value |= REACK
        return value

    def _rdr(self, off: int) -> int:
        byte = self.rx_byte
        if byte is None:
            return self.regs.get(RDR, 0)
        self.regs[RDR] = byte
        self.rx_byte = None
        self._update_irq()
        self._arm_rx()
        return byte

    def _tdr(self, off: int, value: int) -> None:
        self.regs[TDR] = value & 0x1FF
        if self.regs.get(CR1, 0) & (UE | TE) != UE | TE:
            return
        if not self.paced:
            self.endpoint.tx(value & 0xFF)
            return
        depth = TX_FIFO_DEPTH if self.regs.get(CR1, 0) & FIFOEN else 1
        if len(self._tx_queue) >= depth:
            return                             # written while full: lost, as on the chip
        self._tx_queue.append(value & 0x1FF)
        if self._tx_event is None:
            self._shift_next()
        self._update_irq()

    def frame_ns(self) -> int:
        """Time of one character at the configured baud rate, word length and stop bits."""
        cr1, brr = self.regs.get(CR1, 0), self.regs.get(BRR, 0) & 0xFFFF
        presc = PRESCALERS[min(self.regs.get(PRESC, 0) & 0xF, len(PRESCALERS) - 1)]
        apb = "APB2" if self.name in APB2_USARTS else "APB1"
        kernel_hz = (getattr(self.machine.board, "apb_hz", None) or {}).get(apb) or self.machine.cpu_hz
        if cr1 & OVER8:
            divider = ((brr & 0xFFF0) | ((brr & 0x7) << 1)) / 2
        else:
            divider = brr
        if divider < 1:
            return CHAR_NS                     # not configured: any sane pace will do
        data_bits = 7 if cr1 & M1 else 9 if cr1 & M0 else 8
        half_bits = 2 * (1 + data_bits) + STOP_HALF_BITS[(self.regs.get(CR2, 0) >> 12) & 3]
        return int(half_bits * divider * presc * 1_000_000_000 / (2 * kernel_hz))

    def _shift_next(self) -> None:
        char = self._tx_queue.pop(0)
        self._tx_event = self.machine.after_ns(self.frame_ns(), lambda: self._shifted(char))

    def _shifted(self, char: int) -> None:
        self._tx_event = None
        self.endpoint.tx(char & 0xFF)
        if self.loopback and self.receiving:
            if self.rx_byte is not None:
                self.regs[ISR] = self.regs.get(ISR, 0) | ORE   # the firmware did not read in time
            self.rx_byte = char
        if self._tx_queue:
            self._shift_next()
        self._update_irq()

    def _cr1(self, off: int, value: int) -> None:
        was_on = self.receiving
        self.regs[CR1] = value
        if self.receiving and not was_on:
            self._on_since = self.machine.now_ns
        elif not self.receiving:
            self._on_since = None
        self._update_irq()
        self._arm_rx()

    def _icr(self, off: int, value: int) -> None:
        self.regs[ISR] = self.regs.get(ISR, 0) & ~(value & 0x0012_1B5F)
        self._update_irq()

    def _rqr(self, off: int, value: int) -> None:
        if value & (1 << 3):                  # RXFRQ: drop the received character
            self.rx_byte = None
            self._update_irq()
            self._arm_rx()

    # -- host side --------------------------------------------------------------------------
    @property
    def receiving(self) -> bool:
        """UE and RE set: a byte on the RX line would be taken in."""
        return self.regs.get(CR1, 0) & (UE | RE) == UE | RE

    def poll(self) -> None:
        self.endpoint.poll()
        self._arm_rx()

    def _arm_rx(self) -> None:
        if self.rx_byte is not None or self._rx_event is not None:
            return
        if not self.endpoint.rx_pending():
            return
        if not self.receiving or self._on_since is None:
            self._held = True                  # kept for when the board listens (module doc)
            return
        delay = CHAR_NS
        if self._held:
            delay = max(CHAR_NS, self._on_since + HOLD_NS - self.machine.now_ns)
            self._held = False
        self._rx_event = self.machine.after_ns(delay, self._latch)

    def _latch(self) -> None:
        self._rx_event = None
        byte = self.endpoint.rx_pop()
        if byte is None:
            return
        self.rx_byte = byte
        self._update_irq()

    def _update_irq(self) -> None:
        cr1 = self.regs.get(CR1, 0)
        isr = self._isr(ISR)
        level = bool((isr & RXNE and cr1 & RXNEIE) or (isr & TXE and cr1 & TXEIE)
                     or (isr & TC and cr1 & TCIE) or (isr & IDLE and cr1 & IDLEIE))
        self.machine.set_irq_level(self.irq, level)


def usart_name(spec: str, names=None) -> str:
    """'USART2', 'uart2' or '2' (MicroPython's UART number) -> one of `names` (the machine's
    UARTs; by default those of the workspace's SoC tree)."""
    names = sorted(names if names is not None else _tree_usarts(), key=lambda n: int(n.lstrip("SUART")))
    text = spec.strip().upper()
    if text.isdigit():
        matches = [n for n in names if n.endswith(text) and n[-len(text) - 1].isalpha()]
    else:
        matches = [n for n in names if text in (n, n.replace("USART", "UART"))]
    if len(matches) != 1:
        from ..errors import InputError
        raise InputError(f"simulator: no UART {spec!r} (one of {', '.join(names)}, or its number)")
    return matches[0]


def _tree_usarts() -> list[str]:
    from ..boards import known_boards, load_board
    from .soc import USART_COMPATIBLES
    board = load_board(known_boards()[0])
    return [b.name for b in board.mmio if b.compatible in USART_COMPATIBLES]
