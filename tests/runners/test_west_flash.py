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
    assert tools.calls("dfu-util") == [["-l"], ["-a", "0", "-D", str(build / "firmware.dfu")], LEAVE]
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


LEAVE = ["-a", "0", "-s", "0x08000000:leave"]
ELF = "{build}/firmware.elf"
HARNESS = "zephyr: scripts/pylib/pytest-twister-harness/src/twister_harness/device/hardware_adapter.py"

# The `west flash` command lines Zephyr's pytest-twister-harness runs for --device-type hardware
# (HardwareAdapter.generate_command and _prepare_runner_args: '--runner R', then after '--' the
# west_flash_extra_args, the runner_params, and for the probe id '--board-id ID' (pyocd) or
# '--cmd-pre-init "hla_serial ID"' (openocd with an ST-LINK product); dfu-util gets no id from it),
# each with the tool command lines it must lead to, as the fake tools record them.
HARNESS_FLASH = [
    dict(source=HARNESS, case="dfu-util: the harness passes no id for this runner",
         argv=["flash", "--no-rebuild", "--build-dir", "{build}", "--runner", "dfu-util"],
         tool="dfu-util", calls=[["-l"], ["-a", "0", "-D", "{build}/firmware.dfu"], LEAVE]),
    dict(source=HARNESS, case="dfu-util: hardware map runner_params: [--dev-id=ID]",
         argv=["flash", "--no-rebuild", "--build-dir", "{build}", "--runner", "dfu-util",
               "--", "--dev-id=376E356F3339"],
         tool="dfu-util", calls=[["-l"], ["-a", "0", "-S", "376E356F3339", "-D", "{build}/firmware.dfu"],
                                 ["-a", "0", "-S", "376E356F3339", "-s", "0x08000000:leave"]]),
    dict(source=HARNESS, case="pyocd: device id as --board-id, runner_params --frequency",
         argv=["flash", "--no-rebuild", "--build-dir", "{build}", "--runner", "pyocd",
               "--", "--frequency=4000000", "--board-id", "0240000032044e45"],
         tool="pyocd", calls=[["flash", "-t", "stm32h7a3vitx", "-O", "connect_mode=under-reset",
                               "-u", "0240000032044e45", "-f", "4000000", ELF]]),
    dict(source=HARNESS, case="openocd: product STLINK-V3, --west-flash-extra-args=--erase",
         argv=["flash", "--no-rebuild", "--build-dir", "{build}", "--runner", "openocd",
               "--", "--erase", "--cmd-pre-init", "hla_serial 066DFF555051"],
         tool="openocd", calls=[["-f", "interface/stlink.cfg", "-f", "target/stm32h7x.cfg",
                                 "-c", "hla_serial 066DFF555051", "-c", "reset_config srst_only connect_assert_srst",
                                 "-c", "init", "-c", "reset halt", "-c", "flash erase_address 0x08000000 0x200000",
                                 "-c", f"program {ELF} verify reset exit"]]),
    dict(source=HARNESS + " (older revisions: --skip-rebuild)", case="openocd: product 'STM32 STLink'",
         argv=["flash", "--skip-rebuild", "--build-dir", "{build}", "--runner", "openocd",
               "--", "--cmd-pre-init", "hla_serial 0670FF3731"],
         tool="openocd", calls=[["-f", "interface/stlink.cfg", "-f", "target/stm32h7x.cfg",
                                 "-c", "hla_serial 0670FF3731", "-c", "reset_config srst_only connect_assert_srst",
                                 "-c", f"program {ELF} verify reset exit"]]),
]


@pytest.mark.parametrize("replay", HARNESS_FLASH, ids=lambda r: r["case"].split(":")[0] + ":" + r["case"][-14:])
def test_harness_flash_commands_reach_the_tools_as_runner_options(workspace, tools, tmp_path, hello_elf, replay):
    build = make_build_dir(tmp_path / "build", hello_elf)
    tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    tools.install("openocd", {"output": "** Verified OK **\n"})
    tools.install("pyocd", {"output": "100%\n"})

    def filled(words: list[str]) -> list[str]:
        return [w.replace("{build}", str(build)) for w in words]

    res = west(workspace, *filled(replay["argv"]), path=tools.path_env)
    assert res.returncode == 0, f"{replay['source']}: {replay['case']}: {res.stderr}"
    assert tools.calls(replay["tool"]) == [filled(call) for call in replay["calls"]], replay["case"]


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
    assert tools.calls("dfu-util") == [["-l"], ["-a", "0", "-D", str(build / "firmware.dfu")], LEAVE]


