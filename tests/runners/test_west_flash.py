"""`west flash` end to end: a real west workspace (`west init -l` on a copy of this
repository), real subprocesses, fake flash tools on PATH."""

from __future__ import annotations

import pytest
from build_dirs import make_build_dir
from dfu_listings import ROM_LISTING, SECOND_BOARD
from west_workspace import west

def test_default_runner_is_dfu_util_with_the_write_ups_command(workspace, tools, tmp_path, hello_elf):
    build = make_build_dir(tmp_path / "build", hello_elf)
    tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING},
                  {"when": ["-D"], "output": "Download\t[=========================] 100%          144 bytes\n"})
    res = west(workspace, "flash", "-d", str(build), path=tools.path_env)
    assert res.returncode == 0, res.stderr
    # the board leaves DFU and starts the firmware (Zephyr's dfu-util runner: -s ADDR:leave)
    assert tools.calls("dfu-util") == [["-l"], ["-a", "0", "-s", ":leave", "-D", str(build / "firmware.dfu")]]
    assert "100%" in res.stdout


def test_zephyr_spellings_and_tool_opt(workspace, tools, tmp_path, hello_elf):
    build = make_build_dir(tmp_path / "build", hello_elf)
    tools.install("openocd", {"output": "** Verified OK **\n"})
    res = west(workspace, "flash", "--skip-rebuild", "--build-dir", str(build), "--runner", "openocd",
               "--tool-opt=-d2", "--", "--interface", "cmsis-dap", path=tools.path_env)
    assert res.returncode == 0, res.stderr
    assert tools.calls("openocd") == [[
        "-f", "interface/cmsis-dap.cfg", "-f", "target/stm32h7x.cfg",
        "-c", "reset_config srst_only connect_assert_srst",
        "-c", f"program {build / 'firmware.elf'} verify reset exit", "-d2"]]


# The commands Zephyr's pytest-twister-harness runs for --device-type hardware (its
# src/twister_harness/device/hardware_adapter.py, generate_command and _prepare_runner_args),
# with the tool command lines they must lead to.
HARNESS_FLASH = [
    (["--runner", "pyocd", "--", "--board-id", "0240000032044e45"],
     "pyocd", ["flash", "-t", "stm32h7a3vitx", "-O", "connect_mode=under-reset", "-u", "0240000032044e45", "{elf}"]),
    (["--runner", "openocd", "--", "--cmd-pre-init", "hla_serial 066DFF555051"],
     "openocd", ["-f", "interface/stlink.cfg", "-f", "target/stm32h7x.cfg", "-c", "hla_serial 066DFF555051",
                 "-c", "reset_config srst_only connect_assert_srst", "-c", "program {elf} verify reset exit"]),
]


def test_harness_flash_commands_reach_the_tools_as_runner_options(workspace, tools, tmp_path, hello_elf):
    build = make_build_dir(tmp_path / "build", hello_elf)
    tools.install("openocd", {"output": "** Verified OK **\n"})
    tools.install("pyocd", {"output": "100%\n"})
    for runner_args, tool, expected in HARNESS_FLASH:
        res = west(workspace, "flash", "--no-rebuild", "--build-dir", str(build), *runner_args, path=tools.path_env)
        assert res.returncode == 0, res.stderr
        elf = str(build / "firmware.elf")
        assert tools.calls(tool)[-1] == [w.replace("{elf}", elf) for w in expected]


def test_dfu_util_no_leave_stays_in_dfu(workspace, tools, tmp_path, hello_elf):
    from dfu_listings import ROM_LISTING

    build = make_build_dir(tmp_path / "build", hello_elf)
    tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING}, {"when": ["-D"], "output": "100%\n"})
    res = west(workspace, "flash", "-d", str(build), "--", "--no-leave", path=tools.path_env)
    assert res.returncode == 0, res.stderr
    assert tools.calls("dfu-util")[-1] == ["-a", "0", "-D", str(build / "firmware.dfu")]


