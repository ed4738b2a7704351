"""The M7 data side in front of the PSRAM window (sim/memsys.py, sim/dcache.py): each mechanism
firing and not firing.

Accesses enter the model the way unicorn delivers them (the window's MMIO
callbacks), cache maintenance the way the core's SCB writes do; CPU-driven
runs of firmware/psram_stores.c check the whole path.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from test_octospi_support import (bring_up, build_stores_program, make_machine, route_pins, run_stores)

from h7psram.sim.dcache import LINE, SETS
from h7psram.sim.memsys import AxiWrite
from h7psram.sim.octospi import Octospi

MPU_CTRL, MPU_RNR, MPU_RBAR, MPU_RASR = 0x4, 0x8, 0xC, 0x10
CCR_DC = 1 << 16


def attr_bits(attr: str) -> tuple[int, int, int]:
    """(TEX, C, B) of the attribute names used in docs/simulator-octospi.md's matrix."""
    return {"wbwa": (1, 1, 1), "wb": (0, 1, 1), "wt": (0, 1, 0), "nc": (1, 0, 0), "device": (0, 0, 1),
            "so": (0, 0, 0)}[attr]


def set_mpu(m, attr: str | None) -> None:
    """An 8 MiB region with `attr` on the window (None: MPU off, default map)."""
    if attr is None:
        m.mpu.write(MPU_CTRL, 0)
        return
    tex, c, b = attr_bits(attr)
    base = m.board.mmio_block("OCTOSPI1_MM").base
    m.mpu.write(MPU_RNR, 0)
    m.mpu.write(MPU_RBAR, base)
    m.mpu.write(MPU_RASR, (3 << 24) | (tex << 19) | (c << 17) | (b << 16) | (22 << 1) | 1)
    m.mpu.write(MPU_CTRL, 0x5)


def dcache(m, on: bool) -> None:
    m.scs.write(0xED14, 4, (m.scs.ccr | CCR_DC) if on else (m.scs.ccr & ~CCR_DC))


def cache_op(m, name: str, operand: int) -> None:
    """A store to the SCB maintenance register, as the core's `str` reaches the machine."""
    addr = {"DCIMVAC": 0xE000EF5C, "DCISW": 0xE000EF60, "DCCMVAC": 0xE000EF68, "DCCSW": 0xE000EF6C,
            "DCCIMVAC": 0xE000EF70, "DCCISW": 0xE000EF74}[name]
    m._scs_write(None, addr - 0xE0000000, 4, operand)


def mapped(attr: str | None = "wt", *, dc: bool = True, exact: bool = True, **init: int):
    m = make_machine()
    drv = bring_up(m, **init)
    ospi: Octospi = drv.ospi
    ospi.exact = exact
    set_mpu(m, attr)
    dcache(m, dc)
    drv.memory_mapped()
    return m, ospi


class Recorder:
    """Wraps the controller's AXI side to list what reaches it."""

    def __init__(self, ospi: Octospi) -> None:
        self.reads: list[tuple[int, int]] = []
        self.writes: list[AxiWrite] = []
        read, write = ospi.axi_read, ospi.axi_write

        def axi_read(offset: int, length: int) -> bytes:
            self.reads.append((offset, length))
            return read(offset, length)

        def axi_write(w: AxiWrite) -> None:
            self.writes.append(w)
            write(w)

        ospi.axi_read, ospi.axi_write = axi_read, axi_write   # type: ignore[method-assign]


# -- D-cache: line fills, write policies, evictions, maintenance -----------------------------------
@pytest.mark.parametrize("dc, fills", [(True, [(0x100, 32)]), (False, [(0x104, 4)])])
def test_cacheable_read_is_a_line_fill_only_with_ccr_dc(dc: bool, fills) -> None:
    m, ospi = mapped("wt", dc=dc)
    ospi.psram.array[0x100:0x120] = bytes(range(32))
    rec = Recorder(ospi)
    assert ospi._mm_read(0x104, 4) == 0x07060504
    assert ospi._mm_read(0x108, 4) == 0x0B0A0908           # a hit when cached
    assert rec.reads[:1] == fills and len(rec.reads) == (1 if dc else 2)


def test_default_map_makes_the_window_write_through() -> None:
    m, ospi = mapped(None)
    assert ospi._policies[0] == "wt"
    ospi._mm_write(0x40, 4, 0xAABBCCDD)
    assert ospi.memsys is not None
    ospi.memsys.drain()
    assert ospi.psram.array[0x40:0x44] == bytes.fromhex("ddccbbaa")


