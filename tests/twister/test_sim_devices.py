"""The simulator adapter, and the hardware adapter against a simulator on its own pty.

The hardware adapter is exercised for real here: the board simulator is started by the test
on a pseudo-terminal, and the twister-style suites run against that tty with
``--device-type hardware --device-serial <pty> --no-flash``, exactly as against a board.
"""

from __future__ import annotations

import dataclasses
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest
from west_workspace import make_workspace
import serial

from h7psram.twister.config import DeviceConfig
from h7psram.twister.device import DeviceGoneError, DeviceImage
from h7psram.twister.plugin import find_build_dir
from h7psram.twister.hardware_adapter import HardwareAdapter
from h7psram.twister.selftest_image import SELFTEST_LAST_LINE
from h7psram.twister.sim_adapter import SimAdapter, package_env

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "tests" / "suites"
BOARD = "devebox_h7a3"


@pytest.fixture(scope="module")
def selftest(tmp_path_factory: pytest.TempPathFactory) -> DeviceImage:
    try:
        from h7psram.twister.selftest_image import selftest_image
    except ImportError:
        pytest.skip("h7psram.selftest_build is not in this checkout")
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not found")
    return selftest_image(BOARD, tmp_path_factory.mktemp("selftest"))


@pytest.fixture(scope="module")
def selftest_elf(selftest: DeviceImage) -> Path:
    assert selftest.elf is not None
    return selftest.elf


class _SimOnPty:
    """``python -m h7psram.sim --pty`` started by the test, as a board the adapter does not own."""

    def __init__(self, elf: Path, *faults: str) -> None:
        argv = [sys.executable, "-m", "h7psram.sim", "--board", BOARD, "--pty"]
        for fault in faults:
            argv += ["--fault", fault]
        # stderr to a file: a pipe nobody reads would stall a chatty simulator
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv + [str(elf)], stdout=subprocess.PIPE, stderr=self.stderr,
                                     env=package_env())
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        assert line.startswith("pty: "), f"simulator said {line!r}"
        self.path = line[len("pty: "):]

    def wait_until_idle(self, marker: bytes, timeout: float = 300) -> None:
        """Let the firmware boot to ``marker`` with the port opened and closed again, like a
        board that was powered earlier and sits at its prompt."""
        port = serial.Serial(self.path, 115200, timeout=0.5)
        seen = b""
        deadline = time.monotonic() + timeout
        try:
            while marker not in seen:
                assert time.monotonic() < deadline, f"simulator did not reach {marker!r}: {seen[-500:]!r}"
                seen += port.read(4096)
        finally:
            port.close()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.communicate(timeout=10)
        self.stderr.close()


@pytest.fixture
def sim_on_pty() -> Iterator:
    started: list[_SimOnPty] = []

    def start(elf: Path, *faults: str) -> _SimOnPty:
        sim = _SimOnPty(elf, *faults)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


def _pytest(*args: str, timeout: float = 600, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=package_env())


def test_sim_adapter_boots_the_image_with_a_fault(selftest_elf: Path) -> None:
    image = DeviceImage(board=BOARD, elf=selftest_elf, kind="selftest", boot_done=SELFTEST_LAST_LINE)
    dut = SimAdapter(DeviceConfig(base_timeout=60), image, ("absent",))
    try:
        dut.launch()
        assert dut.pty_path and dut.pty_path.startswith("/dev/")
        assert dut.boot_log.splitlines() == [f"psram selftest {BOARD}",
                                             "spiram not found, id ff ff ff ff ff ff ff ff"]
        proc = dut.proc
    finally:
        dut.close()
    assert proc is not None and proc.returncode is not None  # close() ended the simulator


def test_sim_that_cannot_start_reports_its_stderr(tmp_path: Path) -> None:
    bogus = tmp_path / "firmware.elf"
    bogus.write_bytes(b"not an ELF at all")
    dut = SimAdapter(DeviceConfig(base_timeout=30), DeviceImage(board=BOARD, elf=bogus, boot_done=r">>> "))
    try:
        with pytest.raises(DeviceGoneError) as failure:
            dut.launch()
    finally:
        dut.close()
    text = str(failure.value)
    assert "simulator exited with status 2 before printing its pty" in text
    assert "simulator stderr:" in text and "firmware.elf" in text