def test_runner_and_options_come_from_runners_yaml(workspace, tools, tmp_path, hello_elf):
    build = make_build_dir(tmp_path / "build", hello_elf, flash_runner="pyocd",
                           runner_args={"pyocd": ["--target=stm32h7a3vitx", "--frequency=1M"]})
    tools.install("pyocd")
    res = west(workspace, "flash", "-d", str(build), "-i", "0670FF", path=tools.path_env)
    assert res.returncode == 0, res.stderr
    assert tools.calls("pyocd") == [[
        "flash", "-t", "stm32h7a3vitx", "-O", "connect_mode=under-reset", "-u", "0670FF", "-f", "1M",
        str(build / "firmware.elf")]]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.mark.parametrize("case,listing,status,needle", [
    ("no device", "dfu-util 0.11\n", 1, "put the board in DFU mode: connect BOOT0 to 3V3"),
    ("two devices", ROM_LISTING + SECOND_BOARD, 1, "choose one with --serial"),
], ids=["no-device", "two-devices"])
def test_device_problems_are_one_line(workspace, tools, tmp_path, hello_elf, case, listing, status, needle):
    build = make_build_dir(tmp_path / "build", hello_elf)
    tools.install("dfu-util", {"when": ["-l"], "output": listing})
    res = west(workspace, "flash", "-d", str(build), path=tools.path_env)
    assert res.returncode == status
    lines = _error_lines(res.stderr)
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.stderr
    assert tools.calls("dfu-util") == [["-l"]]


def test_tool_not_installed(workspace, tools, tmp_path, hello_elf):
    build = make_build_dir(tmp_path / "build", hello_elf)
    res = west(workspace, "flash", "-d", str(build), path=str(tools.bin_dir))
    assert res.returncode == 2
    (line,) = _error_lines(res.stderr)
    assert line.endswith("dfu-util not found: install it with 'apt install dfu-util'")


def test_missing_build_dir_and_bad_runner(workspace, tools, tmp_path):
    res = west(workspace, "flash", "-d", str(tmp_path / "nowhere"), path=tools.path_env)
    assert res.returncode == 2
    (line,) = _error_lines(res.stderr)
    assert "nowhere/build_info.yml: not found" in line
    build = tmp_path / "b"
    build.mkdir()
    (build / "build_info.yml").write_text("board: devebox_h7a3\nelf: firmware.elf\n")
    (build / "runners.yaml").write_text("runners: [dfu-util]\nflash-runner: dfu-util\n")
    res = west(workspace, "flash", "-d", str(build), "-r", "jlink", path=tools.path_env)
    assert res.returncode == 2 and "unknown runner 'jlink'" in res.stderr


def test_verify_mismatch_exit_status(workspace, tools, tmp_path, hello_elf):
    build = make_build_dir(tmp_path / "build", hello_elf)
    tools.install("openocd", {"output": "diff 0 address 0x08000040. Was 0xff instead of 0x12\n** Verify Failed **\n",
                              "rc": 1})
    res = west(workspace, "flash", "-d", str(build), "-r", "openocd", path=tools.path_env)
    assert res.returncode == 1
    assert "flash verify mismatch after programming" in _error_lines(res.stderr)[-1]


def test_help_lists_every_runners_options(workspace, tools):
    res = west(workspace, "flash", "-h", path=tools.path_env)
    assert res.returncode == 0
    for text in ("dfu-util runner options", "--bin", "openocd runner options", "--interface", "pyocd runner options",
                 "--target", "sim runner options", "--pty", "--serial"):
        assert text in res.stdout


def test_without_runners_yaml_dfu_util_is_still_the_default(workspace, tools, tmp_path, hello_elf):
    build = make_build_dir(tmp_path / "build", hello_elf)
    (build / "runners.yaml").unlink()
    tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    res = west(workspace, "flash", "-d", str(build), path=tools.path_env)
    assert res.returncode == 0, res.stderr
    assert "runners.yaml missing" in res.stderr
    assert tools.calls("dfu-util") == [["-l"], ["-a", "0", "-s", ":leave", "-D", str(build / "firmware.dfu")]]