@pytest.mark.parametrize("attr, reaches_chip", [("wt", True), ("wbwa", False), ("wb", False), ("nc", True)])
def test_write_back_keeps_the_store_in_the_cache_until_cleaned(attr: str, reaches_chip: bool) -> None:
    m, ospi = mapped(attr)
    ospi._mm_read(0x200, 4)                    # the line is cached (where cacheable)
    ospi._mm_write(0x200, 4, 0x11223344)
    ospi.memsys.drain()
    assert (ospi.psram.array[0x200:0x204] == bytes.fromhex("44332211")) == reaches_chip
    rec = Recorder(ospi)
    cache_op(m, "DCCMVAC", 0x90000200)
    assert ospi.psram.array[0x200:0x204] == bytes.fromhex("44332211")
    if not reaches_chip:          # the clean wrote the whole dirty line
        assert [(w.offset, len(w.data), w.full) for w in rec.writes] == [(0x200, 32, True)]


@pytest.mark.parametrize("attr, fills", [("wbwa", 1), ("wb", 0)])
def test_write_allocate_only_in_write_allocate_regions(attr: str, fills: int) -> None:
    m, ospi = mapped(attr)
    rec = Recorder(ospi)
    ospi._mm_write(0x300, 4, 0x5A5A5A5A)
    ospi.memsys.drain()
    assert len(rec.reads) == fills
    assert (len(rec.writes) == 0) == bool(fills)    # no-write-allocate misses go to the bus


def test_eviction_writes_the_whole_dirty_line() -> None:
    m, ospi = mapped("wbwa")
    stride = SETS * LINE                            # same set, next tag
    for way in range(4):
        ospi._mm_write(way * stride, 1, 0xA0 + way)
    rec = Recorder(ospi)
    assert not rec.writes
    ospi._mm_write(4 * stride, 1, 0xA4)             # a fifth line in a 4-way set
    assert [(w.offset, len(w.data), w.width, w.full) for w in rec.writes] == [(0, 32, 8, True)]
    assert ospi.psram.array[0] == 0xA0 and ospi.psram.array[stride] == 0


def test_invalidate_without_clean_drops_dirty_data_clean_by_set_way_keeps_it() -> None:
    m, ospi = mapped("wbwa")
    ospi._mm_write(0x400, 4, 0xDEADBEEF)
    cache_op(m, "DCIMVAC", 0x90000400)
    assert ospi._mm_read(0x400, 4) == 0                      # refilled from the chip: the store is gone
    ospi._mm_write(0x420, 4, 0xCAFEF00D)
    cache_op(m, "DCCISW", (0 << 30) | (((0x420 >> 5) & 127) << 5))
    assert ospi.psram.array[0x420:0x424] == bytes.fromhex("0df0feca")
    assert ospi.memsys.cache.lookup(0x420) is None


def test_dirty_lines_keep_the_model_until_cleaned() -> None:
    m, ospi = mapped("wbwa", exact=False)
    assert ospi.mapped[0] == "burst"
    ospi._mm_write(0x500, 4, 0x01020304)
    set_mpu(m, "wt")                    # safe now, but the cache still holds a dirty line
    assert ospi.mapped[0] == "burst"
    assert ospi.mapping_reasons == ["the D-cache model still holds dirty lines of the window"]
    cache_op(m, "DCCIMVAC", 0x90000500)
    assert ospi.mapped[0] == "ram" and ospi.psram.array[0x500:0x504] == bytes.fromhex("04030201")


def test_driver_configuration_stays_on_the_plain_ram_path() -> None:
    """Write-through, not bufferable, DQSE, CSBOUND 10, REFRESH 554, TCEN/LPTR 1: nothing to model."""
    m, ospi = mapped("wt", exact=False, refresh=554)
    assert ospi.mapped[0] == "ram", ospi.mapping_reasons
    dcache(m, False)
    assert ospi.mapped[0] == "ram"


