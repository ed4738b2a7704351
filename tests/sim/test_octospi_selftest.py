"""The real PSRAM driver (app/selftest) against the OCTOSPI/PSRAM models: register-level agreement.

Only runs that end early are here (hazard and fault variants); the full
memtest pass is covered by tests/suites/selftest.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from h7psram.boards import load_board
from h7psram.selftest_build import build_selftest
from h7psram.sim.psram_faults import PsramFaults
from h7psram.sim.machine import Machine
from h7psram.sim.octospi import CR, DCR1, DCR3, DCR4, WCCR

# the OCTOSPI1 memory-mapped window, from the board devicetree
WINDOW_BASE = load_board("devebox_h7a3").mmio_block("OCTOSPI1_MM").base

BOARD = "devebox_h7a3"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed: the self-test image cannot be built")
    top = tmp_path_factory.mktemp("selftest")
    return {
        "default": build_selftest(BOARD, top / "default"),
        "no-dqs": build_selftest(BOARD, top / "no-dqs", ["PSRAM_TEST_NO_DQS"]),
    }


def run(elf: Path, faults: PsramFaults | None = None, until: str = "spiram ") -> tuple[Machine, str]:
    m = Machine(load_board(BOARD), psram_faults=faults)
    m.load_elf(str(elf))
    m.run(max_seconds=1.0, until_text=until)
    return m, m.uart.output().decode(errors="replace")


def test_driver_configuration_is_the_safe_one(images: dict[str, Path]) -> None:
    m, out = run(images["default"], PsramFaults(stuck_data_bit=0), until="fail")
    ospi = m.peripherals["OCTOSPI1"]
    assert "spiram eid 0d 5d 52 a2 64 31 91 31" in out
    # the driver's registers satisfy every rule except the injected fault
    assert ospi.mapping_reasons == ["injected fault: data bit 0 stuck at 0"], ospi.mapping_reasons
    assert ospi.mapping_notes == [] and not ospi.psram.violations
    assert ospi.read(CR, 4) >> 28 == 3 and ospi.read(WCCR, 4) >> 29 & 1
    assert (ospi.read(DCR3, 4) >> 16) & 0x1F == 10 and ospi.read(DCR4, 4) != 0
    assert (ospi.read(DCR1, 4) >> 16) & 0x1F == 22
    assert "spiram walkones fail, address 0x90000000 written 0x00000001 read 0x00000000" in out


def test_driver_without_dqs_dies_on_the_first_mapped_write(images: dict[str, Path]) -> None:
    m, out = run(images["no-dqs"], until="hardfault")
    assert "spiram eid 0d 5d 52 a2 64 31 91 31" in out and "memtest pass" not in out
    m.run(max_seconds=0.5)
    report = m.fault_report
    assert report is not None and "BusFault" in report.cause
    assert report.fault_address == WINDOW_BASE


def test_shorted_address_lines_fail_the_address_line_test(images: dict[str, Path]) -> None:
    _, out = run(images["default"], PsramFaults(shorted_address_lines=(20, 21)), until="fail")
    assert "spiram addrlines fail, address 0x90100000" in out
