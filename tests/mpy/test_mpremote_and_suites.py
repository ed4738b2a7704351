"""Tools that know nothing about the simulator, against the simulated boards:

- `west flash -r sim --pty` in one process, `mpremote connect <pty> exec ...` as separate
  processes (the first one opens the port while the board powers up);
- the twister-style suites (boot, heap, psram module, fallback, gc) through the pytest plugin with
  `--build-dir`, for both boards, and once more through `--device-type custom`: the command
  Zephyr's harness runs for that type, `west build -d D -t run`, with the UART on its stdio.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import firmware_builds as fb
from west_workspace import make_workspace

pytestmark = pytest.mark.micropython

REPO = Path(__file__).resolve().parents[2]
SUITES = ("boot", "heap", "psram", "fallback", "gc")
FALLBACK_TESTS = ("test_fallback_absent", "test_fallback_memtest", "test_fallback_narrow_write")


def env_with_package() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "scripts"), env.get("PYTHONPATH")]))
    return env


def mpremote(pty: str, code: str, timeout: float = 180) -> str:
    exe = shutil.which("mpremote")
    cmd = [exe] if exe else [sys.executable, "-m", "mpremote"]
    r = subprocess.run(cmd + ["connect", pty, "exec", code], capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"mpremote failed ({r.returncode}): {r.stdout}{r.stderr}"
    return r.stdout


def test_west_flash_sim_pty_then_mpremote(build_dir):
    if shutil.which("west") is None:
        pytest.skip("west is not on PATH")
    bdir = build_dir("devebox_h7a3")
    proc = subprocess.Popen(["west", "flash", "-d", str(bdir), "-r", "sim", "--pty"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env_with_package(), start_new_session=True)
    try:
        pty = None
        deadline = time.monotonic() + 120
        while pty is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            found = re.match(r"pty: (/dev/\S+)", line)
            pty = found.group(1) if found else None
        assert pty, f"no 'pty:' line from west flash: {proc.stderr.read() if proc.poll() is not None else ''}"
        # first client: the board powers up now, mpremote's keystrokes wait for its receiver
        assert int(mpremote(pty, "import gc; print(gc.mem_free())")) > 9_000_000
        # later clients find the running board (mpremote soft-resets it each time; a file on
        # the internal-flash filesystem survives that)
        mpremote(pty, "f = open('seen.txt', 'w'); f.write('41'); f.close()", timeout=60)
        assert mpremote(pty, "print(int(open('seen.txt').read()) + 1)", timeout=60).strip() == "42"
        assert proc.poll() is None, "the simulator ended with the client"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0 or proc.returncode == -signal.SIGTERM


@pytest.mark.parametrize("board", fb.BOARDS)
def test_twister_suites_pass_on_the_simulated_board(build_dir, board, tmp_path):
    bdir = build_dir(board)
    junit = tmp_path / "suites.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs",
           "-p", "no:cacheprovider", "--device-type", "sim", "--build-dir", str(bdir),
           f"--junitxml={junit}", *(str(REPO / "tests" / "suites" / s) for s in SUITES)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env_with_package(),
                       timeout=1800)
    tail = "\n".join(r.stdout.splitlines()[-25:])
    assert r.returncode == 0, f"suites failed on {board}:\n{tail}\n{r.stderr[-2000:]}"
    counts = dict((k, int(v)) for v, k in re.findall(r"(\d+) (passed|failed|skipped|error)", r.stdout))
    assert counts.get("passed", 0) >= 10 and not counts.get("skipped") and not counts.get("failed"), tail
    report = junit.read_text()
    # the fallback suite ran: no chip, a failing chip, narrow writes clobbering their double
    # word, and each time MicroPython up on internal RAM
    for name in FALLBACK_TESTS:
        assert name in report, (name, report[:2000])


# What the adapter must be under --device-type custom: Zephyr's harness runs this command for it
# (scripts/pylib/pytest-twister-harness/src/twister_harness/device/binary_adapter.py,
# CustomSimulatorAdapter.generate_command) and talks to its stdin/stdout pipes.
CUSTOM_PROBE = """
def test_the_device_is_west_build_run_on_pipes(dut, boot_lines):
    assert type(dut).__name__ == "CustomAdapter"
    assert dut.proc.args[1:] == ["build", "-d", {build!r}, "-t", "run"]
    assert dut.proc.poll() is None
    assert boot_lines[-1] == 'Type "help()" for more information.'
"""


def test_twister_suites_pass_through_the_custom_device_type(build_dir, tmp_path):
    if shutil.which("west") is None:
        pytest.skip("west is not on PATH")
    bdir = build_dir("devebox_h7a3")
    # `west build` must be this checkout's command: a west workspace around a copy of it
    ws = make_workspace(tmp_path / "ws")
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "test_custom_probe.py").write_text(CUSTOM_PROBE.format(build=str(bdir)))
    junit = tmp_path / "suites.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", f"--rootdir={REPO}",
           "--device-type", "custom", "--build-dir", str(bdir), f"--junitxml={junit}",
           str(tmp_path / "probe" / "test_custom_probe.py"),
           # the gc suite is a heap workload, not a check of the adapter: it runs per board above
           *(str(REPO / "tests" / "suites" / s) for s in SUITES if s != "gc")]
    r = subprocess.run(cmd, cwd=ws, capture_output=True, text=True, env=env_with_package(), timeout=2400)
    tail = "\n".join(r.stdout.splitlines()[-25:])
    assert r.returncode == 0, f"suites failed through --device-type custom:\n{tail}\n{r.stderr[-2000:]}"
    counts = dict((k, int(v)) for v, k in re.findall(r"(\d+) (passed|failed|skipped|error)", r.stdout))
    assert counts.get("passed", 0) >= 11 and not counts.get("skipped") and not counts.get("failed"), tail
    report = junit.read_text()
    assert "test_the_device_is_west_build_run_on_pipes" in report
    # the fallback suites ran too: their faults reach the simulator behind `west build -t run`
    for name in FALLBACK_TESTS:
        assert name in report, (name, report[:2000])
