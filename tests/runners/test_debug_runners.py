"""`west debug` / `debugserver` / `attach` on hardware runners: fake GDB servers and a GDB
stand-in on PATH that record their command lines."""

from __future__ import annotations

import sys

import pytest
from build_dirs import make_build_dir
from runner_helpers import make_runner
from west_workspace import west

from h7psram.runners.core import ToolFailed
from h7psram.runners.dfu_util import DfuUtilRunner
from h7psram.runners.gdb import NoGdb, find_gdb
from h7psram.runners.openocd import OpenOcdRunner
from h7psram.runners.pyocd import PyOcdRunner
from h7psram.runners.sim import SimRunner

PROBE = ["-f", "interface/stlink.cfg", "-f", "target/stm32h7x.cfg",
         "-c", "reset_config srst_only srst_nogate connect_assert_srst"]
OPENOCD_SERVER = PROBE + ["-c", "gdb_port 3333", "-c", "telnet_port disabled", "-c", "tcl_port disabled",
                          "-c", "init", "-c", "targets"]


def gdb_debug_args(elf, port=3333):
    return [str(elf), "-ex", f"target extended-remote localhost:{port}", "-ex", "monitor reset halt",
            "-ex", "load", "-ex", "monitor reset halt", "-ex", "break main", "-ex", "continue"]


def test_openocd_debug_starts_server_under_reset_then_gdb_loads(fake_tools, build_dir, board):
    fake_tools.install("openocd")
    fake_tools.install_gdb("arm-none-eabi-gdb", "openocd")
    make_runner(OpenOcdRunner, build_dir, board).runner.debug("debug")
    assert fake_tools.calls("openocd") == [OPENOCD_SERVER + ["-c", "reset halt"]]
    assert fake_tools.calls("arm-none-eabi-gdb") == [gdb_debug_args(build_dir / "firmware.elf")]


def test_openocd_attach_neither_loads_nor_resets_from_gdb(fake_tools, build_dir, board):
    fake_tools.install("openocd")
    # GDB connects to the server: without the wait, a loaded machine let the fake GDB end before
    # the fake server had even started, and the server was terminated unrecorded (flaky)
    fake_tools.install_gdb("gdb-multiarch", "openocd")
    make_runner(OpenOcdRunner, build_dir, board, cmdline=["--gdb-port", "4000"]).runner.debug("attach")
    server = fake_tools.calls("openocd")[0]
    assert "gdb_port 4000" in server and "reset halt" not in server
    assert fake_tools.calls("gdb-multiarch") == [[str(build_dir / "firmware.elf"), "-ex",
                                                  "target extended-remote localhost:4000"]]


def test_openocd_debugserver_runs_only_the_server(fake_tools, build_dir, board):
    fake_tools.install("openocd")
    fake_tools.install("gdb-multiarch")
    h = make_runner(OpenOcdRunner, build_dir, board, serial="066DFF", cmdline=["--adapter-speed", "1800"],
                    tool_args=["-d2"])
    h.runner.debug("debugserver")
    assert fake_tools.calls("openocd") == [[
        "-f", "interface/stlink.cfg", "-c", "adapter serial 066DFF", "-c", "adapter speed 1800",
        *PROBE[2:], *OPENOCD_SERVER[len(PROBE):], "-c", "reset halt", "-d2"]]
    assert fake_tools.calls("gdb-multiarch") == []
    assert any("localhost:3333" in line for line in h.infos)


def test_pyocd_gdbserver_connects_under_reset(fake_tools, build_dir, board):
    fake_tools.install("pyocd")
    fake_tools.install_gdb("arm-none-eabi-gdb", "pyocd")
    make_runner(PyOcdRunner, build_dir, board, serial="0670FF", cmdline=["--frequency", "4M", "--port", "3334"]
                ).runner.debug("debug")
    assert fake_tools.calls("pyocd") == [["gdbserver", "-t", "stm32h7a3vitx", "--connect", "under-reset",
                                          "-p", "3334", "-u", "0670FF", "-f", "4M"]]
    assert fake_tools.calls("arm-none-eabi-gdb") == [gdb_debug_args(build_dir / "firmware.elf", 3334)]


def test_gdb_lookup_order_and_missing_gdb_names_the_package(fake_tools, build_dir, board):
    with pytest.raises(NoGdb) as exc:
        find_gdb()
    assert str(exc.value) == ("no GDB for Arm found (arm-none-eabi-gdb, gdb-multiarch): "
                              "install it with 'apt install gdb-multiarch'")
    assert exc.value.exit_code == 2
    fake_tools.install("gdb-multiarch")
    assert find_gdb().endswith("gdb-multiarch")
    fake_tools.install("arm-none-eabi-gdb")
    assert find_gdb().endswith("arm-none-eabi-gdb")


def test_gdb_failure_is_reported_with_its_status(fake_tools, build_dir, board):
    fake_tools.install("openocd")
    fake_tools.install_gdb("gdb-multiarch", "openocd", rc=4)
    with pytest.raises(ToolFailed, match=r"^gdb exited with status 4$"):
        make_runner(OpenOcdRunner, build_dir, board).runner.debug("attach")


def test_dfu_util_cannot_debug(fake_tools, build_dir, board):
    with pytest.raises(Exception, match=r"runner 'dfu-util' cannot debug \(runners that can: openocd, pyocd, sim\)"):
        make_runner(DfuUtilRunner, build_dir, board).runner.debug("debug")


def test_sim_server_command_puts_the_uart_on_a_pty_under_gdb(build_dir, board):
    elf = str(build_dir / "firmware.elf")
    sim = make_runner(SimRunner, build_dir, board, cmdline=["--port", "5555"]).runner
    assert sim.server_command("debug", 5555) == [
        sys.executable, "-m", "h7psram.sim", "--board", "devebox_h7a3", "--pty", "--gdb", "5555", elf]
    assert sim.server_command("debugserver", 5555) == [
        sys.executable, "-m", "h7psram.sim", "--board", "devebox_h7a3", "--gdb", "5555", elf]


def test_west_debug_and_missing_gdb(workspace, tools, tmp_path, hello_elf):
    build = make_build_dir(tmp_path / "build", hello_elf)
    tools.install("openocd")
    res = west(workspace, "debug", "-d", str(build), path=str(tools.bin_dir))
    assert res.returncode == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "install it with 'apt install gdb-multiarch'" in lines[0]
    tools.install("gdb-multiarch")
    res = west(workspace, "debug", "-d", str(build), path=str(tools.bin_dir))
    assert res.returncode == 0, res.stderr
    assert tools.calls("gdb-multiarch") == [gdb_debug_args(build / "firmware.elf")]
    res = west(workspace, "debugserver", "-d", str(build), "-r", "pyocd", path=str(tools.bin_dir))
    assert res.returncode == 2 and "pyocd not found: install it with 'pip install pyocd'" in res.stderr
