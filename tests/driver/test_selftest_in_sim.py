"""The self-test image on the board simulator: the failure lines of
docs/selftest.md for chip faults and for deliberately wrong controller
settings.  Only runs that end early are here (the full 8 MiB pass takes
seconds of simulated time and is covered by tests/suites/selftest)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from h7psram.selftest_build import build_selftest

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                reason="arm-none-eabi-gcc not installed")

sim_machine = pytest.importorskip("h7psram.sim.machine", reason="simulator not available")
from h7psram.boards import load_board  # noqa: E402
from h7psram.sim.psram_faults import PsramFaults  # noqa: E402

EID = "spiram eid 0d 5d 52 a2 64 31 91 31"


@pytest.fixture(scope="module")
def elves(tmp_path_factory) -> dict[str, Path]:
    top = tmp_path_factory.mktemp("simimages")
    return {
        "devebox": build_selftest("devebox_h7a3", top / "devebox"),
        "weact": build_selftest("weact_mini_h7a3", top / "weact"),
        "weact-slow": build_selftest("weact_mini_h7a3", top / "weact-slow", ["PSRAM_PRESCALER_OVERRIDE=9"]),
        "weact-nocsbound-notcen": build_selftest("weact_mini_h7a3", top / "weact-nocsb",
                                                 ["PSRAM_TEST_NO_CSBOUND", "PSRAM_TEST_NO_TCEN"]),
    }


def run(board: str, elf: Path, until: str, faults: PsramFaults | None = None, seconds: float = 1.0):
    m = sim_machine.Machine(load_board(board), psram_faults=faults)
    try:
        m.load_elf(str(elf))
        m.run(max_seconds=seconds, until_text=until)
        return m, m.uart.output().decode(errors="replace").splitlines()
    finally:
        m.close()


@pytest.mark.parametrize("faults,line", [
    (PsramFaults(absent=True), "spiram not found, id ff ff ff ff ff ff ff ff"),
    (PsramFaults(kgd=0x55), "spiram wrong id, mfid 0x0d kgd 0x55"),
    (PsramFaults(id_bytes=bytes([0x9D, 0x5D, 1, 2, 3, 4, 5, 6])), "spiram wrong id, mfid 0x9d kgd 0x5d"),
])
def test_bring_up_failure_lines(elves, faults, line):
    _, lines = run("devebox_h7a3", elves["devebox"], line, faults)
    assert lines[0] == "psram selftest devebox_h7a3"
    assert lines[1] == line
    assert not any(ln.startswith("spiram eid") for ln in lines)


def test_stuck_data_bit_reported_by_walking_ones(elves):
    _, lines = run("weact_mini_h7a3", elves["weact"], "fail", PsramFaults(stuck_data_bit=5))
    assert lines[:2] == ["psram selftest weact_mini_h7a3", EID]
    assert lines[2] == "spiram walkones fail, address 0x90000000 written 0x00000020 read 0x00000000"


@pytest.mark.parametrize("board,image", [("devebox_h7a3", "devebox"), ("weact_mini_h7a3", "weact")])
def test_narrow_write_zero_is_caught_by_the_store_width_test(elves, board, image):
    # hazard (a): with DQSE=1 a write narrower than 64 bits zeroes the rest of its double
    # word. 64-bit stores pass; the first 32-bit store (lane 0 of the double word below the
    # 1 KiB page boundary in the middle of the window) zeroed lanes 4..7: the first of those
    # is reported with the background byte it lost (0x40 + its offset in the 64-byte span)
    m, lines = run(board, elves[image], "fail", PsramFaults(narrow_write_zero=True))
    assert lines[1] == EID
    assert lines[2] == "spiram store32 fail, address 0x903ffffc written 0x5c read 0x00"
    assert len(lines) == 3
    assert m.peripherals["OCTOSPI1"].mapped[0] == "burst"


def test_store_width_test_passes_without_the_fault(tmp_path):
    # the same quick memtest, store widths included, on the fault-free window
    elf = build_selftest("devebox_h7a3", tmp_path, ["SELFTEST_QUICK_MEMTEST"])
    m, lines = run("devebox_h7a3", elf, " MB/s\r\n")
    assert lines[1:3] == [EID, "spiram memtest pass"]
    assert lines[3].startswith("spiram bandwidth read ") and len(lines) == 4
    assert m.peripherals["OCTOSPI1"].mapped[0] == "ram"


def test_slow_clock_reads_the_whole_id(elves):
    # at 14 MHz a Read ID is longer than tCEM; with REFRESH on during the ID
    # phase the controller split it and the chip restarted its ID
    _, lines = run("weact_mini_h7a3", elves["weact-slow"], "spiram eid")
    assert lines[1] == EID


def test_page_wrap_without_csbound_and_timeout_is_caught(elves):
    # APS6404L (non-RBX) wraps a burst inside its 1 KiB page; without CSBOUND
    # and without the NCS timeout the controller runs bursts over page ends
    # (the simulator's posted writes run as long bursts, so the store-width step, which comes
    # first, may be the one that meets the wrap)
    machine, lines = run("weact_mini_h7a3", elves["weact-nocsbound-notcen"], "fail", seconds=0.5)
    assert lines[1] == EID
    m = re.fullmatch(r"spiram (memtest32|store(?:8|16|32|64)) fail, address 0x([0-9a-f]{8}) "
                     r"written 0x[0-9a-f]+ read 0x[0-9a-f]+", lines[2])
    assert m, lines[2]
    assert 0x90000000 <= int(m.group(2), 16) < 0x90800000
    assert machine.peripherals["OCTOSPI1"].psram.violation_counts["page-cross"] > 0


def test_warm_restart_and_deinit_reinit(tmp_path):
    # psram_init() with the chip left in QPI and the controller memory-mapped
    # (needs the 4-line reset), then psram_deinit() (abort, 0xF5) and init again
    elf = build_selftest("weact_mini_h7a3", tmp_path, ["SELFTEST_REINIT", "SELFTEST_QUICK_MEMTEST"])
    _, lines = run("weact_mini_h7a3", elf, " MB/s\r\n", seconds=2.0)
    assert lines[1:5] == [EID, "spiram memtest pass", "spiram warm restart pass", "spiram reinit pass"]
    assert lines[5].startswith("spiram bandwidth read ")


@pytest.mark.parametrize("board,part_tcem,part_tcph", [("devebox_h7a3", 8000, 50),
                                                         ("weact_mini_h7a3", 4000, 18)])
def test_programmed_registers_equal_the_pure_functions(elves, psramlib, board, part_tcem, part_tcph):
    """What the driver wrote into OCTOSPI1 and the MPU is what psram_timing.c
    computes for the board (the host tests check those functions)."""
    from driver_host import call_out
    from h7psram.sim.octospi import CR, DCR1, DCR2, DCR3, DCR4, LPTR, TCR, WCCR

    elf = elves["devebox" if board == "devebox_h7a3" else "weact"]
    m, lines = run(board, elf, "spiram eid")
    assert lines[1] == EID
    ospi = m.peripherals["OCTOSPI1"]
    prescaler = ospi.read(DCR2, 4) & 0xFF
    clk = psramlib.psram_timing_clk_hz(140_000_000, prescaler)
    assert clk == 70_000_000
    dcr1 = ospi.read(DCR1, 4)
    assert (dcr1 >> 8) & 7 == call_out(psramlib.psram_timing_csht, clk, part_tcph)[1]
    assert (dcr1 >> 16) & 0x1F == 22                                # 8 MiB = 2^(22+1) bytes
    assert dcr1 & (1 << 3)                                          # DLYBYP
    assert ospi.read(DCR4, 4) == call_out(psramlib.psram_timing_refresh, clk, part_tcem)[1]
    assert (ospi.read(DCR3, 4) >> 16) & 0x1F == 10                  # 1 KiB pages
    assert ospi.read(CR, 4) >> 28 == 3 and ospi.read(CR, 4) & (1 << 3)   # memory-mapped, TCEN
    assert ospi.read(LPTR, 4) == 1
    assert ospi.read(TCR, 4) == (1 << 30) | 6                        # SSHIFT, 6 wait cycles
    assert ospi.read(WCCR, 4) >> 29 & 1                              # DQSE (ES0478 2.7.8)
    mpu = m.mpu
    assert mpu.rasr[1] == call_out(psramlib.psram_timing_mpu_rasr_guard, 256 << 20)[1]
    assert mpu.rasr[2] == call_out(psramlib.psram_timing_mpu_rasr_window, 8 << 20)[1]
    assert mpu.rbar[1] & ~0x1F == mpu.rbar[2] & ~0x1F == 0x90000000
    assert mpu.ctrl & 0b101 == 0b101                                  # ENABLE, PRIVDEFENA


def test_clock_override_above_the_part_limit_is_refused(tmp_path):
    # PRESCALER 0 = 140 MHz, above the APS6404L's 84 MHz: nothing is touched
    elf = build_selftest("weact_mini_h7a3", tmp_path, ["PSRAM_PRESCALER_OVERRIDE=0"])
    m, lines = run("weact_mini_h7a3", elf, "spiram init")
    assert lines[1] == "spiram init fail, clock too fast"
    assert m.peripherals["OCTOSPI1"].read(0x000, 4) == 0     # CR never written: controller off


def test_missing_dqs_gives_the_hardfault_line(tmp_path):
    # ES0478 2.7.8: a memory-mapped write with WCCR.DQSE = 0 is a bus error on the
    # write response, reported as IMPRECISERR without a valid BFAR (docs/hardware.md#dqse)
    elf = build_selftest("devebox_h7a3", tmp_path, ["PSRAM_TEST_NO_DQS"])
    _, lines = run("devebox_h7a3", elf, "hardfault")
    assert lines[1] == EID
    m = re.fullmatch(r"hardfault pc 0x([0-9a-f]{8}) lr 0x[0-9a-f]{8} cfsr 0x([0-9a-f]{8}) bfar 0x[0-9a-f]{8}",
                     lines[2])
    assert m, lines[2]
    pc, cfsr = int(m.group(1), 16), int(m.group(2), 16)
    assert 0x08000000 <= pc < 0x08200000
    assert cfsr & (1 << 10) and not cfsr & ((1 << 15) | (1 << 9))   # IMPRECISERR, no BFARVALID/PRECISERR
    from elftools.elf.elffile import ELFFile
    with open(elf, "rb") as f:
        funcs = [(sym.name, sym["st_value"] & ~1, sym["st_size"])
                 for sym in ELFFile(f).get_section_by_name(".symtab").iter_symbols()
                 if sym["st_info"]["type"] == "STT_FUNC"]
    owner = [name for name, start, size in funcs if start <= pc < start + size]
    # the faulting store is the memtest's first write to the window
    assert owner and owner[0] in ("test_walking", "psram_memtest_run"), owner
