"""No PSRAM chip at all: the boot says so and MicroPython runs on internal RAM.

The chip is taken away in the simulator (``sim_faults``), so this suite needs this project's
plugin with --device-type sim or custom; under Zephyr's harness it is skipped (the
``fault_injection`` marker), because the harness starts its dut from the command line alone.
"""

from __future__ import annotations

import pytest

from h7psram.twister.raw_repl import Repl

pytestmark = pytest.mark.fault_injection

#: the AXI SRAM is 1 MiB; with the PSRAM gone the whole heap must fit in it
INTERNAL_HEAP_MAX = 1_048_576


@pytest.fixture(scope="module")
def sim_faults() -> tuple[str, ...]:
    return ("absent",)


def test_boot_log_says_the_chip_is_missing(boot_lines: list[str]) -> None:
    log = "\n".join(boot_lines)
    assert "spiram not found, id ff ff ff ff ff ff ff ff" in boot_lines, log
    assert not any(line.startswith("spiram eid") or "memtest pass" in line for line in boot_lines), log
    assert any(line.startswith("MicroPython v") for line in boot_lines), log


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
