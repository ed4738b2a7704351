"""Silicon whose DQS byte mask zeroes the rest of a double word on narrow writes (the simulator's
`narrow-write-zero` hazard, docs/hardware.md#dqse): the boot memtest's store-width step names the
failure in one line and MicroPython runs on internal RAM.

Simulator faults: skipped under Zephyr's harness, as test_fallback_absent.py says why.
"""

from __future__ import annotations

import pytest

from h7psram.twister.raw_repl import Repl

pytestmark = pytest.mark.fault_injection

#: the first 32-bit store below the page boundary in the middle of the window zeroed lanes 4..7
#: of its double word; the first of them held background byte 0x5c (docs/selftest.md)
FAILURE = "spiram store32 fail, address 0x903ffffc written 0x5c read 0x00"
INTERNAL_HEAP_MAX = 1_048_576


@pytest.fixture(scope="module")
def sim_faults() -> tuple[str, ...]:
    return ("narrow-write-zero",)


def test_boot_log_has_one_line_naming_the_failure(boot_lines: list[str]) -> None:
    log = "\n".join(boot_lines)
    assert [line for line in boot_lines if "fail" in line] == [FAILURE], log
    assert any(line.startswith("spiram eid") for line in boot_lines), log
    assert "spiram memtest pass" not in boot_lines, log
    assert any(line.startswith("MicroPython v") for line in boot_lines), log


def test_heap_is_internal_ram_only(repl: Repl) -> None:
    free = repl.eval("__import__('gc').mem_free()")
    assert 100_000 < free < INTERNAL_HEAP_MAX, f"gc.mem_free() = {free}: the PSRAM must not be in the heap"
    info = repl.eval("__import__('psram').info()")
    assert (info["mapped"], info["heap"]) == (True, False)
    assert info["memtest"] == FAILURE
    # psram.memtest() runs the same steps: it fails the same way
    assert repl.eval("__import__('psram').memtest()") is False
    assert repl.eval("__import__('psram').info()['memtest']") == FAILURE
