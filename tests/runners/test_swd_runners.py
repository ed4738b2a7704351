"""The OpenOCD and pyOCD runners against fake tools that record their arguments."""

from __future__ import annotations

import shutil

import pytest
from runner_helpers import make_runner

from h7psram.runners.core import FlashFailed, ToolFailed, ToolNotFound, VerifyMismatch
from h7psram.runners.openocd import OpenOcdRunner, tcl_word
from h7psram.runners.pyocd import PyOcdRunner, pyocd_target_for

OPENOCD_OK = (
    "Open On-Chip Debugger 0.12.0\n** Programming Started **\n** Programming Finished **\n"
    "** Verify Started **\n** Verified OK **\n** Resetting Target **\nshutdown command invoked\n"
)
OPENOCD_VERIFY_FAIL = (
    "** Programming Started **\n** Programming Finished **\n** Verify Started **\n"
    "checksum mismatch - attempting binary compare\ndiff 0 address 0x08000040. Was 0xff instead of 0x12\n"
    "** Verify Failed **\nshutdown command invoked\n"
)


def test_openocd_command_asserts_reset_during_attach(fake_tools, build_dir, board):
    fake_tools.install("openocd", {"output": OPENOCD_OK})
    h = make_runner(OpenOcdRunner, build_dir, board)
    h.runner.flash()
    assert fake_tools.calls("openocd") == [[
        "-f", "interface/stlink.cfg", "-f", "target/stm32h7x.cfg",
        "-c", "reset_config srst_only connect_assert_srst",
        "-c", f"program {build_dir / 'firmware.elf'} verify reset exit",
    ]]
    assert b"** Verified OK **" in h.output


def test_openocd_interface_serial_speed_and_passthrough(fake_tools, build_dir, board):
    fake_tools.install("openocd", {"output": OPENOCD_OK})
    make_runner(OpenOcdRunner, build_dir, board, serial="066DFF555185754867",
                cmdline=["--interface", "cmsis-dap", "--adapter-speed", "1800", "--openocd-target", "stm32h7x_dual_bank"],
                tool_args=["-d2"]).runner.flash()
    assert fake_tools.calls("openocd") == [[
        "-f", "interface/cmsis-dap.cfg", "-c", "adapter serial 066DFF555185754867", "-c", "adapter speed 1800",
        "-f", "target/stm32h7x_dual_bank.cfg", "-c", "reset_config srst_only connect_assert_srst",
        "-c", f"program {build_dir / 'firmware.elf'} verify reset exit", "-d2",
    ]]


def test_openocd_path_with_space_is_braced(fake_tools, tmp_path, build_dir, board):
    spaced = tmp_path / "my builds" / "app.elf"
    spaced.parent.mkdir()
    shutil.copy(build_dir / "firmware.elf", spaced)
    fake_tools.install("openocd", {"output": OPENOCD_OK})
    make_runner(OpenOcdRunner, build_dir, board, cmdline=["--elf", str(spaced)]).runner.flash()
    assert fake_tools.calls("openocd")[0][-1] == f"program {{{spaced}}} verify reset exit"
    assert tcl_word("plain/path.elf") == "plain/path.elf"


def test_openocd_verify_mismatch_is_one_clear_line(fake_tools, build_dir, board):
    fake_tools.install("openocd", {"output": OPENOCD_VERIFY_FAIL, "rc": 1})
    with pytest.raises(VerifyMismatch) as exc:
        make_runner(OpenOcdRunner, build_dir, board).runner.flash()
    msg = str(exc.value)
    assert msg.startswith("openocd: flash verify mismatch after programming ") and "0x08000040" in msg
    assert "\n" not in msg and exc.value.exit_code == 1


def test_openocd_no_probe_and_no_target(fake_tools, build_dir, board):
    fake_tools.install("openocd", {"output": "Error: open failed\n", "rc": 1})
    with pytest.raises(FlashFailed, match="found no stlink probe"):
        make_runner(OpenOcdRunner, build_dir, board).runner.flash()
    fake_tools.install("openocd", {"output": "Error: init mode failed (unable to connect to the target)\n", "rc": 1})
    with pytest.raises(FlashFailed, match="cannot attach: check SWDIO, SWCLK, GND and NRST"):
        make_runner(OpenOcdRunner, build_dir, board).runner.flash()


def test_openocd_other_failure_names_its_status(fake_tools, build_dir, board):
    fake_tools.install("openocd", {"output": "Error: something odd\n", "rc": 5})
    with pytest.raises(ToolFailed, match=r"openocd failed \(exit 5\): Error: something odd") as exc:
        make_runner(OpenOcdRunner, build_dir, board).runner.flash()
    assert (exc.value.exit_code, exc.value.status) == (1, 5)


def test_openocd_missing_names_the_package(fake_tools, build_dir, board):
    with pytest.raises(ToolNotFound, match=r"^openocd not found: install it with 'apt install openocd'$"):
        make_runner(OpenOcdRunner, build_dir, board).runner.flash()


def test_pyocd_command_connects_under_reset(fake_tools, build_dir, board):
    fake_tools.install("pyocd")
    make_runner(PyOcdRunner, build_dir, board).runner.flash()
    assert fake_tools.calls("pyocd") == [[
        "flash", "-t", "stm32h7a3vitx", "-O", "connect_mode=under-reset", str(build_dir / "firmware.elf")]]


def test_pyocd_serial_frequency_pack(fake_tools, build_dir, board, tmp_path):
    fake_tools.install("pyocd")
    make_runner(PyOcdRunner, build_dir, board, serial="0670FF3731",
                cmdline=["--frequency", "4M", "--pack", "Keil.STM32H7xx_DFP.pack"]).runner.flash()
    assert fake_tools.calls("pyocd") == [[
        "flash", "-t", "stm32h7a3vitx", "-O", "connect_mode=under-reset", "-u", "0670FF3731", "-f", "4M",
        "--pack", "Keil.STM32H7xx_DFP.pack", str(build_dir / "firmware.elf")]]


def test_pyocd_unknown_target_says_which_pack(fake_tools, build_dir, board):
    fake_tools.install("pyocd", {"output": "0001234 C Target type stm32h7a3vitx not recognized. Use 'pyocd list "
                                           "--targets' to see currently available target types. [__main__]\n",
                                 "rc": 1})
    with pytest.raises(FlashFailed, match=r"install ST's STM32H7 pack with 'pyocd pack install stm32h7a3vitx'"):
        make_runner(PyOcdRunner, build_dir, board).runner.flash()


def test_pyocd_no_probe_and_missing_tool(fake_tools, build_dir, board):
    fake_tools.install("pyocd", {"output": "0000600 C No connected debug probes [__main__]\n", "rc": 1})
    with pytest.raises(FlashFailed, match="pyocd found no debug probe"):
        make_runner(PyOcdRunner, build_dir, board).runner.flash()
    (fake_tools.bin_dir / "pyocd").unlink()
    with pytest.raises(ToolNotFound, match=r"^pyocd not found: install it with 'pip install pyocd'$"):
        make_runner(PyOcdRunner, build_dir, board).runner.flash()


def test_pyocd_target_comes_from_the_board_mcu(board):
    assert pyocd_target_for(board.mcu) == "stm32h7a3vitx"
