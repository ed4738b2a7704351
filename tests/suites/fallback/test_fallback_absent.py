"""No PSRAM chip at all: the boot says so and MicroPython runs on internal RAM (sim only)."""

from __future__ import annotations

import pytest

from h7psram.twister.device import DeviceAdapter
from h7psram.twister.raw_repl import Repl

#: the AXI SRAM is 1 MiB; with the PSRAM gone the whole heap must fit in it
INTERNAL_HEAP_MAX = 1_048_576


@pytest.fixture(scope="module")
def sim_faults() -> tuple[str, ...]:
    return ("absent",)


def test_boot_log_says_the_chip_is_missing(dut: DeviceAdapter) -> None:
    lines = [line.strip() for line in dut.boot_log.splitlines() if line.strip()]
    assert "spiram not found, id ff ff ff ff ff ff ff ff" in lines, dut.boot_log
    assert not any(line.startswith("spiram eid") or "memtest pass" in line for line in lines), dut.boot_log
    assert any(line.startswith("MicroPython v") for line in lines), dut.boot_log


def test_heap_is_internal_ram_only(repl: Repl) -> None:
    free = repl.eval("__import__('gc').mem_free()")
    assert 100_000 < free < INTERNAL_HEAP_MAX, f"gc.mem_free() = {free}"
    with pytest.raises(MemoryError):
        repl.exec(f"a = bytearray({INTERNAL_HEAP_MAX})")


def test_psram_module_reports_the_failure(repl: Repl) -> None:
    info = repl.eval("__import__('psram').info()")
    assert (info["mapped"], info["heap"]) == (False, False)
    assert info["status"].startswith("spiram not found"), info["status"]
    with pytest.raises(OSError, match="not mapped"):
        repl.exec("import psram\npsram.memtest()")
