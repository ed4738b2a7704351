"""Input that reaches a UART whose receiver is off is lost, as on a real line."""

from __future__ import annotations

from h7psram.boards import load_board
from h7psram.sim.machine import Machine
from h7psram.sim.usart import CR1, RE, UE


def test_bytes_sent_before_the_receiver_is_enabled_are_dropped():
    m = Machine(load_board("devebox_h7a3"), uart="none")
    usart1 = next(u for u in m._usarts if u.name == "USART1")
    assert usart1.endpoint is m.uart
    m.uart.write(b"\r")
    usart1.poll()
    assert m.uart.rx_pending() == 0              # receiver off: the byte is gone
    usart1.write(CR1, 4, UE | RE)
    assert usart1._rx_event is None              # and nothing is delivered later
    m.uart.write(b"x")
    usart1.poll()
    assert usart1._rx_event is not None          # receiver on: the byte is paced in
