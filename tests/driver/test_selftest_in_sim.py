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
from h7psram.sim.faults import PsramFaults  # noqa: E402

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


def test_slow_clock_reads_the_whole_id(elves):
    # at 14 MHz a Read ID is longer than tCEM; with REFRESH on during the ID
    # phase the controller split it and the chip restarted its ID
    _, lines = run("weact_mini_h7a3", elves["weact-slow"], "spiram eid")
    assert lines[1] == EID


def test_page_wrap_without_csbound_and_timeout_is_caught(elves):
    # APS6404L (non-RBX) wraps a burst inside its 1 KiB page; without CSBOUND
    # and without the NCS timeout the controller runs bursts over page ends
    _, lines = run("weact_mini_h7a3", elves["weact-nocsbound-notcen"], "fail", seconds=0.5)
    assert lines[1] == EID
    m = re.fullmatch(r"spiram memtest32 fail, address 0x([0-9a-f]{8}) written 0xa5a5a5a5 read 0x[0-9a-f]{8}",
                     lines[2])
    assert m, lines[2]
    assert 0x90000000 <= int(m.group(1), 16) < 0x90001000   # inside the first 4 KiB sample


def test_warm_restart_and_deinit_reinit(tmp_path):
    # psram_init() with the chip left in QPI and the controller memory-mapped
    # (needs the 4-line reset), then psram_deinit() (abort, 0xF5) and init again
    elf = build_selftest("weact_mini_h7a3", tmp_path, ["SELFTEST_REINIT", "SELFTEST_QUICK_MEMTEST"])
    _, lines = run("weact_mini_h7a3", elf, "spiram reinit", seconds=2.0)
    assert lines[1:] == [EID, "spiram memtest pass", "spiram warm restart pass", "spiram reinit pass"]