def test_selftest_suite_through_the_hardware_adapter(selftest_elf: Path, sim_on_pty) -> None:  # type: ignore[no-untyped-def]
    sim = sim_on_pty(selftest_elf)
    done = _pytest(str(SUITES / "selftest" / "test_selftest.py"), "--device-type=hardware",
                   f"--device-serial={sim.path}", "--no-flash", f"--platform={BOARD}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_failing_expectation_shows_the_device_output(selftest_elf: Path, sim_on_pty) -> None:  # type: ignore[no-untyped-def]
    # The same suite against a board whose PSRAM is missing: it must fail, and say what the
    # board printed.
    sim = sim_on_pty(selftest_elf, "absent")
    done = _pytest(str(SUITES / "selftest" / "test_selftest.py"), "--device-type=hardware",
                   f"--device-serial={sim.path}", "--no-flash", f"--platform={BOARD}", "--tb=short")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "3 failed, 1 passed" in done.stdout
    assert f"device output (hardware ({sim.path}))" in done.stdout
    assert "| spiram not found, id ff ff ff ff ff ff ff ff" in done.stdout


@pytest.mark.slow
def test_micropython_suites_through_the_hardware_adapter(device_config: DeviceConfig, pytestconfig: pytest.Config,
                                                         sim_on_pty) -> None:  # type: ignore[no-untyped-def]
    from h7psram import buildinfo

    build_dir = find_build_dir(device_config, Path(pytestconfig.rootpath))
    if build_dir is None:
        pytest.skip("no MicroPython firmware build (--build-dir): MicroPython suites over a pty not run")
    info = buildinfo.read_build_info(build_dir)
    sim = sim_on_pty(info.elf)
    # The simulator stalls on input that arrives before the firmware enabled its UART (a real
    # USART ignores it), so hand over the port once MicroPython is idle at its prompt.
    sim.wait_until_idle(b">>> ")
    done = _pytest(*(str(SUITES / name) for name in ("boot", "heap", "psram")), "--device-type=hardware",
                   f"--device-serial={sim.path}", "--no-flash", f"--build-dir={build_dir}", "--tb=short",
                   timeout=1200)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout


def test_micropython_suite_without_a_build_skips_in_one_line(tmp_path: Path) -> None:
    done = _pytest(str(SUITES / "boot"), str(SUITES / "heap"), f"--rootdir={tmp_path}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    skips = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) == 1 and "no MicroPython firmware build" in skips[0], done.stdout
    assert "8 skipped" in done.stdout


def test_unusable_build_dir_is_one_line(tmp_path: Path) -> None:
    done = _pytest(str(SUITES / "boot" / "test_boot.py"), f"--build-dir={tmp_path}", "-x")
    assert done.returncode == 1
    assert f"{tmp_path / 'build_info.yml'}: not found" in done.stdout
    assert "Traceback" not in done.stdout


def test_selftest_build_is_flashed_by_west_flash(selftest: DeviceImage, tmp_path: Path, repl_peer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # The real `west flash` with the openocd runner, and an openocd on PATH that records its
    # command line: the self-test output directory must be a complete build directory.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "openocd"
    tool.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{tmp_path / 'openocd-args'}'\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    if shutil.which("west") is None:
        pytest.skip("west not on PATH next to this Python")
    # `west flash` is a command of this workspace's manifest: run it inside one.
    monkeypatch.chdir(make_workspace(tmp_path / "ws"))
    image = dataclasses.replace(selftest, boot_done=None)
    config = DeviceConfig(type="hardware", serial=repl_peer.path, runner="openocd", base_timeout=5)
    dut = HardwareAdapter(config, image)
    try:
        dut.launch()
    finally:
        dut.close()
    recorded = (tmp_path / "openocd-args").read_text()
    assert str(selftest.elf) in recorded, recorded + dut.flash_log
