"""Input typed before the REPL UART receives is held, then delivered well after
the receiver comes on: never in the instant MicroPython enables RXNEIE before
registering its UART object (uart.c: the handler would return without reading
and the interrupt would storm)."""

from __future__ import annotations

from h7psram.boards import load_board
from h7psram.sim.machine import Machine
from h7psram.sim.usart import CHAR_NS, CR1, HOLD_NS, RE, UE


def test_bytes_sent_before_the_receiver_is_on_wait_for_the_hold_time():
    m = Machine(load_board("devebox_h7a3"), uart="none")
    usart1 = next(u for u in m._usarts if u.name == "USART1")
    assert usart1.endpoint is m.uart
    m.uart.write(b"\r")
    usart1.poll()
    assert usart1._rx_event is None and m.uart.rx_pending() == 1   # receiver off: held
    usart1.write(CR1, 4, UE | RE)
    usart1.poll()
    event = usart1._rx_event
    assert event is not None
    # Event times are in core cycles: the byte lands no sooner than the hold time.
    assert event.at >= m.cycles + (HOLD_NS - CHAR_NS) * m.cpu_hz // 1_000_000_000
