"""Injected PSRAM faults: parsing, and each one visible to a driver and to memory-mapped accesses."""
from __future__ import annotations

from pathlib import Path

import pytest
from test_octospi_support import bring_up, build_copy_program, make_machine, route_pins, set_copies

from h7psram.errors import InputError
from h7psram.sim.psram_faults import PsramFaults
from h7psram.boards import load_board

# the OCTOSPI1 memory-mapped window, from the board devicetree
WINDOW_BASE = load_board("devebox_h7a3").mmio_block("OCTOSPI1_MM").base

SRAM_SRC, SRAM_BACK = 0x24000000, 0x24010000


def test_from_cli_builds_every_fault() -> None:
    f = PsramFaults.from_cli(["absent", "wrong-id", "bad-kgd", "stuck-bit=3", "short=4,5"])
    assert f.absent and f.id_bytes is not None and f.id_bytes[0] != 0x0D
    assert f.kgd == 0x55 and f.stuck_data_bit == 3 and f.stuck_level == 0
    assert f.shorted_address_lines == (4, 5)
    assert PsramFaults.from_cli(["stuck-bit=7:1"]).stuck_level == 1
    assert PsramFaults.from_cli(["wrong-id=0d5d000000000000"]).id_bytes == bytes.fromhex("0d5d000000000000")
    assert not PsramFaults.from_cli([]).any


@pytest.mark.parametrize("spec, words", [
    ("stuck-bit=8", "0..7"), ("stuck-bit=x", "stuck-bit"), ("short=4", "short"), ("short=3,3", "two different"),
    ("short=1,23", "A0..A22"), ("melt", "unknown fault"), ("absent=1", "unknown fault"),
    ("wrong-id=0d5d", "8 hex bytes"), ("stuck-bit=2:5", "0 or 1"),
])
def test_from_cli_rejects_bad_specs_with_one_line(spec: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        PsramFaults.from_cli([spec])
    message = str(err.value)
    assert "\n" not in message and spec in message and words in message


def test_address_short_and_stuck_bit_arithmetic() -> None:
    f = PsramFaults(shorted_address_lines=(4, 5), stuck_data_bit=3, stuck_level=1)
    assert f.array_address(0x10) == 0x00 and f.array_address(0x20) == 0x00 and f.array_address(0x30) == 0x30
    assert f.array_data(0x00) == 0x08 and f.array_data(0xFF) == 0xFF


def test_absent_chip_reads_all_ones_and_ignores_writes() -> None:
    m = make_machine(faults=PsramFaults(absent=True))
    drv = bring_up(m, qpi=False)
    assert drv.read_id() == b"\xff" * 8
    drv.enter_qpi()
    assert not drv.ospi.psram.qpi
    drv.qpi_write(0, b"\x00\x00\x00\x00")
    assert drv.qpi_read(0, 4) == b"\xff" * 4


@pytest.mark.parametrize("fault, expect", [
    (PsramFaults(id_bytes=bytes.fromhex("9d5d52a264319131")), "9d 5d 52 a2 64 31 91 31"),
    (PsramFaults(kgd=0x55), "0d 55 52 a2 64 31 91 31"),
])
def test_id_faults_show_in_read_id(fault: PsramFaults, expect: str) -> None:
    m = make_machine(faults=fault)
    drv = bring_up(m, qpi=False)
    assert drv.read_id().hex(" ") == expect
    drv.enter_qpi()
    drv.memory_mapped()
    assert drv.ospi.mapped[0] == "ram"      # the array itself is healthy


@pytest.fixture(scope="module")
def copy_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_copy_program(tmp_path_factory.mktemp("faultfw"))


def mapped_round_trip(fault: PsramFaults, elf: Path, offset: int, data: bytes) -> tuple[bytes, object]:
    m = make_machine(faults=fault)
    m.load_elf(str(elf))
    route_pins(m)
    drv = bring_up(m)
    drv.memory_mapped()
    m.write_memory(SRAM_SRC, data)
    set_copies(m, (SRAM_SRC, WINDOW_BASE + offset, len(data) // 4),
               (WINDOW_BASE + offset, SRAM_BACK, len(data) // 4))
    m.run(max_seconds=0.5)
    return m.read_memory(SRAM_BACK, len(data)), drv


def test_stuck_data_bit_is_seen_by_a_memory_mapped_copy(copy_elf: Path) -> None:
    data = b"\xa5\x5a\xff\x00" * 64
    back, drv = mapped_round_trip(PsramFaults(stuck_data_bit=3), copy_elf, 0x1000, data)
    assert drv.ospi.mapped[0] == "direct"
    assert back == bytes(b & ~0x08 for b in data)


def test_shorted_address_lines_alias_in_memory_mapped_mode(copy_elf: Path) -> None:
    data = bytes(range(256))                   # offsets 0x00..0xFF: bits 4 and 5 vary
    back, drv = mapped_round_trip(PsramFaults(shorted_address_lines=(4, 5)), copy_elf, 0x2000, data)
    assert back != data
    # 0x10 and 0x20 both land on 0x00; the last write there came from 0x20..0x2F
    assert back[0x00:0x10] == data[0x20:0x30] and back[0x10:0x20] == data[0x20:0x30]
    assert back[0x30:0x40] == data[0x30:0x40]


def test_absent_chip_in_memory_mapped_mode_reads_ones(copy_elf: Path) -> None:
    back, drv = mapped_round_trip(PsramFaults(absent=True), copy_elf, 0, b"\x12\x34\x56\x78" * 16)
    assert back == b"\xff" * 64


def test_healthy_chip_round_trips_through_the_same_program(copy_elf: Path) -> None:
    data = bytes(range(256))
    back, drv = mapped_round_trip(PsramFaults(), copy_elf, 0x2000, data)
    assert back == data and drv.ospi.mapped[0] == "ram"
