"""The unmodified MicroPython stm32 firmware (NUCLEO_H7A3ZI_Q build) reaches its REPL on the simulator.

Set H7PSRAM_SIM_MPY_ELF to that build's firmware.elf (REPL on USART3).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from h7psram.sim.process import SimProcess

ELF_VAR = "H7PSRAM_SIM_MPY_ELF"


@pytest.fixture
def mpy_elf() -> Path:
    value = os.environ.get(ELF_VAR)
    if not value or not Path(value).is_file():
        pytest.skip(f"{ELF_VAR} does not name a MicroPython NUCLEO_H7A3ZI_Q firmware.elf")
    return Path(value)


@pytest.mark.micropython
@pytest.mark.slow
def test_micropython_repl_on_usart3(mpy_elf):
    with SimProcess("devebox_h7a3", mpy_elf, extra_args=["--uart", "USART3"]) as sim:
        banner = sim.wait_for(r">>> ", timeout=120)
        assert "MicroPython v1.28.0" in banner and "NUCLEO_H7A3ZI_Q" in banner
        sim.write(b"print(6*7, 2**0.5, 7/3)\r")
        assert "42 1.4142135623730952 2.3333333333333336\r\n>>> " in sim.wait_for(r">>> ", timeout=30)
        sim.write(b"import time; t=time.ticks_ms(); time.sleep_ms(50); print(time.ticks_diff(time.ticks_ms(), t))\r")
        out = sim.wait_for(r">>> ", timeout=30)
        assert "\r\n50\r\n" in out or "\r\n51\r\n" in out, out
        sim.write(b"\x04")                                   # soft reset
        assert "MicroPython v1.28.0" in sim.wait_for(r">>> ", timeout=60)
        sim.write(b"import machine; machine.reset()\r")    # AIRCR.SYSRESETREQ
        assert "MicroPython v1.28.0" in sim.wait_for(r">>> ", timeout=120)
        assert sim.stop() == 0
