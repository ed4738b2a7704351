"""A chip that answers but has a stuck data bit: memtest fails, the heap stays internal.

Simulator faults: skipped under Zephyr's harness, as test_fallback_absent.py says why.
"""

from __future__ import annotations

import re

import pytest

from h7psram.twister.raw_repl import Repl

pytestmark = pytest.mark.fault_injection


@pytest.fixture(scope="module")
def sim_faults() -> tuple[str, ...]:
    return ("stuck-bit=3",)


def test_boot_log_names_the_failing_address(boot_lines: list[str]) -> None:
    log = "\n".join(boot_lines)
    assert re.search(r"^spiram eid", log, re.MULTILINE), log
    found = re.search(r"^spiram (\w+) fail, address 0x(9[0-7][0-9a-f]{6}) written 0x([0-9a-f]+) read 0x([0-9a-f]+)$",
                      log, re.MULTILINE)
    assert found, log
    written, read = int(found.group(3), 16), int(found.group(4), 16)
    assert written != read
    assert "spiram memtest pass" not in log


def test_heap_stays_internal_and_memtest_can_be_rerun(repl: Repl) -> None:
    free = repl.eval("__import__('gc').mem_free()")
    assert free < 1_048_576, f"gc.mem_free() = {free}: the failed PSRAM must not be in the heap"
    info = repl.eval("__import__('psram').info()")
    assert (info["mapped"], info["heap"]) == (True, False)
    assert re.match(r"spiram \w+ fail", info["memtest"]), info["memtest"]
    # the chip is mapped but not in the heap, so the memtest may run again, and fails again
    assert repl.eval("__import__('psram').memtest()") is False
