"""Register-level timing of the simulated UARTs and SysTick, without running code.

A UART other than the REPL's shifts each character out in its frame time, TXE and TC follow
the transmit register and the shifter, and a loopback jumper brings each character back to its
own receiver (what MicroPython's machine_uart_tx test measures through its target wiring).
SysTick's VAL and COUNTFLAG agree around a wrap, which MicroPython's ticks_us relies on.
"""
from __future__ import annotations

import pytest

from h7psram.boards import load_board
from h7psram.errors import InputError
from h7psram.sim.machine import Machine
from h7psram.sim.usart import CR1, ISR, RDR, RE, RXNE, TC, TDR, TE, TXE, UE, BRR, usart_name


@pytest.fixture
def m():
    machine = Machine(load_board("devebox_h7a3"), uart="none")
    yield machine
    machine.close()


def advance_to(m, cycle):
    m.cycles = cycle
    m.events.fire_due(cycle)


def test_a_character_takes_its_frame_time_and_comes_back_over_the_jumper(m):
    u = m.usarts["USART2"]
    u.loopback = True
    kernel = m.board.apb_hz["APB1"]
    u.write(BRR, 4, round(kernel / 9600))
    u.write(CR1, 4, UE | TE | RE)
    assert abs(u.frame_ns() - 10 * 1e9 / 9600) < 1e9 / 9600 / 100        # 10 bits, within 1 %
    u.write(TDR, 4, ord("A"))
    isr = u.read(ISR, 4)
    assert isr & TXE and not isr & TC                  # "A" in the shifter, the register free
    u.write(TDR, 4, ord("B"))
    assert not u.read(ISR, 4) & TXE                    # "B" waits in the register
    first = u._tx_event.at
    assert first - m.cycles == pytest.approx(u.frame_ns() * m.cpu_hz / 1e9, rel=1e-3)
    advance_to(m, first - 1)
    assert not u.read(ISR, 4) & RXNE                   # not before its stop bit
    advance_to(m, first)
    assert u.read(ISR, 4) & (RXNE | TXE) == RXNE | TXE and not u.read(ISR, 4) & TC
    assert u.read(RDR, 4) == ord("A")
    advance_to(m, u._tx_event.at)
    assert u.read(ISR, 4) & (TC | TXE | RXNE) == TC | TXE | RXNE
    assert u.read(RDR, 4) == ord("B")


def test_without_the_jumper_nothing_comes_back(m):
    u = m.usarts["UART7"]
    u.write(BRR, 4, 1215)
    u.write(CR1, 4, UE | TE | RE)
    u.write(TDR, 4, 0x55)
    advance_to(m, u._tx_event.at)
    assert u.read(ISR, 4) & TC and not u.read(ISR, 4) & RXNE


def test_the_repl_uart_sends_at_once(m):
    u = m.usarts["USART1"]
    u.write(BRR, 4, 1215)
    u.write(CR1, 4, UE | TE | RE)
    for ch in b"ok":
        u.write(TDR, 4, ch)
        assert u.read(ISR, 4) & (TXE | TC) == TXE | TC
    assert u._tx_event is None and m.uart.output() == b"ok"


@pytest.mark.parametrize("spec, name", [("2", "USART2"), ("uart2", "USART2"), ("USART6", "USART6"),
                                        ("7", "UART7"), ("uart4", "UART4")])
def test_uart_names_for_the_loopback_option(spec, name):
    assert usart_name(spec) == name


def test_an_unknown_uart_is_one_line():
    with pytest.raises(InputError, match=r"no UART '9' \(one of USART1, .*or its number\)"):
        usart_name("9")


def test_systick_val_and_countflag_agree_around_a_wrap(m):
    st = m.scs.systick
    st.write(0x4, 279_999)                          # 1 ms at 280 MHz
    st.write(0x8, 0)
    st.write(0x0, 7)                                # enable, interrupt, core clock
    wrap = st._event.at
    # Inside the last slice before the wrap, time stands at the slice start; a VAL read there
    # must not be thousands of counts above zero while the next slice's CTRL says "wrapped".
    m._in_emu, m._slice_end = True, wrap
    assert st.read(0x8) == 0
    m._in_emu = False
    advance_to(m, wrap)
    m._in_emu, m._slice_end = True, wrap + 2000
    assert st.read(0x8) == 279_999                  # reloaded at once: the new millisecond starts
    assert st.read(0x0) & 1 << 16                   # and COUNTFLAG says so
    m._in_emu = False
    m.cycles = wrap + 1000
    assert st.read(0x8) == 279_999 - 1000
