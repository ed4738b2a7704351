"""OCTOSPI1 + OCTOSPIM + PSRAM driven at register level through the real Machine (no CPU)."""
from __future__ import annotations

import pytest
from test_octospi_support import (CR, DCR1, DLR, DR, FCR, IR, L1, L4, SR, TCF, RegisterDriver, bring_up, ccr,
                                  make_machine)

from h7psram.sim.octospi import AR, CCR, DCR2, TCR
from h7psram.sim.octospim import P1CR
from h7psram.boards import load_board

# the OCTOSPI1 memory-mapped window, from the board devicetree
WINDOW_BASE = load_board("devebox_h7a3").mmio_block("OCTOSPI1_MM").base

TEF, FTF, BUSY = 1 << 0, 1 << 2, 1 << 5


def test_all_registers_reset_to_zero() -> None:
    m = make_machine()
    ospi = m.peripherals["OCTOSPI1"]
    for off in (CR, DCR1, DCR2, SR, DLR, AR, CCR, TCR, IR, 0x180, 0x188, 0x190, 0x130, 0x200):
        assert ospi.read(off, 4) == 0, hex(off)
    assert m.peripherals["OCTOSPIM"].read(P1CR, 4) == 0x03010111


def test_write_masks_and_self_clearing_abort() -> None:
    m = make_machine()
    ospi = m.peripherals["OCTOSPI1"]
    ospi.write(CR, 4, 0xFFFFFFFF)
    assert ospi.read(CR, 4) == 0x30DF1FCF & ~0x2       # ABORT reads back 0
    ospi.write(CR, 4, 0)
    ospi.write(DCR1, 4, 0xFFFFFFFF)
    assert ospi.read(DCR1, 4) == 0x071F077B
    ospi.write(0x108, 4, 0xFFFFFFFF)
    assert ospi.read(0x108, 4) == 0x5000001F


def test_reset_and_read_id_in_spi_mode() -> None:
    m = make_machine()
    drv = bring_up(m, qpi=False)
    assert drv.read_id().hex(" ") == "0d 5d 52 a2 64 31 91 31"
    assert drv.ospi.psram.resets >= 1 and not drv.ospi.psram.qpi


def test_qpi_enter_then_indirect_write_and_read_back() -> None:
    m = make_machine()
    drv = bring_up(m)
    assert drv.ospi.psram.qpi
    data = bytes((i * 7 + 3) & 0xFF for i in range(300))
    drv.qpi_write(0x1F00, data)
    assert drv.qpi_read(0x1F00, 300) == data
    assert not drv.ospi.psram.violations


def test_indirect_read_streams_through_the_32_byte_fifo() -> None:
    m = make_machine()
    drv = bring_up(m)
    drv.qpi_write(0, bytes(range(64)))
    drv.wait_not_busy()
    drv.w(CR, (drv.r(CR) & ~(3 << 28)) | (1 << 28))
    drv.w(CCR, ccr(L4, L4, L4))
    drv.w(TCR, 6)
    drv.w(DLR, 63)
    drv.w(IR, 0xEB)
    drv.w(AR, 0)
    sr = drv.r(SR)
    assert (sr >> 8) & 0x3F == 32 and sr & BUSY and sr & FTF and not sr & TCF
    first = [drv.r(DR) for _ in range(8)]
    assert first[0] == 0x03020100
    sr = drv.r(SR)
    assert (sr >> 8) & 0x3F == 32 and sr & TCF          # the last 32 bytes are now in the FIFO
    rest = [drv.r(DR) for _ in range(8)]
    assert rest[-1] == 0x3F3E3D3C
    assert not drv.r(SR) & BUSY


def test_ar_beyond_devsize_sets_tef() -> None:
    m = make_machine()
    drv = bring_up(m)
    drv.w(CR, (drv.r(CR) & ~(3 << 28)) | (1 << 28))
    drv.w(CCR, ccr(L4, L4, L4))
    drv.w(DLR, 3)
    drv.w(IR, 0xEB)
    drv.w(AR, 0x00800000)
    assert drv.r(SR) & TEF and not drv.r(SR) & BUSY
    drv.w(FCR, TEF)
    assert not drv.r(SR) & TEF


def test_clock_follows_prescaler_and_rcc_kernel_clock() -> None:
    m = make_machine()
    drv = bring_up(m, prescaler=1)
    assert drv.ospi.clk_hz() == 70_000_000        # HCLK 140 MHz / 2 (docs/hardware.md#clocks)
    drv.w(DCR2, 4)
    assert drv.ospi.clk_hz() == 28_000_000


def test_misrouted_octospim_port_makes_the_chip_unreachable() -> None:
    m = make_machine()
    drv = bring_up(m, qpi=False)
    drv.w(CR, 0)                                           # OCTOSPIM may change only while disabled
    m.peripherals["OCTOSPIM"].write(P1CR, 4, 0x03010111 | (1 << 9))   # NCS from OCTOSPI2
    drv.w(CR, drv.r(CR) | 1)
    assert drv.read_id() == b"\xff" * 8
    m.peripherals["OCTOSPIM"].write(P1CR, 4, 0x03010111)
    assert drv.read_id()[:2] == b"\x0d\x5d"


