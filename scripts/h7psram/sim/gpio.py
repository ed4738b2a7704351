"""GPIO ports of the STM32H7A3, one model per gpio node (its port-name is the letter).

Offsets from CMSIS GPIO_TypeDef: MODER 0x00, OTYPER 0x04, OSPEEDR 0x08,
PUPDR 0x0C, IDR 0x10, ODR 0x14, BSRR 0x18, LCKR 0x1C, AFR[0] 0x20,
AFR[1] 0x24. Reset values of MODER/OSPEEDR/PUPDR for ports A and B (debug
pins) as published in the STM32H7 family reference manuals' GPIO register
maps (RM0455 itself was not available here); all other ports reset to
analog mode (MODER all ones). IDR shows the output latch for
output pins, the levels set by the host (`set_input`) for pins the host
drives, and the pin's own pull-up/pull-down (PUPDR) for undriven inputs: a
button wired to ground with the internal pull-up reads released (1) as on
the board, which MicroPython's boot checks (a "pressed" key at reset starts
its reset-mode selection, seconds of LED blinking).
"""
from __future__ import annotations

from typing import Callable

from .peripheral import RegisterBlock

MODER, OTYPER, OSPEEDR, PUPDR, IDR, ODR, BSRR, LCKR, AFRL, AFRH = range(0, 0x28, 4)
MODES = ("input", "output", "alternate", "analog")
RESETS = {
    "A": {MODER: 0xABFFFFFF, OSPEEDR: 0x0C000000, PUPDR: 0x64000000},
    "B": {MODER: 0xFFFFFEBF, OSPEEDR: 0x000000C0, PUPDR: 0x00000100},
}


class GpioPort(RegisterBlock):
    def __init__(self, machine, block) -> None:
        letter = self.letter = block.props["port-name"]
        self.RESET = dict(RESETS.get(letter, {MODER: 0xFFFFFFFF}))
        self.inputs = 0
        self.driven = 0              # pins whose level the host sets; the others float to their pull
        self.listeners: list[Callable[[str, int, int], None]] = []
        #: told after MODER/AFRL/AFRH writes (pin functions changed), e.g. the OCTOSPI model
        self.config_listeners: list[Callable[[], None]] = []
        super().__init__(machine, block)
        self.on_read(IDR, self._idr)
        self.on_write(IDR, lambda off, v: None)
        self.on_write(BSRR, self._bsrr)
        for reg in (MODER, AFRL, AFRH):
            self.on_write(reg, self._config)

    def _config(self, off: int, value: int) -> None:
        self.store_and_tell(off, value, self.config_listeners)
        self.on_write(PUPDR, self._pupdr)
        self.on_read(BSRR, lambda off: 0)

    def _output_mask(self) -> int:
        moder = self.regs.get(MODER, 0)
        return sum(1 << pin for pin in range(16) if (moder >> (2 * pin)) & 3 == 1)

    def _pulled_high(self) -> int:
        pupdr = self.regs.get(PUPDR, 0)
        return sum(1 << pin for pin in range(16) if (pupdr >> (2 * pin)) & 3 == 1)

    def _idr(self, off: int) -> int:
        out = self._output_mask()
        pins_in = (self.inputs & self.driven) | (self._pulled_high() & ~self.driven)
        return (self.regs.get(ODR, 0) & out) | (pins_in & ~out & 0xFFFF)

    def _pupdr(self, off: int, value: int) -> None:
        before = self._idr(IDR)
        self.regs[PUPDR] = value & 0xFFFFFFFF
        self._notify_changes(before)

    def _notify_changes(self, before: int) -> None:
        after = self._idr(IDR)
        for pin in range(16):
            if (before ^ after) >> pin & 1:
                for cb in self.listeners:
                    cb(self.letter, pin, after >> pin & 1)

    def _bsrr(self, off: int, value: int) -> None:
        odr = self.regs.get(ODR, 0)
        odr = (odr & ~(value >> 16)) | (value & 0xFFFF)
        self.regs[ODR] = odr & 0xFFFF

    def set_input(self, pin: int, level: int) -> None:
        before = self._idr(IDR)
        self.driven |= 1 << pin
        self.inputs = (self.inputs & ~(1 << pin)) | ((level & 1) << pin)
        self._notify_changes(before)

    def release(self, pin: int) -> None:
        """The host stops driving the pin: it floats to its pull again."""
        before = self._idr(IDR)
        self.driven &= ~(1 << pin)
        self._notify_changes(before)


class GpioPorts:
    """Host view of all ports: what a test asks about pins."""

    def __init__(self, ports: list[GpioPort]) -> None:
        self.ports = {p.letter: p for p in sorted(ports, key=lambda p: p.letter)}

    def __getitem__(self, letter: str) -> GpioPort:
        return self.ports[letter.upper()]

    def mode(self, port: str, pin: int) -> str:
        return MODES[(self[port].get(MODER) >> (2 * pin)) & 3]

    def alternate_function(self, port: str, pin: int) -> int | None:
        """AF number of a pin in alternate-function mode, else None."""
        p = self[port]
        if self.mode(port, pin) != "alternate":
            return None
        reg = AFRL if pin < 8 else AFRH
        return (p.get(reg) >> (4 * (pin % 8))) & 0xF

    def output(self, port: str, pin: int) -> int:
        return self[port].get(ODR) >> pin & 1

    def set_input(self, port: str, pin: int, level: int) -> None:
        self[port].set_input(pin, level)

    def release(self, port: str, pin: int) -> None:
        self[port].release(pin)
