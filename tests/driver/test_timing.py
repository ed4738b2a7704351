"""psram_timing.c on the host: every derived register value against the part
limits it has to respect (docs/hardware.md#psram, #octospi-registers, #field-reports, #cortex-m7)."""
from __future__ import annotations

import pytest

from driver_host import call_out

OK, ERR_ZERO, ERR_NOT_POW2, ERR_RANGE = 0, 1, 2, 3
KERNEL = 140_000_000
# part -> (tCEM ns, tCPH ns) (docs/hardware.md#psram); APS extended grade has tCEM 4 us
PARTS = {
    "ESP-PSRAM64H": (8000, 50),
    "APS6404L": (8000, 18),
    "APS6404L-ext": (4000, 18),
    "LY68L6400": (8000, 50),
    "IPS6404L": (8000, 18),
}


def ns(cycles: int, clk_hz: int) -> float:
    return cycles * 1e9 / clk_hz


@pytest.mark.parametrize("prescaler", list(range(0, 16)) + [63, 255])
@pytest.mark.parametrize("tcem", [8000, 4000])
def test_refresh_keeps_reads_within_tcem(psramlib, prescaler, tcem):
    clk = psramlib.psram_timing_clk_hz(KERNEL, prescaler)
    assert clk == KERNEL // (prescaler + 1)
    status, refresh = call_out(psramlib.psram_timing_refresh, clk, tcem)
    if status == ERR_RANGE:
        # only when not even one cycle is left beside the read overhead
        assert tcem * clk // 10**9 < 4 + 2 + 1
        return
    assert status == OK
    assert refresh >= 1, "REFRESH = 0 would disable the refresh"
    # a read keeps NCS low REFRESH + 4 cycles, plus up to one quad byte (2 cycles)
    assert ns(refresh + 4, clk) <= tcem
    assert ns(refresh + 4 + 2, clk) <= tcem
    # and it is not needlessly small: one more cycle would break the margin
    assert ns(refresh + 1 + 4 + 2, clk) > tcem


def test_refresh_known_values(psramlib):
    # 70 MHz: 8 us = 560 cycles, 4 us = 280 (docs/hardware.md#octospi-registers, DCR4)
    assert call_out(psramlib.psram_timing_refresh, 70_000_000, 8000) == (OK, 554)
    assert call_out(psramlib.psram_timing_refresh, 70_000_000, 4000) == (OK, 274)
    assert call_out(psramlib.psram_timing_refresh, 0, 8000)[0] == ERR_ZERO
    assert call_out(psramlib.psram_timing_refresh, 500_000, 8000)[0] == ERR_RANGE


@pytest.mark.parametrize("part", sorted(PARTS))
@pytest.mark.parametrize("prescaler", range(0, 12))
def test_csht_covers_tcph(psramlib, part, prescaler):
    tcph = PARTS[part][1]
    clk = psramlib.psram_timing_clk_hz(KERNEL, prescaler)
    status, csht = call_out(psramlib.psram_timing_csht, clk, tcph)
    assert status == OK
    assert 0 <= csht <= 7            # 3-bit field on the H7A3 (docs/hardware.md#octospi-registers)
    assert ns(csht + 1, clk) >= tcph  # NCS high for CSHT+1 cycles
    if csht > 0:
        assert ns(csht, clk) < tcph   # the smallest value that works


def test_csht_known_values_and_limits(psramlib):
    # docs/hardware.md#field-reports (CSHT from tCPH): 70 MHz -> ESP/LY 4 cycles (CSHT 3), APS/IPUS 2 cycles (CSHT 1)
    assert call_out(psramlib.psram_timing_csht, 70_000_000, 50) == (OK, 3)
    assert call_out(psramlib.psram_timing_csht, 70_000_000, 18) == (OK, 1)
    assert call_out(psramlib.psram_timing_csht, 140_000_000, 100) == (ERR_RANGE, 0xDEADBEEF)
    assert call_out(psramlib.psram_timing_csht, 0, 50)[0] == ERR_ZERO


@pytest.mark.parametrize("max_hz,expected", [
    (133_000_000, 1), (84_000_000, 1), (70_000_000, 1), (69_999_999, 2),
    (33_000_000, 4), (140_000_000, 0), (200_000_000, 0), (1_000_000, 139)])
def test_prescaler_choice(psramlib, max_hz, expected):
    status, p = call_out(psramlib.psram_timing_prescaler, KERNEL, max_hz)
    assert (status, p) == (OK, expected)
    assert psramlib.psram_timing_clk_hz(KERNEL, p) <= max_hz
    if p > 0:
        assert psramlib.psram_timing_clk_hz(KERNEL, p - 1) > max_hz