def test_registers_need_the_rcc_clock() -> None:
    m = make_machine()
    ospi = m.peripherals["OCTOSPI1"]
    ospi.write(DCR1, 4, 22 << 16)
    m.rcc.write(0xD4, 4, m.rcc.read(0xD4, 4) & ~(1 << 14))
    assert ospi.read(DCR1, 4) == 0
    ospi.write(DCR1, 4, 21 << 16)
    m.rcc.write(0xD4, 4, m.rcc.read(0xD4, 4) | (1 << 14))
    assert ospi.read(DCR1, 4) == 22 << 16


def test_auto_polling_matches_a_masked_status_byte() -> None:
    m = make_machine()
    drv = bring_up(m, qpi=False)
    drv.w(CR, (drv.r(CR) & ~(3 << 28)) | (2 << 28) | (1 << 22))   # FMODE=10, APMS
    drv.w(CCR, ccr(L1, L1, L1))
    drv.w(DLR, 1)
    drv.w(0x080, 0xFFFF)            # PSMKR
    drv.w(0x088, 0x5D0D)            # PSMAR: MFID 0x0D then KGD 0x5D, little-endian in DR
    drv.w(IR, 0x9F)
    drv.w(AR, 0)
    sr = drv.r(SR)
    assert sr & (1 << 3) and sr & TCF and not sr & BUSY, hex(sr)
    assert drv.ospi.read(DR, 2) == 0x5D0D


def test_pins_not_in_their_alternate_function_float() -> None:
    m = make_machine(pins=False)
    drv = bring_up(m, qpi=False)
    assert drv.read_id() == b"\xff" * 8


def test_memory_mapped_fast_path_maps_the_array_itself() -> None:
    m = make_machine()
    drv = bring_up(m)
    drv.qpi_write(0x2000, b"indirect")
    drv.memory_mapped()
    assert drv.ospi.mapped == ("ram", 0x800000), drv.ospi.mapping_reasons
    assert m.read_memory(WINDOW_BASE + 0x2000, 8) == b"indirect"
    m.write_memory(WINDOW_BASE + 0x10, b"mapped")
    assert drv.ospi.psram.array[0x10:0x16] == b"mapped"
    assert drv.r(SR) & BUSY                       # docs/hardware.md#octospi-registers: BUSY stays set in memory-mapped mode
    drv.leave_memory_mapped()
    assert drv.ospi.mapped is None
    assert drv.qpi_read(0x10, 6) == b"mapped"


def test_window_is_unmapped_outside_memory_mapped_mode() -> None:
    from unicorn import UcError
    m = make_machine()
    bring_up(m)
    with pytest.raises(UcError):
        m.read_memory(WINDOW_BASE, 4)


def test_wrong_read_command_in_memory_mapped_mode_reads_garbage() -> None:
    m = make_machine()
    drv = bring_up(m)
    drv.qpi_write(0, b"\x12\x34\x56\x78")
    drv.memory_mapped(read_dummy=4)               # 0xEB needs 6 wait cycles
    assert drv.ospi.mapped is not None and drv.ospi.mapped[0] == "burst"
    assert any("read (CCR/TCR/IR)" in r for r in drv.ospi.mapping_reasons)
    value = drv.ospi._mm_read(0, 4)
    assert value.to_bytes(4, "little") == b"\xff\x12\x34\x56"
    drv.leave_memory_mapped()
    drv.memory_mapped(read_instr=0x03)            # an SPI-only opcode while the chip is in QPI
    assert drv.ospi._mm_read(0, 4) == 0xFFFFFFFF


def test_spi_mode_1_4_4_map_is_also_safe() -> None:
    """docs/hardware.md#psram commands, the alternative: stay in SPI, 1-line instruction, 0xEB / 0x38."""
    m = make_machine()
    drv = bring_up(m, qpi=False)
    drv.wait_not_busy()
    drv.w(CCR, ccr(L1, L4, L4))
    drv.w(TCR, 6)
    drv.w(IR, 0xEB)
    drv.w(0x180, ccr(L1, L4, L4, dqse=True))
    drv.w(0x190, 0x38)
    drv.w(0x130, 1)
    drv.w(CR, (drv.r(CR) & ~(3 << 28)) | (3 << 28) | (1 << 3))
    assert drv.ospi.mapped == ("ram", 0x800000), drv.ospi.mapping_reasons


def test_driver_probe_in_wrong_mode_is_rejected_by_the_chip() -> None:
    m = make_machine()
    drv: RegisterDriver = bring_up(m)
    assert drv.read_id() == b"\xff" * 8           # read ID is SPI-only (docs/hardware.md#psram)
    assert drv.ospi.psram.violation_counts["mode"] >= 1


def test_abort_in_memory_mapped_mode_clears_busy() -> None:
    """docs/hardware.md#octospi-registers: BUSY stays 1 in memory-mapped mode *until an abort*; a HAL-style driver
    aborts and then polls BUSY=0 with FMODE still 11."""
    m = make_machine()
    drv = bring_up(m)
    drv.memory_mapped()
    cr = drv.r(CR)
    assert cr >> 28 == 3 and drv.r(SR) & BUSY
    drv.w(CR, cr | 0x2)                            # ABORT
    assert drv.r(CR) >> 28 == 3                    # still memory-mapped
    assert not drv.r(SR) & BUSY
    assert drv.r(SR) & TCF
