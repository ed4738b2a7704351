"""Memory-mapped hazards, each triggered on purpose by a CPU program and absent with the good set-up.

The CPU runs a word copy (ldr/str loop) between AXI SRAM and the PSRAM window
on the real Machine; the OCTOSPI is configured at register level first.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from test_octospi_support import (DCR1, DCR3, bring_up, build_copy_program, copies_done, make_machine,
                                  route_pins, set_copies)

from h7psram.sim.machine import Machine
from h7psram.sim.octospi import CCR, WCCR
from h7psram.boards import load_board

# the OCTOSPI1 memory-mapped window, from the board devicetree
WINDOW_BASE = load_board("devebox_h7a3").mmio_block("OCTOSPI1_MM").base

SRAM_SRC = 0x24000000
SRAM_BACK = 0x24010000
MPU_CTRL, MPU_RNR, MPU_RBAR, MPU_RASR = 0x4, 0x8, 0xC, 0x10
RCC_PLLCKSELR, RCC_PLL2DIVR, RCC_CDCCIPR = 0x28, 0x38, 0x4C


@pytest.fixture(scope="module")
def copy_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_copy_program(tmp_path_factory.mktemp("copyfw"))


def pattern(n: int, seed: int = 1) -> bytes:
    return bytes(((i * 131 + seed * 17) ^ (i >> 8)) & 0xFF for i in range(n))


def run_copy(m: Machine, elf: Path, offset: int, data: bytes, *, back: bool = True) -> bytes:
    """SRAM -> window at `offset`, then window -> SRAM; returns what came back."""
    m.write_memory(SRAM_SRC, data)
    words = len(data) // 4
    set_copies(m, (SRAM_SRC, WINDOW_BASE + offset, words),
               (WINDOW_BASE + offset, SRAM_BACK, words if back else 0))
    result = m.run(max_seconds=0.5)
    assert result.reason in ("idle", "died", "max-seconds"), result
    return m.read_memory(SRAM_BACK, len(data))


def machine_with(elf: Path) -> Machine:
    m = make_machine()
    m.load_elf(str(elf))          # resets the machine, so the pin and OCTOSPI set-up come after
    route_pins(m)
    return m


def set_mpu_window(m: Machine, *, tex: int, c: int, b: int) -> None:
    """One 8 MiB region on the window, full access; the background map for the rest."""
    m.mpu.write(MPU_RNR, 0)
    m.mpu.write(MPU_RBAR, WINDOW_BASE)
    m.mpu.write(MPU_RASR, (3 << 24) | (tex << 19) | (c << 17) | (b << 16) | (22 << 1) | 1)
    m.mpu.write(MPU_CTRL, 0x5)


def clock_octospi_at_133_mhz(m: Machine) -> None:
    """PLL2 from the 25 MHz HSE: /5 *133 /5 = 133 MHz, selected as the OCTOSPI kernel clock."""
    rcc = m.rcc
    rcc.write(RCC_PLLCKSELR, 4, 2 | (5 << 12))
    rcc.write(RCC_PLL2DIVR, 4, 132 | (4 << 24))
    rcc.write(RCC_CDCCIPR, 4, 2 << 4)


# -- fast path -------------------------------------------------------------------------------
def test_good_configuration_runs_on_the_plain_ram_path(copy_elf: Path) -> None:
    m = machine_with(copy_elf)
    drv = bring_up(m)
    drv.memory_mapped()
    assert drv.ospi.mapped == ("ram", 0x800000), drv.ospi.mapping_reasons
    data = pattern(4096)
    assert run_copy(m, copy_elf, 0x3F00, data) == data
    assert copies_done(m)
    assert drv.ospi.psram.array[0x3F00:0x3F00 + 4096] == data
    assert not drv.ospi.psram.violations


# -- (a) DQS off ------------------------------------------------------------------------------
def test_write_with_dqs_disabled_is_a_bus_error(copy_elf: Path) -> None:
    m = machine_with(copy_elf)
    drv = bring_up(m)
    drv.memory_mapped(dqse=False)
    assert any("DQSE=0" in r for r in drv.ospi.mapping_reasons)
    run_copy(m, copy_elf, 0x100, pattern(64))
    report = m.fault_report
    assert report is not None and not copies_done(m)
    assert "BusFault" in report.cause and report.fault_address == WINDOW_BASE + 0x100
    # an error on the write response: imprecise, no BFAR, escalated (BusFault not enabled)
    assert "IMPRECISERR" in report.cause
    assert report.cfsr & (1 << 10) and not report.cfsr & ((1 << 9) | (1 << 15))
    assert report.hfsr & (1 << 30)


def test_reads_with_dqs_disabled_in_wccr_still_work(copy_elf: Path) -> None:
    m = machine_with(copy_elf)
    drv = bring_up(m)
    drv.qpi_write(0x200, pattern(256))
    drv.memory_mapped(dqse=False)
    set_copies(m, (WINDOW_BASE + 0x200, SRAM_BACK, 64))
    m.run(max_seconds=0.5)
    assert m.fault_report is None and copies_done(m)
    assert m.read_memory(SRAM_BACK, 256) == pattern(256)


# -- (b) page crossing above 84 MHz -------------------------------------------------------------
@pytest.mark.parametrize("csbound, hazard", [(0, True), (10, False)])
def test_bursts_crossing_a_page_at_133_mhz_wrap(copy_elf: Path, csbound: int, hazard: bool) -> None:
    m = machine_with(copy_elf)
    clock_octospi_at_133_mhz(m)
    # tCEM 8 us = 1064 clocks at 133 MHz -> REFRESH 1000; tCPH 50 ns -> 7 clocks (CSHT 6)
    drv = bring_up(m, prescaler=0, csbound=csbound, refresh=1000, csht=6)
    assert drv.ospi.clk_hz() == 133_000_000
    drv.memory_mapped(lptr=64)          # a long timeout: back-to-back accesses share one burst
    data = pattern(2048, seed=3)
    back = run_copy(m, copy_elf, 0, data)
    chip = drv.ospi.psram
    if hazard:
        assert drv.ospi.mapped[0] == "burst"
        assert chip.violation_counts["page-cross"] > 0
        assert bytes(chip.array[:2048]) != data
    else:
        assert drv.ospi.mapped[0] == "ram", drv.ospi.mapping_reasons
        assert back == data and bytes(chip.array[:2048]) == data
        assert not chip.violations


# -- (c) CE# low beyond tCEM -------------------------------------------------------------------------
def test_timeout_counter_isolates_reads_but_not_posted_writes() -> None:
    """REFRESH 0 with TCEN and LPTR 1: NCS rises between reads (the CPU waits for each), but
    posted writes follow each other with no idle clock, so only CSBOUND ends a write burst."""
    m = make_machine()
    drv = bring_up(m, refresh=0)
    drv.memory_mapped(tcen=True, lptr=1)
    assert drv.ospi.isolated_reads() and drv.ospi.mapped[0] == "burst"
    assert [r for r in drv.ospi.mapping_reasons if "REFRESH=0" in r] == [
        r for r in drv.ospi.mapping_reasons if "between writes" in r]
    drv.leave_memory_mapped()
    drv.memory_mapped(tcen=True, lptr=16)        # a longer timeout lets reads merge too
    assert not drv.ospi.isolated_reads()
    assert any("longest read burst" in r for r in drv.ospi.mapping_reasons), drv.ospi.mapping_reasons


@pytest.mark.parametrize("refresh, hazard", [(0, True), (500, False)])
def test_refresh_bounds_ce_low_time(copy_elf: Path, refresh: int, hazard: bool) -> None:
    m = machine_with(copy_elf)
    drv = bring_up(m, refresh=refresh)
    drv.memory_mapped(tcen=False)       # NCS stays low between accesses (docs/hardware.md#memory-mapped)
    data = pattern(2048, seed=5)
    back = run_copy(m, copy_elf, 0x10000, data)
    chip = drv.ospi.psram
    if hazard:
        assert any("REFRESH=0" in r for r in drv.ospi.mapping_reasons)
        assert chip.violation_counts["tcem"] > 0
        assert back != data
    else:
        assert drv.ospi.mapped[0] == "ram", drv.ospi.mapping_reasons
        assert back == data and not chip.violations


# -- (d) posted writes without REFRESH, whatever the MPU attribute -----------------------------------
@pytest.mark.parametrize("refresh, hazard", [(0, True), (554, False)])
def test_not_bufferable_alone_does_not_bound_posted_write_bursts(
        copy_elf: Path, refresh: int, hazard: bool) -> None:
    m = machine_with(copy_elf)
    # koendv's set-up (docs/hardware.md#field-reports): CSBOUND 10, TCEN with LPTR 1, CSHT 0; REFRESH 0 or from tCEM
    drv = bring_up(m, refresh=refresh, csht=0)
    set_mpu_window(m, tex=1, c=0, b=0)           # Normal, not cacheable, not bufferable
    drv.memory_mapped(tcen=True, lptr=1)
    assert drv.ospi.mapped[0] == ("burst" if hazard else "ram"), drv.ospi.mapping_reasons
    data = pattern(4096, seed=7)
    run_copy(m, copy_elf, 0x3E2000, data, back=False)
    stored = bytes(drv.ospi.psram.array[0x3E2000:0x3E2000 + 4096])
    if hazard:
        assert stored != data and drv.ospi.psram.violation_counts["tcem"] > 0
    else:
        assert stored == data
        assert drv.ospi.psram.violation_counts["tcem"] == 0
        assert any("tCPH" in n for n in drv.ospi.mapping_notes)       # CSHT 0 is still reported
        assert drv.ospi.psram.violation_counts["tcph"] == 1


def test_mpu_change_remaps_the_window(copy_elf: Path) -> None:
    m = machine_with(copy_elf)
    drv = bring_up(m)
    drv.memory_mapped()
    assert drv.ospi.mapped[0] == "ram"
    set_mpu_window(m, tex=1, c=1, b=1)
    assert drv.ospi.mapped[0] == "ram"           # write-back, but the D-cache is off (CCR.DC = 0)
    m.scs.write(0xED14, 4, m.scs.ccr | (1 << 16))
    assert drv.ospi.mapped[0] == "burst"
    set_mpu_window(m, tex=1, c=0, b=0)
    assert drv.ospi.mapped[0] == "ram"


def test_register_change_in_mapped_mode_is_re_evaluated() -> None:
    m = make_machine()
    drv = bring_up(m)
    drv.memory_mapped()
    assert drv.ospi.mapped[0] == "ram"
    wccr = drv.r(WCCR)
    drv.w(WCCR, wccr & ~(1 << 29))
    assert drv.ospi.mapped[0] == "burst"
    drv.w(WCCR, wccr)
    assert drv.ospi.mapped[0] == "ram"
    drv.w(DCR1, drv.r(DCR1) & ~(7 << 8))        # CSHT 0: 14 ns < tCPH 50 ns
    assert any("tCPH" in n for n in drv.ospi.mapping_notes)
    drv.w(DCR1, drv.r(DCR1) | (3 << 8))
    drv.w(DCR3, 0)                              # 70 MHz: crossing pages is allowed on the ESP part
    assert drv.ospi.mapped[0] == "ram", drv.ospi.mapping_reasons


def test_sioo_drops_the_instruction_after_the_first_burst() -> None:
    """SIOO=1 (docs/hardware.md#octospi-registers): the chips have no continuous-read mode, so the second command is garbage."""
    m = make_machine()
    drv = bring_up(m)
    drv.qpi_write(0x40, b"\x11\x22\x33\x44\x55\x66\x77\x88")
    drv.memory_mapped()
    drv.leave_memory_mapped()
    drv.w(CCR, drv.r(CCR) | (1 << 31))
    drv.memory_mapped_keep_formats()
    assert drv.ospi.mapped[0] == "burst" and any("SIOO" in r for r in drv.ospi.mapping_reasons)
    assert drv.ospi._mm_read(0x40, 4) == 0x44332211         # first command carries the opcode
    assert drv.ospi._mm_read(0x80, 4) == 0xFFFFFFFF          # new burst: address taken as opcode
    assert drv.ospi.psram.violation_counts["mode"] >= 1
