"""Fixtures for the runner tests: a real test ELF, a build directory made from it,
fake flash tools on PATH, and a west workspace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_dirs import BOARD, make_build_dir  # noqa: E402
from fake_tools import FakeTools  # noqa: E402
from hello_firmware import build_elf  # noqa: E402
from west_workspace import make_workspace  # noqa: E402

from h7psram.boards import load_board  # noqa: E402


@pytest.fixture(scope="session")
def hello_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_elf(tmp_path_factory.mktemp("elf"))


@pytest.fixture
def build_dir(tmp_path: Path, hello_elf: Path) -> Path:
    return make_build_dir(tmp_path / "build", hello_elf)


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeTools:
    """Fake dfu-util/openocd/pyocd; PATH holds only them, so real tools cannot run."""
    tools = FakeTools(tmp_path / "fakebin")
    monkeypatch.setenv("PATH", str(tools.bin_dir))
    return tools


@pytest.fixture
def board():
    """The board description the runners check images against."""
    return load_board(BOARD)


@pytest.fixture
def tools(tmp_path: Path) -> FakeTools:
    """Fake tools for a `west flash` subprocess (its PATH is given per call)."""
    return FakeTools(tmp_path / "fakebin")


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("westws"))
