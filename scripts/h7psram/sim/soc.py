"""The STM32H7A3 peripheral set, built from the board's devicetree.

Every register block of the tree's /soc node becomes the model its
`compatible` names in MODELS (the way Renode builds a machine from a platform
description): the model gets the node's block (base, size, name, interrupts,
binding properties) and keeps only register offsets. Blocks the firmware may
configure but whose behaviour does not matter to it are plain storage; the
core's own blocks are the system control space's (sim/scs.py) and the
system page is the machine's. A node whose compatible has no entry gets no
model: accesses to it are reported once as unmodelled, as for any address
off the map. The tree is the Board the machine was given, parsed once.
"""
from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Callable

from .dbgmcu import Dbgmcu
from .dma import Dma, Dmamux
from .exti import Exti, Syscfg
from .flash import Flash
from .gpio import GpioPort, GpioPorts
from .peripheral import Peripheral, PlainStorage
from .pwr import Pwr
from .rcc import Rcc
from .rng import Rng
from .rtc import Rtc
from .spi import Spi
from .tamp import Tamp
from .timers import Timer
from .usart import Usart
from .usb_otg import UsbOtgHs

if TYPE_CHECKING:  # pragma: no cover
    from ..boards import MmioBlock
    from .machine import Machine

log = logging.getLogger("h7psram.sim")

USART_COMPATIBLES = ("st,stm32-usart", "st,stm32-uart")

#: compatible -> model class, called as Model(machine, block)
MODELS: dict[str, Callable[["Machine", "MmioBlock"], Peripheral]] = {
    "st,stm32h7-rcc": Rcc,
    "st,stm32-pwr": Pwr,
    "st,stm32h7-flash-controller": Flash,
    "st,stm32-gpio": GpioPort,
    "st,stm32-syscfg": Syscfg,
    "st,stm32-exti": Exti,
    **{compatible: Usart for compatible in USART_COMPATIBLES},
    "st,stm32-timers": Timer,
    "st,stm32h7-spi": Spi,
    "st,stm32-dma-v1": Dma,
    "st,stm32-dmamux": Dmamux,
    "st,stm32-rng": Rng,
    "st,stm32-rtc": Rtc,
    "st,stm32-tamp": Tamp,
    "st,stm32-dbgmcu": Dbgmcu,
    "st,stm32-otghs": UsbOtgHs,
    # Disabled again on every MicroPython soft reset (i2c/dac deinit) or configured once and
    # never read back: storage is enough until a test needs their behaviour.
    "st,stm32-i2c-v2": PlainStorage,
    "st,stm32-dac": PlainStorage,
    "st,stm32-fmc": PlainStorage,
    "st,stm32-dlyb": PlainStorage,
    # Storage until sim/octospi.py replaces the board's PSRAM controller and the I/O manager.
    "st,stm32-ospi": PlainStorage,
    "st,stm32-ospim": PlainStorage,
}

#: compatible -> what models the block instead of a bus peripheral
ELSEWHERE = {
    "arm,armv7m-systick": "sim/scs.py",
    "arm,v7m-nvic": "sim/scs.py",
    "arm,v7m-scb": "sim/scs.py",
    "arm,armv7m-mpu": "sim/mpu.py through sim/scs.py",
    "st,stm32-otp": "the machine's system page",
    "st,stm32-device-info": "the machine's system page",
}


def attach_stm32h7a3(m: "Machine") -> None:
    models: list[Peripheral] = []
    m.unmodelled_nodes = []
    for block in m.board.mmio:
        if block.reg_index or block.compatible in ELSEWHERE:
            continue                    # a memory window (its controller maps it), or the core's
        model = MODELS.get(block.compatible)
        if model is None:
            m.unmodelled_nodes.append(block)
            log.debug("no model for %s (%s): its accesses are reported", block.name, block.compatible)
            continue
        p = model(m, block)
        m.add_peripheral(p)
        models.append(p)
    _connect(m, models)
    _attach_octospi(m)


def _connect(m: "Machine", models: list[Peripheral]) -> None:
    """The wiring between models and the machine's handles on them (by model, never by address)."""
    def of(cls):
        return [p for p in models if type(p) is cls]

    m.rcc = of(Rcc)[0]
    m._gpio = GpioPorts(of(GpioPort))
    for exti in of(Exti):
        exti.syscfg = of(Syscfg)[0]
        for port in m._gpio.ports.values():
            port.listeners.append(exti.gpio_changed)
    m.usarts = {u.name: u for u in of(Usart)}
    repl = m.usarts.get(m.repl_uart_name)
    if repl is None:
        from ..errors import InputError
        raise InputError(f"simulator: REPL UART {m.repl_uart_name} is not one of {', '.join(m.usarts)}")
    repl.endpoint = m.uart
    m._usarts = [repl] + [u for u in m.usarts.values() if u is not repl]
    m.spis = {s.name: s for s in of(Spi)}
    controllers = {d.name: d for d in of(Dma)}
    m.dmamux = of(Dmamux)[0]
    m.dmamux.controllers = [controllers[name] for name in m.dmamux.controller_names]
    m.dma = m.dmamux.controllers


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
