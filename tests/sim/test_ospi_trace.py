"""The OSPI logic-analyser view: `--trace-ospi FILE.vcd` on the self-test image, read back by
our decoder (sim/ospi_decode.py) and by Debian's sigrok-cli, and the hazards it flags."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from h7psram.boards import load_board
from h7psram.selftest_build import build_selftest

REPO = Path(__file__).resolve().parents[2]
BOARD = "devebox_h7a3"
pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                                reason="arm-none-eabi-gcc not installed: the self-test image cannot be built")


def _python(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "scripts"))
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def trace(elf: Path, vcd: Path, limit: int, seconds: float = 0.01) -> None:
    run = _python("-m", "h7psram.sim", "--board", BOARD, "--fast-idle", "--max-seconds", str(seconds),
                  "--trace-ospi", str(vcd), "--trace-limit", str(limit), str(elf))
    assert run.returncode == 0, run.stderr
    assert "spiram eid 0d 5d 52" in run.stdout, run.stdout + run.stderr


def decode(vcd: Path, *extra: str) -> subprocess.CompletedProcess:
    return _python("-m", "h7psram.sim.ospi_decode", str(vcd), *extra)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    top = tmp_path_factory.mktemp("ospi-trace")
    return {
        "driver": build_selftest(BOARD, top / "driver", ["SELFTEST_QUICK_MEMTEST"]),
        # CSBOUND off and NCS never released by the timeout counter: consecutive
        # memtest accesses merge into bursts only REFRESH ends, across page ends
        "no-csbound": build_selftest(BOARD, top / "no-csbound",
                                     ["SELFTEST_QUICK_MEMTEST", "PSRAM_TEST_NO_CSBOUND", "PSRAM_TEST_NO_TCEN"]),
    }


@pytest.fixture(scope="module")
def driver_vcd(images, tmp_path_factory) -> Path:
    vcd = tmp_path_factory.mktemp("vcd") / "driver.vcd"
    trace(images["driver"], vcd, 300)
    return vcd


def test_memory_mapped_store_decodes_to_quad_write(driver_vcd):
    out = decode(driver_vcd)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert re.search(r"^300 transactions, 0 hazards \(devebox_h7a3: ", lines[-1]), lines[-1]
    # bring-up in SPI mode at the Read ID clock: reset, the ID, then QPI
    assert any(re.search(r"SPI  0x9F read id  addr 0x000000  dummy 0  8 B in: 0d 5d 52 a2 64 31 91 31", x)
               for x in lines), out.stdout
    # the memtest's walking ones at the window's first word: memory-mapped STR -> 0x38 4-4-4
    # with its data, then the 0xEB read back after the part's wait cycles
    psram = load_board(BOARD).psram
    stores = [x for x in lines if "QPI  0x38 quad write  addr 0x000000  dummy 0  4 B out: 04 00 00 00" in x]
    assert stores, out.stdout
    following = lines[lines.index(stores[0]) + 1]
    assert f"QPI  0xEB quad read  addr 0x000000  dummy {psram.read_wait_cycles}  4 B in: 04 00 00 00" in following
    # NCS low: 2 instruction + 6 address + 8 data cycles at kernel clock / (PRESCALER + 1)
    low = float(re.search(r"NCS low ([\d.]+) ns", stores[0]).group(1))
    assert low == pytest.approx(16 * 1e9 / psram.clock_hz, abs=0.2)


def test_sigrok_cli_reads_the_channels_and_its_spi_decoder_sees_the_id(driver_vcd):
    sigrok = shutil.which("sigrok-cli")
    if sigrok is None:
        pytest.skip("sigrok-cli not installed (apt install sigrok-cli)")
    show = subprocess.run([sigrok, "-I", "vcd", "-i", str(driver_vcd), "--show"], capture_output=True,
                          text=True, timeout=120)
    assert show.returncode == 0, show.stderr
    assert re.search(r"Channels: 6", show.stdout), show.stdout
    for name in ("ncs", "clk", "io0", "io1", "io2", "io3"):
        assert f"- {name}: logic" in show.stdout, show.stdout
    # sigrok's own SPI decoder on the SPI-mode bring-up: reset and Read ID (0x9F) on IO0 (MOSI),
    # the chip's ID on IO1 (MISO)
    def spi(annotation: str) -> str:
        run = subprocess.run([sigrok, "-I", "vcd", "-i", str(driver_vcd), "-P", "spi:clk=clk:mosi=io0:miso=io1:cs=ncs",
                              "-A", f"spi={annotation}"], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        return " ".join(line.split(":")[-1].strip() for line in run.stdout.splitlines())

    assert spi("mosi-data").startswith("66 99 9F 00 00 00"), spi("mosi-data")[:200]
    assert "0D 5D 52 A2 64 31 91 31" in spi("miso-data"), spi("miso-data")[:200]


def test_page_crossing_flagged_only_with_csbound_off(images, driver_vcd, tmp_path):
    vcd = tmp_path / "no-csbound.vcd"
    trace(images["no-csbound"], vcd, 1000)
    out = decode(vcd, "--hazards-only")
    assert out.returncode == 1, out.stdout + out.stderr
    assert re.search(r"QPI  0x38 quad write  addr 0x[0-9A-F]{6}  dummy 0  \d+ B out", out.stdout), out.stdout
    assert re.search(r"HAZARD: \d+-byte burst from 0x[0-9a-f]{6} crosses the 1 KiB page boundary at 0x[0-9a-f]*[048c]00$",
                     out.stdout, re.M), out.stdout
    # the driver's own configuration: nothing on the wire to flag
    clean = decode(driver_vcd, "--hazards-only")
    assert clean.returncode == 0 and "HAZARD" not in clean.stdout, clean.stdout


def _read_id_vcd(path: Path, clk_hz: int) -> None:
    """A Read ID (0x9F, 24 address bits, 8 answer bytes) at `clk_hz`, as a capture exported with
    its own timescale (1 ns) would give it: 96 cycles with NCS low."""
    from vcd import VCDWriter

    half = round(1e9 / clk_hz / 2)
    with path.open("w") as f, VCDWriter(f, timescale="1 ns", comment=f"board={BOARD}") as w:
        ncs, clk = w.register_var("la", "NCS", "wire", size=1, init=1), w.register_var("la", "CLK", "wire", size=1, init=0)
        io = [w.register_var("la", f"IO{k}", "wire", size=1, init=1) for k in range(4)]
        bits = [(0x9F >> (7 - i)) & 1 for i in range(8)] + [0] * 24
        answer = [(0x0D5D52A264319131 >> (63 - i)) & 1 for i in range(64)]
        t = 100
        w.change(ncs, t, 0)
        for i in range(96):
            if i < 32:
                w.change(io[0], t, bits[i])
            else:
                w.change(io[1], t, answer[i - 32])
            w.change(clk, t + half, 1)
            w.change(clk, t + 2 * half, 0)
            t += 2 * half
        w.change(ncs, t, 1)


def test_decoder_flags_ncs_low_past_tcem(tmp_path):
    tcem = load_board(BOARD).psram.tcem_ns
    slow, fast = tmp_path / "slow.vcd", tmp_path / "fast.vcd"
    _read_id_vcd(slow, 10_000_000)       # 96 cycles * 100 ns = 9.6 us
    _read_id_vcd(fast, 20_000_000)       # 4.8 us
    assert 4800 < tcem < 9600
    out = decode(slow)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "SPI  0x9F read id  addr 0x000000  dummy 0  8 B in: 0d 5d 52 a2 64 31 91 31  NCS low 9600.0 ns" in out.stdout
    assert f"HAZARD: NCS low 9.60 us > tCEM {tcem / 1000:.2f} us" in out.stdout, out.stdout
    ok = decode(fast)
    assert ok.returncode == 0 and "HAZARD" not in ok.stdout and "NCS low 4800.0 ns" in ok.stdout, ok.stdout


def test_bad_input_one_line_exit_2(tmp_path, images):
    missing = decode(tmp_path / "none.vcd")
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0, missing.stderr
    assert "none.vcd: cannot read" in missing.stderr
    other = tmp_path / "other.vcd"
    other.write_text("$timescale 1 ns $end\n$scope module x $end\n$var wire 1 ! a $end\n$upscope $end\n"
                     "$enddefinitions $end\n#0\n1!\n")
    wrong = decode(other)
    assert wrong.returncode == 2 and "other.vcd: no one-bit signal named ncs, clk, io0" in wrong.stderr, wrong.stderr
    limit = _python("-m", "h7psram.sim", "--board", BOARD, "--trace-limit", "5", str(images["driver"]))
    assert limit.returncode == 2 and "--trace-limit needs --trace-ospi" in limit.stderr, limit.stderr
    unwritable = _python("-m", "h7psram.sim", "--board", BOARD, "--max-seconds", "0.001",
                         "--trace-ospi", str(tmp_path / "no" / "dir.vcd"), str(images["driver"]))
    assert unwritable.returncode == 2 and "dir.vcd: cannot write the trace" in unwritable.stderr, unwritable.stderr
