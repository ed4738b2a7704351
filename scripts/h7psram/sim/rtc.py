"""Real-time clock: calendar from simulated time, init mode handshake.

Offsets from CMSIS RTC_TypeDef of stm32h7a3xx.h: TR 0x00, DR 0x04, SSR 0x08,
ICSR 0x0C (INITF b6, INIT b7, RSF b5), PRER 0x10, WUTR 0x14, CR 0x18,
WPR 0x24. INITF follows INIT and RSF always reads 1 (mpy-boot-trace rows
9-10). Leaving init mode latches the written TR/DR; from then on the
calendar advances with simulated time at 1 Hz (PRER is assumed to divide
the 32.768 kHz LSE down to 1 Hz, as every firmware here configures it).
The block is in the backup domain: a system reset keeps it running.
Reset values of DR/ICSR/PRER/WUTR as published for the STM32H7 RTC (RM0455 not
available here).
"""
from __future__ import annotations

import datetime

from .peripheral import RegisterBlock

TR, DR, SSR, ICSR, PRER, WUTR, CR, WPR = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x24
INIT, INITF, RSF, INITS = 1 << 7, 1 << 6, 1 << 5, 1 << 4
EPOCH = datetime.datetime(2000, 1, 1)


def _bcd(v: int) -> int:
    return ((v // 10) << 4) | (v % 10)


def _unbcd(v: int) -> int:
    return (v >> 4) * 10 + (v & 0xF)


class Rtc(RegisterBlock):
    backup_domain = True
    RESET = {DR: 0x00002101, ICSR: 0x00000007, PRER: 0x007F00FF, WUTR: 0x0000FFFF}

    def __init__(self, machine, block) -> None:
        super().__init__(machine, block)
        self.on_read(ICSR, self._icsr)
        self.on_write(ICSR, self._write_icsr)
        self.on_read(TR, lambda off: self._calendar()[0])
        self.on_read(DR, lambda off: self._calendar()[1])
        self.on_read(SSR, lambda off: self._calendar()[2])

    def reset(self) -> None:
        super().reset()
        self._base_time = EPOCH
        self._base_ns = 0

    def _icsr(self, off: int) -> int:
        value = self.regs.get(ICSR, 0) | RSF
        if value & INIT:
            value |= INITF
        if self._base_time != EPOCH or self.regs.get(DR, 0) != 0x2101:
            value |= INITS
        return value

    def _write_icsr(self, off: int, value: int) -> None:
        old = self.regs.get(ICSR, 0)
        self.regs[ICSR] = (old & ~0xA0) | (value & 0xA0)
        if old & INIT and not value & INIT:
            self._latch()

    def _latch(self) -> None:
        tr, dr = self.regs.get(TR, 0), self.regs.get(DR, 0)
        try:
            hour = _unbcd(tr >> 16 & 0x3F)
            if tr & (1 << 22):                 # PM in 12-hour format
                hour = hour % 12 + 12
            self._base_time = datetime.datetime(2000 + _unbcd(dr >> 16 & 0xFF), _unbcd(dr >> 8 & 0x1F),
                                                _unbcd(dr & 0x3F), hour, _unbcd(tr >> 8 & 0x7F),
                                                _unbcd(tr & 0x7F))
        except ValueError:
            self._base_time = EPOCH
        self._base_ns = self.machine.now_ns

    def _calendar(self) -> tuple[int, int, int]:
        if self.regs.get(ICSR, 0) & INIT:
            return self.regs.get(TR, 0), self.regs.get(DR, 0), 0
        elapsed = self.machine.now_ns - self._base_ns
        now = self._base_time + datetime.timedelta(microseconds=elapsed // 1000)
        tr = (_bcd(now.hour) << 16) | (_bcd(now.minute) << 8) | _bcd(now.second)
        dr = ((_bcd(now.year - 2000) << 16) | ((now.isoweekday()) << 13) | (_bcd(now.month) << 8)
              | _bcd(now.day))
        prediv_s = self.regs.get(PRER, 0) & 0x7FFF
        ssr = prediv_s - (now.microsecond * (prediv_s + 1) // 1_000_000)
        return tr, dr, ssr