def test_image_files_erase_and_runner_options_of_zephyr(workspace, tools, tmp_path, hello_elf):
    build = make_build_dir(tmp_path / "build", hello_elf)
    (build / "firmware.hex").write_text(":00000001FF\n")
    tools.install("openocd", {"output": "** Verified OK **\n"})
    tools.install("pyocd")
    cfg = tmp_path / "cfg" / "board.cfg"
    cfg.parent.mkdir()
    cfg.write_text("source [find interface/stlink.cfg]\n")
    res = west(workspace, "flash", "-d", str(build), "-r", "openocd", "--hex-file", str(build / "firmware.hex"),
               "--", "--config", str(cfg), "--serial", "066D", "--cmd-load", "flash write_image erase",
               "--cmd-verify", "verify_image", path=tools.path_env)
    assert res.returncode == 0, res.stderr
    hex_file = str(build / "firmware.hex")
    assert tools.calls("openocd") == [[
        "-s", str(cfg.parent), "-f", str(cfg), "-c", "adapter serial 066D",
        "-c", "reset_config srst_only connect_assert_srst", "-c", "init", "-c", "reset halt",
        "-c", f"flash write_image erase {hex_file}", "-c", f"verify_image {hex_file}",
        "-c", "reset run", "-c", "shutdown"]]
    res = west(workspace, "flash", "-d", str(build), "-r", "pyocd", "--bin-file", str(build / "firmware.bin"),
               "--erase", "--", "--target", "stm32h7b3vitx", "--frequency", "1M", path=tools.path_env)
    assert res.returncode == 0, res.stderr
    assert tools.calls("pyocd") == [[
        "flash", "-t", "stm32h7b3vitx", "-O", "connect_mode=under-reset", "-f", "1M", "-e", "chip",
        "--base-address", "0x08000000", str(build / "firmware.bin")]]


def test_capabilities_are_checked_and_shown(workspace, tools, tmp_path, hello_elf):
    build = make_build_dir(tmp_path / "build", hello_elf)
    res = west(workspace, "flash", "-d", str(build), "-r", "sim", "--erase", path=tools.path_env)
    assert res.returncode == 2
    assert _error_lines(res.stderr) == [
        "FATAL ERROR: runner 'sim' cannot erase the flash (--erase; runners that can: dfu-util, openocd, pyocd)"]
    res = west(workspace, "flash", "-d", str(build), "-r", "sim", "--hex-file", str(build / "firmware.elf"),
               path=tools.path_env)
    assert res.returncode == 2 and "runner 'sim' cannot write hex files (it writes elf)" in res.stderr
    res = west(workspace, "flash", "-d", str(build), "-H", path=tools.path_env)
    assert res.returncode == 0, res.stderr
    assert f"build directory {build}: board devebox_h7a3" in res.stdout
    assert "runners.yaml: runners dfu-util, openocd, pyocd, sim; flash-runner dfu-util" in res.stdout
    assert ("  capabilities: commands=['flash'], dev_id=yes (USB serial number: dfu-util -S ID), erase=yes, "
            "files=['dfu', 'elf', 'bin']") in res.stdout
    assert "  runners.yaml args: --alt=0" in res.stdout and "--cmd-load CMD" in res.stdout
    res = west(workspace, "flash", "-d", str(build), "-H", "-r", "pyocd", path=tools.path_env)
    assert "pyocd: SWD with pyOCD" in res.stdout and "dfu-util:" not in res.stdout


def test_tool_status_is_reported_not_passed_through(workspace, tools, tmp_path, hello_elf):
    """dfu-util's 74 used to become west flash's exit status; the contract is 0/1/2."""
    build = make_build_dir(tmp_path / "build", hello_elf)
    tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING},
                  {"when": ["-D"], "output": "dfu-util: Error during download get_status\n", "rc": 74})
    res = west(workspace, "flash", "-d", str(build), path=tools.path_env)
    assert res.returncode == 1
    (line,) = _error_lines(res.stderr)
    assert "(exit 74)" in line and "Error during download get_status" in line


# A flashing tool that keeps writing progress until a signal, then cleans up (writing more
# output, as openocd and dfu-util do) and says so in its log. It gives up after 20 s so an
# orphan cannot outlive the test for long.
_SLOW_TOOL = """#!{python}
import signal, sys, time
from pathlib import Path
log = Path(__file__).with_name("tool.log")
got = []
def on_signal(signum, frame):
    if not got:
        got.append(signal.Signals(signum).name)
signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)
Path(__file__).with_name("tool.started").write_text("")
end = time.monotonic() + 20
while not got and time.monotonic() < end:
    print("Programming 10%", flush=True)
    time.sleep(0.02)
with log.open("a") as f:
    f.write(("got " + got[0]) if got else "never signalled")
    f.write("\\n")
for _ in range(200):
    print("shutting down, flash left half written", flush=True)
log.open("a").write("clean exit\\n")
sys.exit(1)
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGINT-to-group"])
def test_signal_reaches_the_flashing_tool(workspace, tools, tmp_path, hello_elf, how):
    """SIGTERM to west flash used to orphan the tool, which then died of SIGPIPE mid-write."""
    import os
    import signal
    import subprocess
    import sys
    import time

    build = make_build_dir(tmp_path / "build", hello_elf)
    exe = tools.bin_dir / "openocd"
    exe.write_text(_SLOW_TOOL.format(python=sys.executable))
    exe.chmod(0o755)
    env = dict(os.environ, PATH=tools.path_env)
    env.pop("ZEPHYR_BASE", None)
    proc = subprocess.Popen([sys.executable, "-m", "west", "flash", "-d", str(build), "-r", "openocd"],
                            cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (tools.bin_dir / "tool.started").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        signum = signal.SIGTERM if how == "SIGTERM" else signal.SIGINT
        if how == "SIGINT-to-group":
            os.killpg(proc.pid, signum)          # Ctrl-C: the tool gets it directly as well
        else:
            proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert (tools.bin_dir / "tool.log").read_text() == f"got {signum.name}\nclean exit\n"
    assert proc.returncode == 128 + signum
    (line,) = _error_lines(err)
    assert f"openocd: stopped by {signum.name}" in line and "exited with status 1" in line
    assert "shutting down" in out            # the tool's output after the signal was still read