# -- store buffer and AXI writes ----------------------------------------------------------------------
@pytest.mark.parametrize("attr, writes", [
    ("nc", [(0x600, 0b0011, 8)]),                          # Normal: merged into one 64-bit beat
    ("wt", [(0x600, 0b0011, 8)]),
    ("device", [(0x600, 0b0001, 1), (0x600, 0b0010, 1)]),   # Device: each store alone, own size
    ("so", [(0x600, 0b0001, 1), (0x600, 0b0010, 1)]),
])
def test_store_buffer_merges_only_normal_memory(attr: str, writes) -> None:
    m, ospi = mapped(attr)
    rec = Recorder(ospi)
    ospi._mm_write(0x600, 1, 0x11)
    ospi._mm_write(0x601, 1, 0x22)
    ospi.memsys.drain()
    assert [(w.offset, w.strobe, w.width) for w in rec.writes] == writes
    assert ospi.psram.array[0x600:0x602] == b"\x11\x22"


def test_a_lone_store_leaves_with_its_own_width_and_strobes() -> None:
    m, ospi = mapped("nc")
    rec = Recorder(ospi)
    ospi._mm_write(0x702, 2, 0xBEEF)
    assert not rec.writes                                   # still in the store buffer
    ospi._mm_write(0x708, 4, 0x01020304)                     # another double word drains it
    assert [(w.offset, w.strobe, w.width, w.runs()) for w in rec.writes] == [
        (0x700, 0b1100, 2, [(0x702, b"\xef\xbe")])]
    ospi._mm_write(0x70C, 4, 0x05060708)                     # completes the double word: leaves at once
    assert [(w.offset, w.strobe, w.width) for w in rec.writes[1:]] == [(0x708, 0xFF, 8)]


def test_posted_writes_continue_one_burst_reads_are_isolated() -> None:
    m, ospi = mapped("nc", refresh=554)
    chip = ospi.psram
    before = chip.commands[0x38]
    for i in range(64):
        ospi._mm_write(0x800 + 4 * i, 4, i)
    ospi.memsys.drain()
    assert chip.commands[0x38] - before == 1                 # 256 bytes: one write command
    before = chip.commands[0xEB]
    for i in range(16):
        ospi._mm_read(0x800 + 4 * i, 4)
    assert chip.commands[0xEB] - before == 16                # TCEN/LPTR 1: NCS rises between reads


def test_csbound_splits_a_posted_write_burst() -> None:
    m, ospi = mapped("nc", refresh=554)
    before = ospi.psram.commands[0x38]
    for i in range(16):
        ospi._mm_write(0x3F0 + 4 * i, 4, i)                  # crosses the 1 KiB boundary at 0x400
    ospi.memsys.drain()
    assert ospi.psram.commands[0x38] - before == 2


# -- CPU-driven: stores, clean+invalidate, read-back ---------------------------------------------------
@pytest.fixture(scope="module")
def stores_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_stores_program(tmp_path_factory.mktemp("storesfw"))


def cpu_machine(elf: Path, attr: str | None, *, exact: bool = False, **init: int):
    m = make_machine()
    m.load_elf(str(elf))
    route_pins(m)
    drv = bring_up(m, **init)
    drv.ospi.exact = exact
    set_mpu(m, attr)
    drv.memory_mapped()
    return m, drv.ospi


@pytest.mark.parametrize("exact", [False, True])
def test_driver_configuration_passes_every_width(stores_elf: Path, exact: bool) -> None:
    for width, misalign in ((1, 0), (2, 0), (4, 0), (8, 0), (2, 1), (4, 1), (8, 4)):
        m, ospi = cpu_machine(stores_elf, "wt", exact=exact, refresh=554)
        r = run_stores(m, base=0x90010000, count=512 // width, width=width, misalign=misalign)
        assert r.line == "pass", (width, misalign, r.line)
        assert ospi.mapped[0] == ("burst" if exact else "ram")
        if exact:
            assert ospi.memsys.stats["line_fills"] > 0 and ospi.traffic[True] >= 512


@pytest.mark.parametrize("refresh, hazard", [(0, True), (554, False)])
def test_write_back_evictions_merge_into_bursts_beyond_tcem_without_refresh(
        stores_elf: Path, refresh: int, hazard: bool) -> None:
    """koendv's set-up (WBWA, CSBOUND 10, TCEN/LPTR 1): the clean loop's line writes follow each
    other with no idle clock, so NCS stays low up to the 1 KiB boundary: 29 us at 70 MHz."""
    m, ospi = cpu_machine(stores_elf, "wbwa", refresh=refresh)
    r = run_stores(m, base=0x903E2000, count=2048, width=2)
    assert ospi.mapped[0] == "burst"
    assert (ospi.psram.violation_counts["tcem"] > 0) == hazard
    assert (r.line != "pass") == hazard, r.line
