"""The pytest plugin end to end: options, fixtures and failure reports, in a pytest subprocess.

The board is the MicroPython-like peer on a real pty (see conftest.py), reached through
``--device-type hardware --no-flash``, so the ``dut`` and ``repl`` fixtures run unchanged.
"""

from __future__ import annotations

import os
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

def test_boot_lines(boot_lines):
    assert boot_lines == ["spiram eid 0d 5d 52 a2 64 31 91 31", "spiram memtest pass",
                          "MicroPython v1.28.0 on 2026-01-01; DEVEBOX STM32H7XX with STM32H7A3",
                          'Type "help()" for more information.']

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
    assert "1 failed, 5 passed" in done.stdout.splitlines()[-1], done.stdout
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
    assert repl_peer.resets == 4  # one per test: boot_log, boot_lines, exec, device exception


def test_bad_hardware_map_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text("- platform: devebox_h7a3\n")
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    pass\n")
    done = _pytest(tmp_path, "test_plain.py", f"--hardware-map={tmp_path / 'map.yaml'}")
    assert done.returncode == 4
    assert f"ERROR: {tmp_path / 'map.yaml'}: device 1: 'serial' is required" in done.stderr
    assert "Traceback" not in done.stderr


# -- Zephyr's twister and harness ----------------------------------------------------------------
# The argv lists below are those twister builds for `harness: pytest` (Zephyr
# scripts/pylib/twister/twisterlib/harness.py, Pytest.generate_command and
# _generate_parameters_for_hardware): '--twister-harness', '--build-dir=', '--platform=',
# '--dut-scope=', '--base-timeout=', then for a device in the hardware map '--device-type=hardware',
# '--device-serial=', '--device-serial-baud=', '--flash-timeout=', '--runner=', '--runner-params=',
# '--device-id=' (probe_id or id), '--device-product=', '--flash-before=True'; for the "build"
# handler '--device-type=custom'. The flash commands expected are what the harness's
# device/hardware_adapter.py (generate_command, _prepare_runner_args) runs for them.
TWISTER_COMMON = ["--twister-harness", "-s", "-v", "--platform=devebox_h7a3", "--dut-scope=module",
                  "--log-cli-level=DEBUG", "--log-cli-format=%(levelname)s: %(message)s", "--base-timeout=300"]
TWISTER_HARDWARE = {
    "dfu-util": ["--device-type=hardware", "--device-serial=/dev/ttyUSB0", "--device-serial-baud=115200",
                 "--flash-timeout=120", "--runner=dfu-util", "--device-id=376E356F3339",
                 "--flash-before=True"],
    "pyocd": ["--device-type=hardware", "--device-serial=/dev/ttyACM0", "--device-serial-baud=115200",
              "--runner=pyocd", "--runner-params=--frequency=4000000", "--device-id=0240000032044e45",
              "--device-product=DAPLink CMSIS-DAP"],
    "openocd": ["--device-type=hardware", "--device-serial=/dev/ttyACM1", "--device-serial-baud=115200",
                "--runner=openocd", "--west-flash-extra-args=--erase", "--device-id=066DFF555051",
                "--device-product=STLINK-V3"],
}
EXPECTED_FLASH = {
    "dfu-util": ["west", "flash", "--no-rebuild", "--build-dir", "{build}", "--runner", "dfu-util",
                 "--dev-id", "376E356F3339"],
    "pyocd": ["west", "flash", "--no-rebuild", "--build-dir", "{build}", "--runner", "pyocd",
              "--", "--frequency=4000000", "--board-id", "0240000032044e45"],
    "openocd": ["west", "flash", "--no-rebuild", "--build-dir", "{build}", "--runner", "openocd",
                "--", "--erase", "--cmd-pre-init", "hla_serial 066DFF555051"],
}
SHOW_CONFIG = '''
import json
from h7psram.twister.hardware_adapter import west_flash_command

def test_show(device_config):
    cfg = device_config
    print("CONFIG", json.dumps({"type": cfg.type, "flash_before": cfg.flash_before, "id": cfg.id,
          "timeout": cfg.flash_timeout, "flash": west_flash_command("west", cfg.build_dir, cfg)}))
'''


