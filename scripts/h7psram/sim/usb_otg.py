"""USB OTG_HS core: enough for a device stack to initialise with no cable attached.

Offsets from CMSIS USB_OTG_GlobalTypeDef: GRSTCTL 0x10 (CSRST b0, RXFFLSH
b4, TXFFLSH b5, AHBIDL b31), GINTSTS 0x14 (CMOD b0 = 0: device mode),
CID 0x3C, GSNPSID 0x40. AHBIDL reads 1 and the reset/flush bits clear
themselves at once (mpy-boot-trace row 11); everything else is storage, so
the bus stays in the disconnected state. The other reset values (GINTSTS,
GSNPSID, GUSBCFG, FIFO sizes) are those of the Synopsys OTG core as commonly
documented for STM32; MicroPython only checks GINTSTS.CMOD.
"""
from __future__ import annotations

from .peripheral import RegisterBlock

GRSTCTL, GINTSTS, GSNPSID = 0x10, 0x14, 0x40
AHBIDL = 1 << 31
SELF_CLEARING = (1 << 0) | (1 << 4) | (1 << 5)


class UsbOtgHs(RegisterBlock):
    RESET = {GRSTCTL: AHBIDL, GINTSTS: 0x04000020, GSNPSID: 0x4F54330A, 0x0C: 0x00001400,
             0x24: 0x00000200, 0x28: 0x00000200}

    def __init__(self, machine, block) -> None:
        super().__init__(machine, block)
        self.on_read(GRSTCTL, lambda off: (self.get(GRSTCTL) & ~SELF_CLEARING) | AHBIDL)
