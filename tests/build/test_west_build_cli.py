"""`west build` errors: one line, the right exit code, no traceback (needs a west workspace)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from west_workspace import make_workspace


def west(ws, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "BOARD"}
    return subprocess.run([sys.executable, "-m", "west", *args], cwd=ws, capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def in_workspace(tmp_path_factory):
    """A west workspace around a copy of this tree, so `west build` runs this tree's code."""
    return make_workspace(tmp_path_factory.mktemp("buildws"))


def error_lines(r: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]


def test_unknown_board(repo, tmp_path, in_workspace):
    r = west(in_workspace, "build", "-b", "stm32f4disco", "-d", str(tmp_path / "b"))
    assert r.returncode == 2
    lines = error_lines(r)
    assert len(lines) == 1, lines
    assert "unknown board 'stm32f4disco'; known boards: devebox_h7a3, weact_mini_h7a3" in lines[0]
    assert not (tmp_path / "b").exists()


def test_foreign_build_directory(repo, tmp_path, in_workspace):
    (tmp_path / "notes.txt").write_text("mine")
    r = west(in_workspace, "build", "-b", "devebox_h7a3", "-d", str(tmp_path), "-p", "always")
    assert r.returncode == 2
    assert "not a build directory" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_no_board_and_nothing_cached(repo, tmp_path, in_workspace):
    r = west(in_workspace, "build", "-d", str(tmp_path / "b"))
    assert r.returncode == 2
    assert "no board given (use -b BOARD, set BOARD, or 'west config build.board BOARD'); known boards:" in r.stderr


def test_bad_pristine_value(repo, tmp_path, in_workspace):
    r = west(in_workspace, "build", "-b", "devebox_h7a3", "-d", str(tmp_path / "b"), "-p", "maybe")
    assert r.returncode == 2  # argparse's own one-line usage error
    assert "invalid choice: 'maybe'" in r.stderr


def stray_cache(path, board="devebox_h7a3"):
    path.mkdir(parents=True, exist_ok=True)
    (path / "CMakeCache.txt").write_text(f"BOARD:STRING={board}\nMICROPY_DIR:PATH=/ws/mpy\n")


@pytest.mark.parametrize("mode", ["always", "auto"])
def test_repository_with_a_stray_cmake_cache_is_not_deleted(repo, tmp_path, in_workspace, mode):
    """`-p always -d .` in a repository with a stray CMakeCache.txt deleted it, .git included."""
    proj = tmp_path / "proj"
    stray_cache(proj, "weact_mini_h7a3" if mode == "auto" else "devebox_h7a3")
    (proj / ".git").mkdir()
    (proj / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (proj / "notes.txt").write_text("mine")
    r = west(in_workspace, "build", "-b", "devebox_h7a3", "-d", str(proj), "-p", mode)
    assert r.returncode == 2, r.stderr
    assert "did not make it" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in proj.iterdir()) == [".git", "CMakeCache.txt", "notes.txt"]


def test_failed_check_deletes_nothing(repo, tmp_path, in_workspace):
    """With MicroPython missing, -p always used to delete the firmware and then exit 2."""
    bdir = tmp_path / "b"
    bdir.mkdir()
    (bdir / ".h7psram-build-dir").write_text("made by west build\n")
    stray_cache(bdir)
    (bdir / "firmware.elf").write_bytes(b"\x7fELF good")
    (bdir / "mpy").mkdir()
    env = dict(os.environ, H7PSRAM_WORKSPACE=str(tmp_path / "no-workspace"))
    r = west(in_workspace, "build", "-b", "devebox_h7a3", "-d", str(bdir), "-p", "always", env=env)
    assert r.returncode == 2
    assert "not a west workspace" in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in bdir.iterdir()) == [".h7psram-build-dir", "CMakeCache.txt",
                                                      "firmware.elf", "mpy"]


# -- Zephyr's spellings ----------------------------------------------------------------------------

def printed_board(r: subprocess.CompletedProcess) -> str:
    """The -DBOARD= of the configure command `west build -n` printed."""
    assert r.returncode == 0, r.stderr
    configure = next(line for line in r.stdout.splitlines() if " -S " in line)
    return next(w for w in configure.split() if w.startswith("-DBOARD=")).split("=", 1)[1]


