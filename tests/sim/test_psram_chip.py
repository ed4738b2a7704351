"""The PSRAM chip model on its own: commands as wire-level transactions (docs/hardware.md#psram)."""
from __future__ import annotations

import pytest

from h7psram.boards import load_board
from h7psram.errors import InputError
from h7psram.sim.psram_faults import PsramFaults
from h7psram.sim.psram import PARTS, Psram, find_part, part_for_board

MHZ = 1_000_000
CLK = 70 * MHZ


def chip(part: str = "ESP-PSRAM64H", **faults: object) -> Psram:
    return Psram(PARTS[part], PsramFaults(**faults))  # type: ignore[arg-type]


def spi_read_id(c: Psram, clk: int = CLK) -> bytes:
    return c.transaction(0x9F, clk_hz=clk, address=0, read_len=8)


def quad_write(c: Psram, address: int, data: bytes, *, clk: int = CLK, qpi: bool = False) -> None:
    c.transaction(0x38, clk_hz=clk, instruction_lines=4 if qpi else 1, address=address, address_lines=4,
                  data_lines=4, write=data)


def quad_read(c: Psram, address: int, n: int, *, clk: int = CLK, qpi: bool = False, dummy: int = 6) -> bytes:
    return c.transaction(0xEB, clk_hz=clk, instruction_lines=4 if qpi else 1, address=address, address_lines=4,
                         data_lines=4, dummy_cycles=dummy, read_len=n)


def test_read_id_in_spi_mode_gives_mfid_kgd_and_eid() -> None:
    assert spi_read_id(chip()).hex(" ") == "0d 5d 52 a2 64 31 91 31"


def test_read_id_is_rejected_in_qpi_mode() -> None:
    c = chip()
    c.transaction(0x35, clk_hz=CLK)
    assert c.qpi
    answer = c.transaction(0x9F, clk_hz=CLK, instruction_lines=4, address=0, address_lines=4, data_lines=4,
                           read_len=8)
    assert answer == b"\xff" * 8
    assert c.violation_counts["mode"] == 1


def test_spi_commands_round_trip_and_fast_read_needs_eight_wait_cycles() -> None:
    c = chip()
    c.transaction(0x02, clk_hz=CLK, address=0x1234, write=b"spi-write")
    assert c.array[0x1234:0x1234 + 9] == b"spi-write"
    assert c.transaction(0x0B, clk_hz=CLK, address=0x1234, dummy_cycles=8, read_len=9) == b"spi-write"
    assert c.transaction(0x03, clk_hz=20 * MHZ, address=0x1234, read_len=9) == b"spi-write"
    assert not c.violations


def test_slow_read_above_33_mhz_is_recorded() -> None:
    c = chip()
    c.transaction(0x03, clk_hz=CLK, address=0, read_len=4)
    assert c.violation_counts["clock"] == 1


def test_quad_enter_and_exit() -> None:
    c = chip()
    quad_write(c, 0x40, b"quad")
    c.transaction(0x35, clk_hz=CLK)
    assert quad_read(c, 0x40, 4, qpi=True) == b"quad"
    # a 1-line instruction is garbage to a chip in QPI mode
    assert quad_read(c, 0x40, 4, qpi=False) == b"\xff" * 4
    c.transaction(0xF5, clk_hz=CLK, instruction_lines=4)
    assert not c.qpi
    assert quad_read(c, 0x40, 4) == b"quad"


def test_exit_quad_is_not_an_spi_command() -> None:
    c = chip()
    c.transaction(0xF5, clk_hz=CLK)
    assert c.violation_counts["mode"] == 1 and not c.qpi


def test_reset_needs_reset_enable_immediately_before() -> None:
    c = chip()
    c.transaction(0x35, clk_hz=CLK)
    c.transaction(0x66, clk_hz=CLK, instruction_lines=4)
    c.transaction(0xC0, clk_hz=CLK, instruction_lines=4)    # anything in between cancels it
    c.transaction(0x99, clk_hz=CLK, instruction_lines=4)
    assert c.qpi and c.resets == 0
    c.transaction(0x66, clk_hz=CLK, instruction_lines=4)
    c.transaction(0x99, clk_hz=CLK, instruction_lines=4)
    assert not c.qpi and c.resets == 1


def test_reset_sent_on_four_lines_to_an_spi_chip_does_nothing() -> None:
    c = chip()
    c.transaction(0x66, clk_hz=CLK, instruction_lines=4)
    c.transaction(0x99, clk_hz=CLK, instruction_lines=4)
    assert c.resets == 0
    c.transaction(0x66, clk_hz=CLK)
    c.transaction(0x99, clk_hz=CLK)
    assert c.resets == 1


@pytest.mark.parametrize("dummy, expect", [
    (6, b"\x12\x34\x56\x78"),
    (7, b"\x23\x45\x67\x8f"),    # one extra dummy: a nibble of data is skipped
    (5, b"\xf1\x23\x45\x67"),    # one short: a floating nibble comes first
])
def test_wrong_dummy_cycles_shift_the_data(dummy: int, expect: bytes) -> None:
    c = chip()
    quad_write(c, 0x100, b"\x12\x34\x56\x78\xff")
    assert quad_read(c, 0x100, 4, dummy=dummy) == expect


