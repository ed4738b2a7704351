"""The hardware adapter and the raw REPL against a MicroPython-like peer on a real pty."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from h7psram.errors import InputError
from h7psram.twister.config import DeviceConfig
from h7psram.twister.device import DeviceError, DeviceGoneError, DeviceImage, DeviceTimeoutError
from h7psram.twister.hardware_adapter import HardwareAdapter
from h7psram.twister.raw_repl import MicroPythonError, Repl

MPY = DeviceImage(board="devebox_h7a3", kind="micropython", boot_done=r"^>>> ")


def _adapter(path: str, image: DeviceImage = MPY, **kwargs: object) -> HardwareAdapter:
    config = DeviceConfig(type="hardware", serial=path, flash=False, base_timeout=5.0, **kwargs)  # type: ignore[arg-type]
    return HardwareAdapter(config, image)


@pytest.fixture
def launched(repl_peer):  # type: ignore[no-untyped-def]
    dut = _adapter(repl_peer.path)
    dut.launch()
    yield dut
    dut.close()


def test_no_flash_resets_through_the_repl_and_keeps_the_boot_log(repl_peer, launched) -> None:  # type: ignore[no-untyped-def]
    assert repl_peer.resets == 1
    assert b"machine.reset()" in repl_peer.received
    log = launched.boot_log
    # The boot log starts after the reset command and ends at the prompt.
    assert log.startswith("psram: ESP-PSRAM64H\n"), log
    assert "spiram memtest pass" in log and log.rstrip().endswith(">>>")
    assert "machine.reset" not in log
    lines = launched.readlines_until(r"spiram memtest pass")
    assert lines[-1] == "spiram memtest pass"


def test_readlines_until_matches_a_prompt_without_newline(launched) -> None:  # type: ignore[no-untyped-def]
    lines = launched.readlines_until(r"^>>> $", timeout=2)
    assert lines[-1] == ">>> "
    assert any("DEVEBOX STM32H7XX with STM32H7A3" in line for line in lines)


def test_timeout_message_shows_the_device_output(launched) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DeviceTimeoutError) as failure:
        launched.readlines_until(r"spiram memtest16 fail", timeout=0.5)
    text = str(failure.value)
    assert "/spiram memtest16 fail/ not seen within 0.5 s" in text
    assert "| spiram eid 0d 5d 52 a2 64 31 91 31" in text
    assert "| MicroPython v1.28.0" in text


def test_write_and_clear_buffer(launched) -> None:  # type: ignore[no-untyped-def]
    launched.readlines_until(r"^>>> ", timeout=2)
    launched.write("6*7\r")
    launched.clear_buffer()
    launched.write("print(6*7)\r")
    lines = launched.readlines_until(r"^42$", timeout=3)
    assert lines[-1] == "42"


def test_device_gone_is_reported_at_once_with_its_output(repl_peer, launched) -> None:  # type: ignore[no-untyped-def]
    repl_peer.die()
    start = time.monotonic()
    with pytest.raises(DeviceGoneError) as failure:
        launched.readlines_until(r"never printed", timeout=10)
    assert time.monotonic() - start < 5
    assert "connection to hardware" in str(failure.value)
    assert "spiram memtest pass" in str(failure.value)


def test_reset_none_takes_the_queued_boot_log(make_peer) -> None:  # type: ignore[no-untyped-def]
    # Like a simulator on a pty: the boot log is written before the port is opened.
    peer = make_peer()
    dut = _adapter(peer.path, reset="none")
    try:
        dut.launch()
        assert peer.resets == 0
        assert "spiram memtest pass" in dut.boot_log
    finally:
        dut.close()


def test_missing_port_is_one_line() -> None:
    dut = _adapter("/dev/does-not-exist-h7")
    with pytest.raises(InputError, match=r"^/dev/does-not-exist-h7: cannot open serial port"):
        dut.launch()


def test_repl_exec_output_and_soft_reset(repl_peer, launched) -> None:  # type: ignore[no-untyped-def]
    repl = Repl(launched, timeout=5)
    repl.enter(soft_reset=True)
    assert repl_peer.soft_resets == 1
    assert repl.exec("x = 21\nprint(x * 2)\nprint('two')") == "42\ntwo\n"
    assert repl.eval("[x, 'a', None]") == [21, "a", None]
    # A longer program goes in several 256-byte pieces, in the plain raw REPL (no raw-paste
    # handshake: its flow-control bytes come without a newline, which the harness never delivers).
    program = "\n".join(f"v{i} = {i}" for i in range(40)) + "\nprint(sum([" + ",".join(f"v{i}" for i in range(40)) + "]))"
    assert len(program) > 256
    assert repl.exec(program).strip() == str(sum(range(40)))
    assert b"\x05A\x01" not in repl_peer.received
    repl.leave()
    launched.readlines_until(r"^>>> ", timeout=3)


def test_repl_without_raw_paste(make_peer) -> None:  # type: ignore[no-untyped-def]
    peer = make_peer(raw_paste=False)
    dut = _adapter(peer.path)
    try:
        dut.launch()
        repl = Repl(dut, timeout=5)
        repl.enter()
        assert repl.exec("print('plain raw repl')") == "plain raw repl\n"
    finally:
        dut.close()


def test_device_exception_is_a_python_exception_with_the_device_traceback(launched) -> None:  # type: ignore[no-untyped-def]
    repl = Repl(launched, timeout=5)
    repl.enter()
    with pytest.raises(ZeroDivisionError) as failure:
        repl.exec("a = 1\nb = 0\nprint(a / b)")
    err = failure.value
    assert isinstance(err, MicroPythonError)
    assert err.type_name == "ZeroDivisionError"
    assert 'File "<stdin>", line 3, in <module>' in err.device_traceback
    assert "device traceback" in str(err)
    with pytest.raises(KeyError):
        repl.exec("{}['missing']")
    with pytest.raises(OSError):
        repl.exec("raise OSError(5)")


def test_repl_timeout_shows_device_output(make_peer) -> None:  # type: ignore[no-untyped-def]
    peer = make_peer()
    dut = _adapter(peer.path)
    try:
        dut.launch()
        repl = Repl(dut, timeout=5)
        repl.enter()
        peer.hang = True
        with pytest.raises(DeviceError, match="raw REPL: running code") as failure:
            repl.exec("print(1)", timeout=0.5)
        assert "raw REPL; CTRL-B to exit" in str(failure.value)
    finally:
        dut.close()


def _fake_west(tmp_path: Path, status: int) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "west"
    tool.write_text("#!/bin/sh\n"
                    f"printf '%s\\n' \"$@\" > '{tmp_path / 'west-args'}'\n"
                    "echo 'Downloading to address 0x08000000'\n"
                    f"exit {status}\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return bindir


def test_flash_runs_west_flash_with_runner_and_probe(tmp_path, repl_peer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", f"{_fake_west(tmp_path, 0)}{os.pathsep}{os.environ['PATH']}")
    image = DeviceImage(board="devebox_h7a3", build_dir=tmp_path / "build", kind="micropython")
    config = DeviceConfig(type="hardware", serial=repl_peer.path, flash=True, runner="openocd",
                          id="066DFF555051", product="STLINK-V3", base_timeout=5.0)
    dut = HardwareAdapter(config, image)
    try:
        dut.launch()
    finally:
        dut.close()
    # the harness's spelling (device/hardware_adapter.py): an ST-LINK serial as an OpenOCD pre-init command
    lines = (tmp_path / "west-args").read_text().splitlines()
    assert lines == ["flash", "--no-rebuild", "--build-dir", str(tmp_path / "build"), "--runner", "openocd",
                     "--", "--cmd-pre-init", "hla_serial 066DFF555051"]
    assert "Downloading to address" in dut.flash_log


def test_failed_flash_shows_the_tool_output(tmp_path, repl_peer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", f"{_fake_west(tmp_path, 3)}{os.pathsep}{os.environ['PATH']}")
    image = DeviceImage(board="devebox_h7a3", build_dir=tmp_path / "build")
    dut = HardwareAdapter(DeviceConfig(type="hardware", serial=repl_peer.path, base_timeout=5.0), image)
    try:
        with pytest.raises(DeviceError, match=r"failed with status 3") as failure:
            dut.launch()
        assert "Downloading to address 0x08000000" in str(failure.value)
    finally:
        dut.close()


def test_flash_without_build_is_an_input_error(repl_peer) -> None:  # type: ignore[no-untyped-def]
    dut = HardwareAdapter(DeviceConfig(type="hardware", serial=repl_peer.path), MPY)
    try:
        with pytest.raises(InputError, match="nothing to flash"):
            dut.launch()
    finally:
        dut.close()
