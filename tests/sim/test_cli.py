"""`python -m h7psram.sim` and `west sim` as a user runs them: real pty, pyserial, exit codes."""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import serial

from h7psram.sim.process import SimProcess

REPO = Path(__file__).resolve().parents[2]
BOARD = "devebox_h7a3"


def sim_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "scripts"), env.get("PYTHONPATH")]))
    return env


def run_sim(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "h7psram.sim", *args], capture_output=True, text=True,
                          env=sim_env(), timeout=timeout, stdin=subprocess.DEVNULL)


def test_pty_talks_to_pyserial_and_sigterm_ends_cleanly(firmware):
    with SimProcess(BOARD, firmware("hello")) as sim:
        assert sim.pty_path.startswith("/dev/pts/")
        # a second, independent client: the port behaves like a serial device
        assert sim.wait_for(r"hello from usart1\r\n", timeout=20)
        port = serial.Serial(sim.pty_path, 115200, timeout=2)
        port.write(b"xyz!")
        got = b""
        while b"bye" not in got:
            chunk = port.read(64)
            assert chunk, f"no answer, got {got!r}"
            got += chunk
        port.close()
        assert got.startswith(b"XYZ!\r\nbye")
        rc = sim.stop()
    assert rc == 0
    assert "Traceback" not in sim.stderr_text


def test_dying_firmware_exits_3_with_report(firmware):
    res = run_sim("--board", BOARD, "--max-seconds", "2", str(firmware("faults", "DIE_SPIN")))
    assert res.returncode == 3, res.stderr
    assert "about to die" in res.stdout
    assert "firmware died: hardfault-spin: BusFault PRECISERR" in res.stderr
    assert "fault address 0x60000000" in res.stderr


def test_max_seconds_and_stats(firmware):
    res = run_sim("--board", BOARD, "--max-seconds", "0.2", "--stats", str(firmware("systick")))
    assert res.returncode == 0, res.stderr
    assert "systick done ticks=50" in res.stdout
    assert "M instr/s" in res.stderr and "0.200 s simulated" in res.stderr


@pytest.mark.parametrize("args,message", [
    (["--board", BOARD, "/nonexistent/firmware.elf"], "/nonexistent/firmware.elf: no such file"),
    (["--board", "no_such_board", "ELF"], "no_such_board"),
    (["--board", BOARD, "--uart", "USART9", "ELF"], "USART9"),
    (["--board", BOARD, "--fault", "melted", "ELF"], "melted"),
    # these used to end in a traceback with exit 1
    (["--board", BOARD, "/tmp/" + "x" * 300 + ".elf"], "file name too long"),
    (["--board", BOARD, "--flash-file", "/tmp/" + "x" * 300, "ELF"], "file name too long"),
    (["--board", BOARD, "--flash-file", "/nonexistent-dir/flash.bin", "--max-seconds", "0.01", "ELF"],
     "/nonexistent-dir/flash.bin: --flash-file folder /nonexistent-dir does not exist"),
    (["--board", BOARD, "--max-seconds", "nan", "ELF"], "--max-seconds nan: must be a finite number"),
    (["--board", BOARD, "--max-seconds", "inf", "ELF"], "--max-seconds inf: must be a finite number"),
    (["--board", BOARD, "--max-seconds", "-1", "ELF"], "--max-seconds -1.0: must be a finite number"),
    (["--board", BOARD, "--cpu-hz", "-5", "--max-seconds", "0.01", "ELF"], "--cpu-hz -5: must be a positive"),
    (["--board", BOARD, "--cpu-hz", "0", "--max-seconds", "0.01", "ELF"], "--cpu-hz 0: must be a positive"),
], ids=["missing-elf", "unknown-board", "unknown-uart", "unknown-fault", "long-elf-name",
        "long-flash-file", "flash-file-folder-missing", "max-seconds-nan", "max-seconds-inf",
        "max-seconds-negative", "cpu-hz-negative", "cpu-hz-zero"])
def test_bad_input_is_one_line_exit_2(firmware, tmp_path, args, message):
    args = [str(firmware("hello")) if a == "ELF" else a for a in args]
    res = run_sim(*args)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], res.stderr
    assert "Traceback" not in res.stderr


def test_not_an_elf(tmp_path):
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"not an elf at all")
    res = run_sim("--board", BOARD, str(junk))
    assert res.returncode == 2
    assert f"{junk}: not an ELF file (bad magic)" in res.stderr