def test_prescaler_out_of_range(psramlib):
    assert call_out(psramlib.psram_timing_prescaler, KERNEL, 100_000)[0] == ERR_RANGE
    assert call_out(psramlib.psram_timing_prescaler, KERNEL, 0)[0] == ERR_ZERO


def test_log2(psramlib):
    # DEVSIZE and CSBOUND come from the generated header; the MPU size field still uses log2
    assert call_out(psramlib.psram_timing_log2, 1024) == (OK, 10)
    assert call_out(psramlib.psram_timing_log2, 8 << 20) == (OK, 23)
    assert call_out(psramlib.psram_timing_log2, 1000)[0] == ERR_NOT_POW2
    assert call_out(psramlib.psram_timing_log2, 0)[0] == ERR_ZERO


def decode_rasr(word: int) -> dict:
    """RASR fields by bit position (docs/hardware.md#cortex-m7)."""
    return {
        "xn": (word >> 28) & 1, "ap": (word >> 24) & 7, "tex": (word >> 19) & 7,
        "s": (word >> 18) & 1, "c": (word >> 17) & 1, "b": (word >> 16) & 1,
        "srd": (word >> 8) & 0xFF, "size": (word >> 1) & 0x1F, "enable": word & 1,
        "reserved": word & ~0x173FFF3F & 0xFFFFFFFF,
    }


def test_mpu_window_rasr_bits(psramlib):
    status, word = call_out(psramlib.psram_timing_mpu_rasr_window, 8 << 20)
    assert status == OK
    f = decode_rasr(word)
    assert f["reserved"] == 0
    assert f["enable"] == 1
    assert 2 ** (f["size"] + 1) == 8 << 20           # SIZE 22
    assert f["srd"] == 0                              # all eight sub-regions on
    assert (f["tex"], f["c"], f["b"]) == (0, 1, 0)   # Normal, write-through, no write-allocate
    assert f["s"] == 0                                # shareable would make it uncached on M7
    assert f["ap"] == 3                               # full access
    assert f["xn"] == 0
    # write-back (TEX1 C1 B1, corrupting on the reference board) and the
    # implementation-defined TEX1 C1 B0 are both excluded (docs/hardware.md#cortex-m7, MPU TEX/C/B/S)
    assert (f["tex"], f["c"], f["b"]) not in {(1, 1, 1), (1, 1, 0), (0, 1, 1)}
    assert word == 0x0302002D


def test_mpu_guard_rasr_bits(psramlib):
    status, word = call_out(psramlib.psram_timing_mpu_rasr_guard, 256 << 20)
    assert status == OK
    f = decode_rasr(word)
    assert f["reserved"] == 0
    assert (f["enable"], f["xn"], f["ap"]) == (1, 1, 0)
    assert 2 ** (f["size"] + 1) == 256 << 20          # SIZE 27
    assert (f["tex"], f["c"], f["b"], f["s"]) == (0, 0, 0, 0)
    assert word == 0x10000037


def test_mpu_size_limits_and_rbar(psramlib):
    assert call_out(psramlib.psram_timing_mpu_rasr_window, 16)[0] == ERR_RANGE   # < 32 bytes
    assert call_out(psramlib.psram_timing_mpu_rasr_window, 3 << 20)[0] == ERR_NOT_POW2
    rbar = psramlib.psram_timing_mpu_rbar(0x90000000, 2)
    assert rbar == 0x90000000 | (1 << 4) | 2
    assert psramlib.psram_timing_mpu_rbar(0x90000000, 17) & 0x1F == (1 << 4) | 1


def test_delay_loops_never_short(psramlib):
    assert psramlib.psram_timing_delay_loops(150, 280_000_000) == 42_000
    assert psramlib.psram_timing_delay_loops(1, 1_000_001) == 2   # rounded up
    assert psramlib.psram_timing_delay_loops(0xFFFFFFFF, 280_000_000) == 0xFFFFFFFF


def test_bus_limit_is_four_bits_per_clock(psramlib):
    assert psramlib.psram_timing_bus_limit(70_000_000) == 35_000_000
    assert psramlib.psram_timing_bus_limit(133_000_000) == 66_500_000
    assert psramlib.psram_timing_bus_limit(0xFFFFFFFF) == 0xFFFFFFFF // 2   # no 32-bit overflow


def test_bytes_per_second_from_cycles(psramlib):
    # 64 KiB in 1 ms of a 280 MHz core
    assert psramlib.psram_timing_bytes_per_s(65536, 280_000, 280_000_000) == 65_536_000
    assert psramlib.psram_timing_bytes_per_s(65536, 3, 280_000_000) == 0xFFFFFFFF   # saturates
    assert psramlib.psram_timing_bytes_per_s(65536, 0, 280_000_000) == 0xFFFFFFFF   # too short to count
    assert psramlib.psram_timing_bytes_per_s(1, 280_000_001, 280_000_000) == 0     # rounds down
