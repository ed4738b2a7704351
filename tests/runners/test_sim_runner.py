"""`west flash -r sim`: the build's ELF runs in the real board simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from build_dirs import make_build_dir
from hello_firmware import build_elf
from runner_helpers import make_runner
from west_workspace import west

from h7psram.runners.core import ToolFailed
from h7psram.runners.sim import SimRunner

try:
    import h7psram.sim.cli  # noqa: F401

    HAVE_SIM = True
except ImportError:
    HAVE_SIM = False

needs_sim = pytest.mark.skipif(not HAVE_SIM, reason="simulator CLI (h7psram.sim.cli) not present")
GREETING = "hello from west flash"


def test_sim_command_line(build_dir, board):
    h = make_runner(SimRunner, build_dir, board,
                    cmdline=["--pty", "--fault", "absent", "--fault", "stuck-bit=3", "--max-seconds", "2.5"])
    assert h.runner.command(build_dir / "firmware.elf") == [
        sys.executable, "-m", "h7psram.sim", "--board", "devebox_h7a3", "--pty",
        "--fault", "absent", "--fault", "stuck-bit=3", "--max-seconds", "2.5", str(build_dir / "firmware.elf")]
    plain = make_runner(SimRunner, build_dir, board).runner
    assert plain.command(build_dir / "firmware.elf") == [
        sys.executable, "-m", "h7psram.sim", "--board", "devebox_h7a3", str(build_dir / "firmware.elf")]


@needs_sim
def test_runner_runs_the_simulator(build_dir, board, capfd):
    make_runner(SimRunner, build_dir, board, cmdline=["--max-seconds", "5"]).runner.flash()
    assert GREETING in capfd.readouterr().out


@needs_sim
def test_runner_passes_on_a_fault_exit(tmp_path, board, capfd):
    build = make_build_dir(tmp_path / "build", build_elf(tmp_path, "fault", ("END_WITH_FAULT",)))
    with pytest.raises(ToolFailed, match=r"simulator exited with status 3 \(the firmware faulted") as exc:
        make_runner(SimRunner, build, board, cmdline=["--max-seconds", "5"]).runner.flash()
    assert exc.value.exit_code == 3
    assert GREETING in capfd.readouterr().out


@needs_sim
def test_west_flash_sim_returns_the_simulators_status(workspace, tmp_path, hello_elf):
    ok = make_build_dir(tmp_path / "ok", hello_elf)
    res = west(workspace, "flash", "-d", str(ok), "-r", "sim", "--max-seconds", "5", path=os.environ["PATH"])
    assert res.returncode == 0, res.stderr
    assert GREETING in res.stdout

    bad = make_build_dir(tmp_path / "bad", build_elf(tmp_path, "fault", ("END_WITH_FAULT",)))
    res = west(workspace, "flash", "-d", str(bad), "-r", "sim", "--max-seconds", "5", path=os.environ["PATH"])
    assert res.returncode == 3
    assert GREETING in res.stdout
    assert "simulator exited with status 3" in res.stderr.splitlines()[-1]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


@needs_sim
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to find the simulator process")
def test_west_flash_sim_pty_and_sigterm_reaches_the_simulator(workspace, tmp_path):
    build = make_build_dir(tmp_path / "build", build_elf(tmp_path, "forever", ("LOOP_FOREVER",)))
    proc = subprocess.Popen([sys.executable, "-m", "west", "flash", "-d", str(build), "-r", "sim", "--pty"],
                            cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        while not line.startswith("pty: "):
            line = proc.stdout.readline()
            assert line, f"no 'pty:' line; stderr: {proc.stderr.read()}"
        pty_path = line.split(": ", 1)[1].strip()
        fd = os.open(pty_path, os.O_RDONLY | os.O_NOCTTY)
        got = b""
        deadline = time.monotonic() + 30
        while GREETING.encode() not in got and time.monotonic() < deadline:
            got += os.read(fd, 256)
        os.close(fd)
        assert GREETING.encode() in got
        (sim_pid,) = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for _ in range(100):
            if not Path(f"/proc/{sim_pid}").exists() or "Z" in Path(f"/proc/{sim_pid}/stat").read_text().split()[2]:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"simulator process {sim_pid} outlived 'west flash'")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
