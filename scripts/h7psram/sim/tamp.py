"""Tamper and backup registers of the STM32H7A3 (TAMP): BKP0R..BKP31R at 0x100..0x17C.

Offsets from CMSIS TAMP_TypeDef of stm32h7a3xx.h (on RM0455 parts the backup
registers moved from the RTC block to TAMP). They live in the backup domain:
a system reset keeps them, only power-on clears them. That is what makes them
a place to leave a word across the reset between an application and mboot
(e.g. the status of a firmware update, `fwupdate.update_mpy(..., status_addr=)`).
The tamper inputs themselves are not modelled: their registers are plain storage.
"""
from __future__ import annotations

from .peripheral import RegisterBlock

BKP0R = 0x100
BACKUP_WORDS = 32


class Tamp(RegisterBlock):
    backup_domain = True
