"""The top-level CMakeLists.txt configured with the PyPI cmake, without MicroPython."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from h7psram import build


def cmake(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([build.cmake_executable(), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def configure(repo: Path, bdir: Path, board: str, *extra: str, env: dict | None = None):
    return cmake("-S", str(repo), "-B", str(bdir), "-G", "Unix Makefiles", f"-DBOARD={board}",
                 f"-DPython3_EXECUTABLE={sys.executable}", *extra, env=env)


def offline_dirs(tmp_path: Path) -> list[str]:
    """Explicit (empty) MicroPython/HAL directories, so no workspace lookup happens."""
    return [f"-DMICROPY_DIR={tmp_path / 'no-micropython'}", f"-DSTM32LIB_DIR={tmp_path / 'no-hal'}"]


def test_configure_records_board_and_app(repo, tmp_path):
    bdir = tmp_path / "build"
    r = configure(repo, bdir, "devebox_h7a3", *offline_dirs(tmp_path))
    assert r.returncode == 0, r.stderr
    cache = build.read_cmake_cache(bdir)
    assert cache["BOARD"] == "devebox_h7a3"
    assert Path(cache["APP"]) == repo / "app"
    assert cache["H7PSRAM_HEAP"] == "split"
    info = yaml.safe_load((bdir / "build_info.yml").read_text())
    assert info["board"] == "devebox_h7a3"
    assert Path(info["app"]) == repo / "app"
    assert info["elf"] == "firmware.elf"
    assert "h7psram: board devebox_h7a3" in r.stdout


def test_generated_files_come_from_the_devicetree_into_the_build_dir(repo, tmp_path):
    bdir = tmp_path / "build"
    assert configure(repo, bdir, "weact_mini_h7a3", "-DH7PSRAM_HEAP=single",
                     *offline_dirs(tmp_path)).returncode == 0
    r = cmake("--build", str(bdir), "--target", "generated")
    assert r.returncode == 0, r.stdout + r.stderr
    gen = bdir / "generated"
    ld = (gen / "h7psram_board.ld").read_text()
    assert "weact_mini_h7a3" in ld and "_heap_start = ORIGIN(PSRAM);" in ld
    assert '"APS6404L"' in (gen / "psram_board.h").read_text()
    assert "H7PSRAM_HEAP_SPLIT 0" in (gen / "h7psram_build_config.h").read_text()
    before = {p.name: p.stat().st_mtime_ns for p in gen.iterdir()}
    r = cmake("--build", str(bdir), "--target", "generated")
    assert r.returncode == 0
    assert "Generating" not in r.stdout
    assert {p.name: p.stat().st_mtime_ns for p in gen.iterdir()} == before


def test_unknown_board_fails_configure_with_the_list(repo, tmp_path):
    r = configure(repo, tmp_path / "build", "blackpill", *offline_dirs(tmp_path))
    assert r.returncode != 0
    assert ("unknown board 'blackpill'; known boards: devebox_h7a3, weact_mini_h7a3"
            in " ".join(r.stderr.split()))  # cmake wraps long messages


def test_without_a_workspace_configure_works_and_build_says_why(repo, tmp_path):
    lonely = tmp_path / "not-a-workspace"
    lonely.mkdir()
    bdir = tmp_path / "build"
    r = configure(repo, bdir, "devebox_h7a3", env={build.ENV_WORKSPACE: str(lonely)})
    assert r.returncode == 0, r.stderr
    assert "not a west workspace" in r.stderr
    assert (bdir / "build_info.yml").is_file()
    r = cmake("--build", str(bdir))
    assert r.returncode != 0
    assert "cannot build firmware" in r.stdout + r.stderr
    assert not (bdir / "firmware.elf").exists()
