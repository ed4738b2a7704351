"""The M7 data side in front of the PSRAM window (sim/memsys.py, sim/dcache.py): each mechanism
firing and not firing.

Accesses enter the model the way unicorn delivers them (the window's MMIO
callbacks), cache maintenance the way the core's SCB writes do; CPU-driven
runs of firmware/psram_stores.c check the whole path.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from test_octospi_support import (bring_up, build_stores_program, make_machine, route_pins, run_stores,
                                  set_mpu)

from h7psram.sim.dcache import LINE, SETS
from h7psram.sim.psram_faults import PsramFaults
from h7psram.sim.memsys import AxiWrite
from h7psram.sim.octospi import Octospi

CCR_DC = 1 << 16


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


def test_instruction_cache_maintenance_leaves_the_data_cache_alone() -> None:
    m, ospi = mapped("wbwa")
    ospi._mm_write(0x440, 4, 0x12345678)
    m._scs_write(None, 0xE000EF58 - 0xE0000000, 4, 0x90000440)      # ICIMVAU
    assert ospi.memsys.cache.lookup(0x440).dirty and ospi.psram.array[0x440] == 0


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


def narrow_fault_window(attr: str, width: int):
    m = make_machine(faults=PsramFaults(narrow_write_zero=True))
    drv = bring_up(m)
    set_mpu(m, attr)
    dcache(m, True)
    drv.memory_mapped()
    ospi: Octospi = drv.ospi
    # the AXI size of the store as its instruction would give it (decoded from the PC when firmware runs)
    ospi.store_width = lambda offset, size: width        # type: ignore[method-assign]
    ospi.psram.array[0x3F0:0x400] = bytes(range(0x40, 0x50))
    return m, ospi


def test_narrow_write_zero_acts_on_the_axi_write_behind_the_cache() -> None:
    # a lone 32-bit store to a write-through line: the cache keeps the right bytes (a read
    # there is a hit), the chip gets the whole double word with 0 in the unstrobed lanes,
    # and only a read after clean+invalidate sees the damage -- what the boot memtest checks
    m, ospi = narrow_fault_window("wt", 4)
    assert ospi._mm_read(0x3F8, 4) == 0x4B4A4948             # line fill
    ospi._mm_write(0x3F8, 4, 0xC4C3C2C1)
    assert ospi._mm_read(0x3FC, 4) == 0x4F4E4D4C             # cache hit; the store buffer drained
    assert ospi._mm_read(0x3F8, 4) == 0xC4C3C2C1             # the store reached the cached line
    assert ospi.psram.array[0x3F8:0x400] == bytes.fromhex("c1c2c3c400000000")
    cache_op(m, "DCCIMVAC", 0x900003F8)
    assert ospi._mm_read(0x3FC, 4) == 0
    assert ospi.psram.array[0x3F0:0x3F8] == bytes(range(0x40, 0x48))   # the next double word down: untouched


@pytest.mark.parametrize("attr, width, chip", [
    ("nc", 8, "c1c2c3c4d1d2d3d4"),        # STRD: one 64-bit beat, strobes kept
    ("device", 8, "c1c2c3c4d1d2d3d4"),    # STRD to Device memory: still one instruction, 64 bits
    ("device", 4, "00000000d1d2d3d4"),    # two STRs to Device memory: two 32-bit writes
    ("nc", 4, "c1c2c3c4d1d2d3d4"),        # two STRs to Normal memory: merged into one beat
])
def test_narrow_write_zero_spares_64_bit_beats(attr: str, width: int, chip: str) -> None:
    m, ospi = narrow_fault_window(attr, width)
    ospi._mm_write(0x3F8, 4, 0xC4C3C2C1)
    ospi._mm_write(0x3FC, 4, 0xD4D3D2D1)
    ospi.memsys.drain()
    assert ospi.psram.array[0x3F8:0x400].hex() == chip


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


# -- (c) wiring, enables and clocks re-checked at once ---------------------------------------------
GPIO_MODER = 0x00
RCC_AHB3ENR, RCC_CFGR, RCC_CDCFGR1, RCC_PLLCKSELR, RCC_PLL1DIVR = 0xD4, 0x10, 0x18, 0x28, 0x30


def test_a_psram_pin_leaving_its_alternate_function_unplugs_the_chip() -> None:
    m, ospi = mapped("wt", exact=False, refresh=554)
    assert ospi.mapped[0] == "ram"
    port = m.gpio["B"]
    moder = port.read(GPIO_MODER, 4)
    port.write(GPIO_MODER, 4, (moder & ~(3 << 4)) | (1 << 4))        # PB2 (CLK) as output
    assert ospi.mapped[0] != "ram" and "PB2" in ospi.mapping_reasons[0]
    assert ospi._mm_read(0x10, 4) == 0xFFFFFFFF         # nothing drives the IO lines
    port.write(GPIO_MODER, 4, moder)
    assert ospi.mapped[0] == "ram"


def test_clearing_ospi1en_takes_the_window_away() -> None:
    m, ospi = mapped("wt", exact=False, refresh=554)
    enr = m.rcc.read(RCC_AHB3ENR, 4)
    m.rcc.write(RCC_AHB3ENR, 4, enr & ~(1 << 14))
    assert ospi.mapped is None                   # accesses to 0x90000000 now fault
    m.rcc.write(RCC_AHB3ENR, 4, enr)
    assert ospi.mapped[0] == "ram"


def test_octospim_port_enable_dropping_unplugs_the_chip() -> None:
    m, ospi = mapped("wt", exact=False, refresh=554)
    octospim = m.peripherals["OCTOSPIM"]
    p1cr = octospim.read(0x04, 4)
    octospim.write(0x04, 4, p1cr & ~1)                                 # CLKEN of port 1
    assert ospi.mapped[0] != "ram" and ospi._mm_read(0x10, 4) == 0xFFFFFFFF
    octospim.write(0x04, 4, p1cr)
    assert ospi.mapped[0] == "ram"


@pytest.mark.parametrize("hpre, hazard", [(0b1000, False), (0b1001, True)])
def test_hclk_change_rechecks_refresh_against_tcem(hpre: int, hazard: bool) -> None:
    """REFRESH 554 is 7.9 us at 70 MHz; with HCLK halved the same count is 15.8 us."""
    m, ospi = mapped("wt", exact=False, refresh=554)
    rcc = m.rcc
    rcc.write(RCC_PLLCKSELR, 4, 2 | (5 << 4))                          # HSE / 5
    rcc.write(RCC_PLL1DIVR, 4, 111 | (1 << 9))                         # * 112 / 2 = 280 MHz
    rcc.write(RCC_CDCFGR1, 4, hpre)                                    # HCLK = 280 / 2 or / 4
    rcc.write(RCC_CFGR, 4, 3)                                          # SYSCLK from PLL1
    assert ospi.clk_hz() == (70_000_000 if not hazard else 35_000_000)
    assert (ospi.mapped[0] == "burst") == hazard, ospi.mapping_reasons
    if hazard:
        assert any("longest write burst" in r for r in ospi.mapping_reasons)


# -- (d) read prefetch and a following write ---------------------------------------------------------
@pytest.mark.parametrize("tcen, switch, stale", [(False, True, True), (True, True, False), (False, False, False)])
def test_prefetch_kept_across_a_write_returns_old_data(tcen: bool, switch: bool, stale: bool) -> None:
    m = make_machine()
    drv = bring_up(m, refresh=554)
    ospi = drv.ospi
    ospi.prefetch_stale = switch
    set_mpu(m, "nc")
    drv.memory_mapped(tcen=tcen, lptr=1)
    assert ospi.mapped[0] == ("burst" if not tcen else "ram") or not switch, ospi.mapping_reasons
    ospi.exact = True
    ospi.reevaluate()
    ospi._mm_read(0x900, 4)                       # NCS stays low after it without the timeout
    ospi._mm_write(0x904, 4, 0x11223344)
    ospi.memsys.drain()
    got = ospi._mm_read(0x904, 4)
    assert ospi.psram.array[0x904:0x908] == bytes.fromhex("44332211")
    assert (got != 0x11223344) == stale, hex(got)
    assert (ospi.prefetch_hits > 0) == stale


# -- time: command phases at the programmed clock -----------------------------------------------------
def test_psram_traffic_takes_simulated_time_at_most_four_bits_per_clock() -> None:
    m, ospi = mapped("nc", refresh=554)
    clk = ospi.clk_hz()
    t0, i0 = m.cycles, m.instructions
    for i in range(1024):
        ospi._mm_write(4 * i, 4, i)
    ospi.memsys.drain()
    written_ns = (m.cycles - t0) * 1e9 / m.cpu_hz
    data_ns = 4096 * 2 * 1e9 / clk                  # 4 bits per clock: 2 clocks per byte
    assert m.instructions == i0                       # time moves, instructions do not
    assert data_ns < written_ns < 1.2 * data_ns, (written_ns, data_ns)
    t0 = m.cycles
    for i in range(256):
        ospi._mm_read(4 * i, 4)
    read_ns = (m.cycles - t0) * 1e9 / m.cpu_hz
    # isolated reads: 2 instruction + 6 address + 6 dummy + 8 data clocks each, 2 idle between
    per_read = (2 + 6 + 6 + 8) * 1e9 / clk
    assert 256 * per_read <= read_ns < 256 * (per_read + 4 * 1e9 / clk), (read_ns, per_read)
    assert ospi.traffic == {False: 1024, True: 4096}


@pytest.mark.parametrize("exact", [False, True])
def test_safe_configuration_costs_psram_time_only_when_modelled(stores_elf: Path, exact: bool) -> None:
    m, ospi = cpu_machine(stores_elf, "wt", exact=exact, refresh=554)
    r = run_stores(m, base=0x90020000, count=1024, width=4)
    assert r.line == "pass"
    assert (ospi.traffic_ns > 0) == exact
    if exact:            # 4 KiB out, 4 KiB of line fills back in: at least 2 clocks per byte each way
        assert ospi.traffic_ns >= 2 * 4096 * 2 * 1e9 / ospi.clk_hz()