def _vector_table_offset(elf: Path) -> int:
    """File offset of the segment loaded at the start of flash (the vector table)."""
    from elftools.elf.elffile import ELFFile

    with open(elf, "rb") as f:
        seg = next(s for s in ELFFile(f).iter_segments()
                   if s["p_type"] == "PT_LOAD" and s["p_paddr"] == 0x08000000)
        return seg["p_offset"]


def _patched(elf: Path, out: Path, edit) -> Path:
    data = bytearray(elf.read_bytes())
    edit(data, _vector_table_offset(elf))
    out.write_bytes(bytes(data))
    return out


def _put(data: bytearray, offset: int, *words: int) -> None:
    struct.pack_into(f"<{len(words)}I", data, offset, *words)


# Images a flasher would write but no core could start, each refused before it runs.
BAD_IMAGES = {
    "erased-vectors": (lambda d, o: _put(d, o, 0xFFFFFFFF, 0xFFFFFFFF),
                       "no vector table at 0x08000000: initial SP 0xffffffff is not in internal RAM"),
    "arm-state-reset": (lambda d, o: _put(d, o + 4, 0x08000100),
                        "reset address 0x08000100 is not a Thumb address in flash or RAM"),
    "truncated": (lambda d, o: d.__delitem__(slice(o + 16, None)), "truncated ELF"),
    "big-endian": (lambda d, o: d.__setitem__(5, 2), "wrong byte order: big-endian ELF"),
    "x86": (lambda d, o: struct.pack_into("<H", d, 18, 3), "wrong architecture: e_machine 3 (x86)"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMAGES))
def test_unstartable_image_is_refused_in_one_line(firmware, tmp_path, case):
    """A truncated or wrong-layout ELF used to load silently (an erased reset vector spun)."""
    edit, message = BAD_IMAGES[case]
    bad = _patched(firmware("hello"), tmp_path / f"{case}.elf", edit)
    res = run_sim("--board", BOARD, "--max-seconds", "1", str(bad))
    assert res.returncode == 2, res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert f"{bad}: " in line and message in line


def test_lockup_ends_the_run_with_a_fault_report(firmware, tmp_path):
    """A fault whose HardFault vector is erased locked the core up in silence until --max-seconds."""
    def edit(data, o):
        _put(data, o + 4, 0x08100001)        # reset into erased flash: an undefined instruction
        _put(data, o + 12, 0xFFFFFFFF)       # and no HardFault handler
    bad = _patched(firmware("hello"), tmp_path / "lockup.elf", edit)
    res = run_sim("--board", BOARD, "--max-seconds", "5", str(bad))
    assert res.returncode == 3, res.stderr
    assert ("firmware died: lockup: UsageFault UNDEFINSTR, then HardFault vector 0xffffffff is "
            "not a usable handler address") in res.stderr
    assert "pc 0x08100000" in res.stderr and "Traceback" not in res.stderr


# Runs the command line in-process and lists what it imported that a plain run does not need.
IMPORTS_PROBE = """
import sys
from h7psram.sim.cli import main
status = main(sys.argv[1:])
extra = sorted(m for m in sys.modules if m.split(".")[0] in ("yaml", "elftools", "devicetree")
               or m.startswith(("h7psram.twister", "h7psram.sim.gdbstub", "h7psram.sim.ospi_trace")))
print("extra imports:", " ".join(extra), file=sys.stderr)
sys.exit(status)
"""


def test_a_plain_run_imports_no_yaml_pyelftools_or_devicetree(firmware, tmp_path):
    """Start-up time: the board comes from the cache after the first run, the ELF's segments are
    read without pyelftools, and nothing optional (twister, GDB server, VCD) is loaded."""
    env = dict(sim_env(), H7PSRAM_CACHE_DIR=str(tmp_path / "cache"))
    argv = [sys.executable, "-c", IMPORTS_PROBE, "--board", BOARD, "--max-seconds", "0.01",
            str(firmware("hello"))]
    results = [subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60,
                              stdin=subprocess.DEVNULL) for _ in range(2)]
    for res in results:
        assert res.returncode == 0, res.stderr
        assert "hello from usart1" in res.stdout
    assert "devicetree" in results[0].stderr            # the first run parsed the tree
    assert results[1].stderr.strip().endswith("extra imports:"), results[1].stderr


