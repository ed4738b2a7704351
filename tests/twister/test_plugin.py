"""The pytest plugin end to end: options, fixtures and failure reports, in a pytest subprocess.

The board is the MicroPython-like peer on a real pty (see conftest.py), reached through
``--device-type hardware --no-flash``, so the ``dut`` and ``repl`` fixtures run unchanged.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from h7psram.twister.sim_adapter import package_env

DEVICE_TESTS = '''
import pytest

def test_plain_test_is_untouched(tmp_path):
    assert tmp_path.is_dir()

def test_boot_log(dut):
    assert "spiram memtest pass" in dut.boot_log
    assert dut.image.kind == "micropython" and dut.image.elf is None

def test_exec(repl):
    assert repl.exec("print(6 * 7)") == "42\\n"
    assert repl.eval("{'heap': True}") == {"heap": True}

def test_device_exception(repl):
    with pytest.raises(ZeroDivisionError, match="device traceback"):
        repl.exec("1 / 0")

def test_a_failing_expectation(repl):
    assert repl.exec("print('four')") == "five\\n"
'''


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--rootdir={tmp_path}", *args]
    return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=package_env())


def test_fixtures_against_a_board_on_a_serial_port(tmp_path: Path, repl_peer) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "test_device.py").write_text(DEVICE_TESTS)
    done = _pytest(tmp_path, "test_device.py", "--device-type=hardware", f"--device-serial={repl_peer.path}",
                   "--no-flash", "--base-timeout=10", "--tb=short")
    assert "1 failed, 4 passed" in done.stdout.splitlines()[-1], done.stdout
    # the failure report carries the device output, REPL traffic included
    assert f"device output (hardware ({repl_peer.path}))" in done.stdout
    assert "| MicroPython v1.28.0" in done.stdout
    assert "four" in done.stdout
    # one reset (module scope), one soft reset per repl test
    assert repl_peer.resets == 1 and repl_peer.soft_resets == 3


def test_dut_scope_function_resets_for_every_test(tmp_path: Path, repl_peer) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "test_device.py").write_text(DEVICE_TESTS)
    done = _pytest(tmp_path, "test_device.py", "-k", "not failing and not plain", "--device-type=hardware",
                   f"--device-serial={repl_peer.path}", "--no-flash", "--dut-scope=function")
    assert done.returncode == 0, done.stdout
    assert repl_peer.resets == 3


def test_bad_hardware_map_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text("- platform: devebox_h7a3\n")
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    pass\n")
    done = _pytest(tmp_path, "test_plain.py", f"--hardware-map={tmp_path / 'map.yaml'}")
    assert done.returncode == 4
    assert f"ERROR: {tmp_path / 'map.yaml'}: device 1: 'serial' is required" in done.stderr
    assert "Traceback" not in done.stderr
