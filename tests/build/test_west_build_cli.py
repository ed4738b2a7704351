"""`west build` errors: one line, the right exit code, no traceback (needs a west workspace)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from west_workspace import make_workspace


def west(ws, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "west", *args], cwd=ws, capture_output=True,
                          text=True, timeout=120, env=env)


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
    assert "no board given (use -b BOARD); known boards:" in r.stderr


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