def _shown(done: subprocess.CompletedProcess[str]) -> dict:
    import json

    line = next(line for line in done.stdout.splitlines() if "CONFIG " in line)
    return json.loads(line.split("CONFIG ", 1)[1].rsplit("}", 1)[0] + "}")


def test_twister_hardware_argv_is_accepted_and_flashes_as_the_harness_would(tmp_path: Path) -> None:
    (tmp_path / "test_show.py").write_text(SHOW_CONFIG)
    build = tmp_path / "build"
    build.mkdir()
    for runner, argv in TWISTER_HARDWARE.items():
        done = _pytest(tmp_path, *TWISTER_COMMON, f"--build-dir={build}", "test_show.py", *argv)
        assert done.returncode == 0, done.stdout + done.stderr
        shown = _shown(done)
        assert shown["type"] == "hardware"
        assert shown["flash"] == [word.replace("{build}", str(build)) for word in EXPECTED_FLASH[runner]], runner
        assert shown["flash_before"] is (runner == "dfu-util")
    assert shown["id"] == "066DFF555051"


def test_twister_custom_argv_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "test_show.py").write_text(SHOW_CONFIG)
    done = _pytest(tmp_path, *TWISTER_COMMON, f"--build-dir={tmp_path}", "test_show.py", "--device-type=custom")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _shown(done)["type"] == "custom"


def test_flash_before_false_and_bad_values(tmp_path: Path) -> None:
    (tmp_path / "test_show.py").write_text(SHOW_CONFIG)
    done = _pytest(tmp_path, "-s", "test_show.py", "--flash-before=false", f"--build-dir={tmp_path}")
    assert done.returncode == 0 and _shown(done)["flash_before"] is False, done.stdout + done.stderr
    done = _pytest(tmp_path, "test_show.py", "--flash-before=maybe")
    assert done.returncode == 4 and "'maybe' is not true or false" in done.stderr


HARNESS_TESTS = '''
import pytest

def test_boot_lines_through_the_harness_dut(dut, boot_lines):
    assert type(dut).__module__ == "twister_harness.plugin"
    assert boot_lines[0] == "spiram eid 0d 5d 52 a2 64 31 91 31"
    assert boot_lines[-1] == 'Type "help()" for more information.'

@pytest.mark.fault_injection
def test_a_fault_suite(dut):
    raise AssertionError("a fault-injection test must not run under the harness")

@pytest.mark.own_image
def test_a_suite_with_its_own_image(dut):
    raise AssertionError("a suite with its own image must not run under the harness")

def test_exec_through_the_harness_dut(repl):
    assert type(repl.dut).__module__ == "twister_harness.plugin"
    assert repl.exec("print(6 * 7)") == "42\\n"
    assert repl.eval("[1, 'two']") == [1, "two"]
'''


def test_the_real_harness_options_and_ours_coexist(tmp_path: Path, repl_peer) -> None:  # type: ignore[no-untyped-def]
    """A package named twister_harness registering the harness's option names: pytest starts, our
    plugin steps aside with one header line, and repl works on the harness's line-only dut."""
    (tmp_path / "test_harness.py").write_text(HARNESS_TESTS)
    env = package_env()
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent / "fake_harness"), env["PYTHONPATH"]])
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "twister_harness.plugin",
            f"--rootdir={tmp_path}", "test_harness.py", "-rs", *TWISTER_COMMON, f"--build-dir={tmp_path}",
            "--device-type=hardware", f"--device-serial={repl_peer.path}", "--device-id=066DFF555051",
            "--flash-before=True", "--base-timeout=10"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already used" not in done.stderr
    assert "2 passed, 2 skipped" in done.stdout.splitlines()[-1], done.stdout
    assert "SKIPPED [1] test_harness.py:9: fault_injection: the suite runs the simulator with PSRAM faults" in done.stdout
    assert [line for line in done.stdout.splitlines() if line.startswith("h7psram-twister:")] == [
        "h7psram-twister: twister_harness is installed, so its options and dut fixture are used; "
        "this plugin adds only the repl fixture"]
