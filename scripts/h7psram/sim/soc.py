"""The STM32H7A3 peripheral set, wired onto a Machine.

Bases from stm32h7a3xx.h (hardware-facts A.2 and the per-module comments).
Blocks the firmware may configure but whose behaviour does not matter to
it are plain storage (FMC, OCTOSPIM, and OCTOSPI1 until its model is
attached); any other address on the bus is reported once as unmodelled.
"""
from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from .dbgmcu import Dbgmcu
from .exti import Exti, Syscfg
from .flash import Flash
from .gpio import GpioPorts
from .peripheral import PlainStorage
from .pwr import Pwr
from .rcc import Rcc
from .rng import Rng
from .rtc import Rtc
from .spi import attach as attach_spi
from .tamp import Tamp
from .timers import TIMERS, Timer
from .usart import USARTS, Usart
from .usb_otg import UsbOtgHs

if TYPE_CHECKING:  # pragma: no cover
    from .machine import Machine

log = logging.getLogger("h7psram.sim")

PLAIN_BLOCKS = {
    # Disabled again on every MicroPython soft reset (spi/i2c/dac deinit): storage is enough
    # until a test needs their behaviour (SPI1..5 have a model, sim/spi.py). Bases from
    # stm32h7a3xx.h.
    "SPI6": (0x58001400, 0x400),
    "I2C1": (0x40005400, 0x400), "I2C2": (0x40005800, 0x400), "I2C3": (0x40005C00, 0x400),
    "I2C4": (0x58001C00, 0x400), "DAC1": (0x40007400, 0x400),
    "FMC": (0x52004000, 0x400),
    "OCTOSPI1": (0x52005000, 0x1000),
    "DLYB_OCTOSPI1": (0x52006000, 0x400),
    "OCTOSPIM": (0x5200B400, 0x400),
}


def attach_stm32h7a3(m: "Machine") -> None:
    rcc = Rcc(m)
    m.add_peripheral(rcc)
    m.rcc = rcc
    m.add_peripheral(Pwr(m))
    m.add_peripheral(Flash(m))
    m._gpio = GpioPorts(m)
    for port in m._gpio.ports.values():
        m.add_peripheral(port)
    syscfg = Syscfg(m, 0x58000400, 0x400)
    m.add_peripheral(syscfg)
    exti = Exti(m, syscfg)
    m.add_peripheral(exti)
    for port in m._gpio.ports.values():
        port.listeners.append(exti.gpio_changed)
    m.usarts = {}
    for name in USARTS:
        endpoint = m.uart if name == m.repl_uart_name else None
        u = Usart(m, name, endpoint)
        m.add_peripheral(u)
        m.usarts[name] = u
    if m.repl_uart_name not in m.usarts:
        from ..errors import InputError
        raise InputError(f"simulator: REPL UART {m.repl_uart_name} is not one of {', '.join(USARTS)}")
    m._usarts = [m.usarts[m.repl_uart_name]] + [u for n, u in m.usarts.items() if n != m.repl_uart_name]
    for name in TIMERS:
        m.add_peripheral(Timer(m, name))
    attach_spi(m)                       # SPI1..5 with DMA1/DMA2 and DMAMUX1
    m.add_peripheral(Rng(m))
    m.add_peripheral(Rtc(m))
    m.add_peripheral(Tamp(m))
    m.add_peripheral(Dbgmcu(m))
    m.add_peripheral(UsbOtgHs(m))
    for name, (base, size) in PLAIN_BLOCKS.items():
        m.add_peripheral(PlainStorage(m, base, size, name))
    _attach_octospi(m)


def _attach_octospi(m: "Machine") -> None:
    """OCTOSPI1 + PSRAM models live in sim/octospi.py: `attach(machine, board, psram_faults)`."""
    if getattr(m.board, "psram", None) is None:
        return                          # a board without PSRAM: the window stays unmapped
    try:
        octospi = importlib.import_module(f"{__package__}.octospi")
    except ModuleNotFoundError as err:
        if err.name and err.name.endswith("octospi"):
            log.debug("no OCTOSPI model: the PSRAM window stays unmapped")
            return
        raise
    attach = getattr(octospi, "attach", None)
    if attach is None:
        log.warning("sim/octospi.py has no attach(machine, board, psram_faults): PSRAM not modelled")
        return
    attach(m, m.board, m.psram_faults)