def test_page_crossing_continues_at_84_mhz_and_wraps_above() -> None:
    c = chip()
    c.array[0x400:0x404] = b"NEXT"
    c.array[0x000:0x004] = b"HEAD"
    assert quad_read(c, 0x3FC, 8, clk=84 * MHZ)[4:] == b"NEXT"
    assert not c.violations
    assert quad_read(c, 0x3FC, 8, clk=133 * MHZ)[4:] == b"HEAD"
    assert c.violation_counts["page-cross"] == 1


def test_non_rbx_aps_always_wraps_inside_the_page() -> None:
    c = chip("APS6404L-3SQN")
    c.array[0x800:0x802] = b"PG"
    quad_write(c, 0xBFE, b"abcd", clk=20 * MHZ)
    assert c.array[0xBFE:0xC00] == b"ab" and c.array[0x800:0x802] == b"cd"


def test_rbx_aps_crosses_only_once_per_burst() -> None:
    c = chip("APS6404L-3SQR")
    data = bytes(range(256)) * 9              # 2304 bytes from 0x3F0: crosses 0x400 and 0x800
    quad_write(c, 0x3F0, data, clk=50 * MHZ)
    assert c.array[0x400:0x410] == data[0x10:0x20]          # first crossing went on
    assert c.array[0x400:0x402] != b"\x00\x00" and c.violation_counts["page-cross"] == 1
    assert c.array[0x800:0x810] == bytes(16)                # second crossing wrapped to 0x400


def test_wrap_toggle_makes_bursts_wrap_in_32_bytes() -> None:
    c = chip()
    c.array[0x20:0x40] = bytes(range(32))
    c.transaction(0xC0, clk_hz=CLK)
    assert quad_read(c, 0x3C, 8) == bytes([28, 29, 30, 31, 0, 1, 2, 3])
    c.transaction(0x66, clk_hz=CLK)
    c.transaction(0x99, clk_hz=CLK)
    assert not c.wrap32


def test_ce_low_beyond_tcem_loses_the_rest_of_a_write_burst() -> None:
    c = chip()
    data = b"\xaa" * 1024
    # 1 KiB quad write at 70 MHz: 2048 data clocks = 29 us, tCEM is 8 us
    quad_write(c, 0, data)
    kept = c.array[:1024]
    cutoff = kept.index(0)
    assert 200 < cutoff < 300                    # about 8 us / (2 * 14.3 ns)
    assert kept[cutoff:] == bytes(1024 - cutoff)
    assert c.violation_counts["tcem"] == 1


def test_ce_low_beyond_tcem_corrupts_read_data_after_the_limit() -> None:
    c = chip()
    c.array[:1024] = b"\x5a" * 1024
    got = quad_read(c, 0, 1024)
    assert got[:200] == b"\x5a" * 200 and got[-1] == 0
    assert c.array[:1024] == b"\x5a" * 1024     # the cells keep their value


def test_tcph_violation_is_recorded() -> None:
    c = chip("ESP-PSRAM64H")
    c.transaction(0x66, clk_hz=CLK, ce_high_ns=20)
    assert c.violation_counts["tcph"] == 1
    c2 = chip("APS6404L-3SQR")
    c2.transaction(0x66, clk_hz=CLK, ce_high_ns=20)
    assert not c2.violations


def test_aps_read_id_limited_to_33_mhz_and_qpi_fast_read_exists() -> None:
    c = chip("APS6404L-3SQR")
    spi_read_id(c, clk=CLK)
    assert c.violation_counts["clock"] == 1
    c.transaction(0x35, clk_hz=CLK)
    quad_write(c, 0, b"aps!", qpi=True)
    assert c.transaction(0x0B, clk_hz=50 * MHZ, instruction_lines=4, address=0, address_lines=4,
                         data_lines=4, dummy_cycles=4, read_len=4) == b"aps!"
    esp = chip("ESP-PSRAM64H")
    esp.transaction(0x35, clk_hz=CLK)
    esp.transaction(0x0B, clk_hz=50 * MHZ, instruction_lines=4, address=0, address_lines=4,
                    data_lines=4, dummy_cycles=4, read_len=4)
    assert esp.violation_counts["mode"] == 1


def test_parts_from_the_boards() -> None:
    devebox = part_for_board(load_board("devebox_h7a3").psram)
    assert devebox.name == "ESP-PSRAM64H" and devebox.id_bytes[:2] == b"\x0d\x5d"
    weact = part_for_board(load_board("weact_mini_h7a3").psram)
    assert weact.name.startswith("APS6404L")
    assert find_part("LY68L6400SLIT").name == "LY68L6400"
    with pytest.raises(InputError, match="W25Q64"):
        find_part("W25Q64")
