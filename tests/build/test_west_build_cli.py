"""`west build` errors: one line, the right exit code, no traceback (needs a west workspace)."""

from __future__ import annotations

import subprocess

import pytest


def west(repo, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["west", *args], cwd=repo, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def in_workspace(repo):
    r = west(repo, "topdir")
    if r.returncode != 0:
        pytest.skip("not inside a west workspace (west init -l): west build is not registered")
    if "build" not in west(repo, "help").stdout:
        pytest.skip("this workspace's manifest does not load the h7psram west commands")


def error_lines(r: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]


def test_unknown_board(repo, tmp_path, in_workspace):
    r = west(repo, "build", "-b", "stm32f4disco", "-d", str(tmp_path / "b"))
    assert r.returncode == 2
    lines = error_lines(r)
    assert len(lines) == 1, lines
    assert "unknown board 'stm32f4disco'; known boards: devebox_h7a3, weact_mini_h7a3" in lines[0]
    assert not (tmp_path / "b").exists()


def test_foreign_build_directory(repo, tmp_path, in_workspace):
    (tmp_path / "notes.txt").write_text("mine")
    r = west(repo, "build", "-b", "devebox_h7a3", "-d", str(tmp_path), "-p", "always")
    assert r.returncode == 2
    assert "not a build directory" in r.stderr and "Traceback" not in r.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_no_board_and_nothing_cached(repo, tmp_path, in_workspace):
    r = west(repo, "build", "-d", str(tmp_path / "b"))
    assert r.returncode == 2
    assert "no board given (use -b BOARD); known boards:" in r.stderr


def test_bad_pristine_value(repo, tmp_path, in_workspace):
    r = west(repo, "build", "-b", "devebox_h7a3", "-d", str(tmp_path / "b"), "-p", "maybe")
    assert r.returncode == 2  # argparse's own one-line usage error
    assert "invalid choice: 'maybe'" in r.stderr