def test_segments_match_pyelftools(firmware):
    """The loader reads the program headers itself: the same bytes at the same addresses."""
    from elftools.elf.elffile import ELFFile

    from h7psram.sim.elf_loader import load_segments

    elf = firmware("hello")
    with open(elf, "rb") as f:
        expected = [(s["p_paddr"], s.data()) for s in ELFFile(f).iter_segments()
                    if s["p_type"] == "PT_LOAD" and s["p_filesz"]]
    assert load_segments(str(elf)) == expected and expected


@pytest.fixture(scope="module")
def west_workspace(tmp_path_factory) -> Path:
    """A minimal west workspace whose manifest repository carries this package's commands."""
    ws = tmp_path_factory.mktemp("westws")
    manifest = ws / "manifest"
    shutil.copytree(REPO / "scripts", manifest / "scripts",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(REPO / "dts", manifest / "dts")
    shutil.copy(REPO / "west.yml", manifest / "west.yml")
    git = ["git", "-C", str(manifest), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "ws"], check=True)
    res = subprocess.run([sys.executable, "-m", "west", "init", "-l", str(manifest)], cwd=ws,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return ws


def west(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = sim_env()
    env.pop("ZEPHYR_BASE", None)
    return subprocess.run([sys.executable, "-m", "west", *args], cwd=ws, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_west_sim_reads_build_info(west_workspace, firmware, tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(firmware("systick"), build / "firmware.elf")
    (build / "build_info.yml").write_text(f"board: {BOARD}\napp: test\nelf: firmware.elf\n")
    res = west(west_workspace, "sim", "-d", str(build), "--max-seconds", "0.1")
    assert res.returncode == 0, res.stderr
    assert "systick done ticks=50" in res.stdout
    res = west(west_workspace, "sim", "-d", str(build), "--elf", str(firmware("faults", "DIE_SPIN")),
               "--max-seconds", "1")
    assert res.returncode == 3
    assert "firmware died" in res.stderr


def test_west_sim_missing_build(west_workspace, tmp_path):
    res = west(west_workspace, "sim", "-d", str(tmp_path / "nothing"))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "build_info.yml" in res.stderr


def test_pty_waits_for_a_client_and_sigterm_while_waiting(firmware):
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "h7psram.sim", "--board", BOARD, "--pty", "--stats",
                             str(firmware("hello"))], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=sim_env(), text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("pty: /dev/pts/")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        # it never ran: no statistics line, because the firmware had not started
        assert "instructions" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_flash_file_keeps_flash_between_runs(firmware, tmp_path):
    image = tmp_path / "flash.bin"
    res = run_sim("--board", BOARD, "--max-seconds", "0.01", "--flash-file", str(image),
                  str(firmware("flash")))
    assert res.returncode == 0 and "irqs=1" in res.stdout, res.stderr
    data = image.read_bytes()
    assert len(data) == 2 * 1024 * 1024
    sector = 0x100000 + 5 * 0x2000
    assert data[sector:sector + 4] == bytes.fromhex("0000dec0")   # programmed by the firmware
    # a second run starts from that flash: the test image is loaded over it, the data survives
    res = run_sim("--board", BOARD, "--max-seconds", "0.01", "--flash-file", str(image),
                  str(firmware("hello")))
    assert res.returncode == 0 and "hello from usart1" in res.stdout
    assert image.read_bytes()[sector:sector + 4] == bytes.fromhex("0000dec0")
    image.write_bytes(b"short")
    res = run_sim("--board", BOARD, "--flash-file", str(image), str(firmware("hello")))
    assert res.returncode == 2 and "flash image of 5 bytes" in res.stderr


def test_west_sim_trace_ospi_and_sim_decode(west_workspace, firmware, tmp_path):
    build = tmp_path / "build"
    build.mkdir()
    shutil.copy(firmware("systick"), build / "firmware.elf")
    (build / "build_info.yml").write_text(f"board: {BOARD}\napp: test\nelf: firmware.elf\n")
    vcd = tmp_path / "ospi.vcd"
    res = west(west_workspace, "sim", "-d", str(build), "--max-seconds", "0.1", "--trace-ospi", str(vcd),
               "--trace-limit", "10")
    assert res.returncode == 0, res.stderr
    # a firmware that never starts the OCTOSPI: a valid trace with no transaction on the wires
    res = west(west_workspace, "sim-decode", str(vcd))
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"0 transactions, 0 hazards ({BOARD}: "), res.stdout
    res = west(west_workspace, "sim-decode", str(tmp_path / "missing.vcd"))
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert "missing.vcd: cannot read" in res.stderr