def test_board_precedence_is_zephyrs(tmp_path, in_workspace):
    """-b, then the build directory's board, then $BOARD, then `west config build.board`
    (Zephyr's build.py, Build._find_board)."""
    no_board = {k: v for k, v in os.environ.items() if k != "BOARD"}
    fresh = str(tmp_path / "fresh")
    assert west(in_workspace, "config", "--local", "build.board", "devebox_h7a3").returncode == 0
    try:
        assert printed_board(west(in_workspace, "build", "-n", "-d", fresh, env=no_board)) == "devebox_h7a3"
        env = dict(no_board, BOARD="weact_mini_h7a3")
        assert printed_board(west(in_workspace, "build", "-n", "-d", fresh, env=env)) == "weact_mini_h7a3"
        r = west(in_workspace, "build", "-n", "-d", fresh, "-b", "devebox_h7a3", env=env)
        assert printed_board(r) == "devebox_h7a3"
        # a configured directory keeps its board over $BOARD and the config (-c shows the configure)
        configured = tmp_path / "configured"
        stray_cache(configured, "devebox_h7a3")
        r = west(in_workspace, "build", "-n", "-c", "-d", str(configured), env=env)
        assert printed_board(r) == "devebox_h7a3"
    finally:
        west(in_workspace, "config", "--local", "-d", "build.board")
    assert not (tmp_path / "fresh").exists()  # -n ran nothing


def test_just_print_cmake_options_and_build_options(tmp_path, in_workspace):
    bdir = tmp_path / "b"
    stray_cache(bdir)
    (bdir / "mods").mkdir()
    r = west(in_workspace, "build", "-n", "-d", str(bdir), "--cmake-opt=-DH7PSRAM_HEAP=single", "-o", "V=1",
             "-o", "USER_C_MODULES=mods", "-j", "3", "--", "-DFOO=1")
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if line and not line.startswith("#")]
    assert len(lines) == 2, r.stdout
    configure, build_cmd = lines
    # --cmake-opt first, then what follows -- (Zephyr's order); either one makes cmake run
    assert configure.endswith("-DH7PSRAM_HEAP=single -DFOO=1")
    # a relative USER_C_MODULES is taken from where west build ran (make runs in ports/stm32)
    assert build_cmd == (f"H7PSRAM_BUILD_OPTS='V=1 USER_C_MODULES={in_workspace}/mods -j3' "
                         f"{configure.split()[0]} --build {bdir}")
    r = west(in_workspace, "build", "-n", "-d", str(bdir), "--cmake-only")
    lines = [line for line in r.stdout.splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1 and " -S " in lines[0], r.stdout
    r = west(in_workspace, "build", "-n", "-d", str(bdir), "-t", "run")
    assert r.stdout.splitlines()[-1].endswith(f"--build {bdir} --target run"), r.stdout
    assert sorted(p.name for p in bdir.iterdir()) == ["CMakeCache.txt", "mods"]  # nothing ran


FAKE_MAKE = """#!{python}
import json, os, sys
with open({log!r}, "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "MAKEFLAGS": os.environ.get("MAKEFLAGS")}}) + "\\n")
"""


def test_build_options_reach_micropythons_make(tmp_path, in_workspace):
    """-o and -j through CMake's firmware step to the make that builds MicroPython (a fake one,
    on PATH; CMake's own make was fixed at configure time and stays the real one)."""
    fake_mpy, fake_hal = tmp_path / "micropython", tmp_path / "stm32lib"
    (fake_mpy / "ports" / "stm32").mkdir(parents=True)
    fake_hal.mkdir()
    bdir = tmp_path / "b"
    r = west(in_workspace, "build", "-b", "devebox_h7a3", "-d", str(bdir), "--cmake-only", "--",
             f"-DMICROPY_DIR={fake_mpy}", f"-DSTM32LIB_DIR={fake_hal}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not (bdir / "mpy").exists()  # configured, not built
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    log = tmp_path / "make.jsonl"
    (fakebin / "make").write_text(FAKE_MAKE.format(python=sys.executable, log=str(log)))
    (fakebin / "make").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "BOARD"}
    env["PATH"] = f"{fakebin}{os.pathsep}{env['PATH']}"
    r = west(in_workspace, "build", "-d", str(bdir), "-o", "V=1", "-o", "DEBUG=1", "-j", "3", env=env)
    # the fake make builds nothing, so the step after it finds no firmware: exit 1, one reason
    assert r.returncode == 1, r.stdout + r.stderr
    calls = [__import__("json").loads(line) for line in log.read_text().splitlines()]
    (firmware,) = [c for c in calls if str(fake_mpy / "ports" / "stm32") in c["argv"]]
    argv = firmware["argv"]
    assert argv[:3] == ["-C", str(fake_mpy / "ports" / "stm32"), "-j2"]
    assert argv[-3:] == ["V=1", "DEBUG=1", "-j3"]
    assert firmware["MAKEFLAGS"] is None  # CMake's jobserver does not leak into MicroPython's make
    assert "make options from west build -o: V=1 DEBUG=1 -j3" in r.stdout


def test_long_build_directory_name(in_workspace, tmp_path):
    """A too-long -d ended in an OSError traceback with exit 1."""
    r = west(in_workspace, "build", "-b", "devebox_h7a3", "-d", str(tmp_path / ("x" * 300)))
    assert r.returncode == 2
    lines = error_lines(r)
    assert len(lines) == 1 and "file name too long" in lines[0], r.stderr
