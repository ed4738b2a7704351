"""Fixtures for the runner tests: a real test ELF, a build directory made from it,
and fake flash tools on PATH."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_tools import FakeTools  # noqa: E402
from hello_firmware import build_elf  # noqa: E402
from h7psram import buildinfo, dfuse  # noqa: E402

BOARD = "devebox_h7a3"


@pytest.fixture(scope="session")
def hello_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_elf(tmp_path_factory.mktemp("elf"))


def make_build_dir(path: Path, elf: Path, *, runner_args: dict[str, list[str]] | None = None,
                   flash_runner: str = "dfu-util") -> Path:
    """A build directory as `west build` leaves it: outputs, build_info.yml, runners.yaml."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(elf, path / "firmware.elf")
    shutil.copy(elf.with_suffix(".bin"), path / "firmware.bin")
    dfuse.write_dfuse(path / "firmware.dfu", dfuse.dfuse_from_elf(path / "firmware.elf"))
    buildinfo.write_build_info(buildinfo.BuildInfo(
        board=BOARD, app="hello", build_dir=path,
        outputs={"elf": "firmware.elf", "bin": "firmware.bin", "dfu": "firmware.dfu"},
    ))
    args = {"dfu-util": ["--alt=0"], "openocd": ["--interface=stlink"],
            "pyocd": ["--target=stm32h7a3vitx"], "sim": []}
    args.update(runner_args or {})
    buildinfo.write_runners_yaml(path, buildinfo.RunnersConfig(
        runners=["dfu-util", "openocd", "pyocd", "sim"], flash_runner=flash_runner, args=args))
    return path


@pytest.fixture
def build_dir(tmp_path: Path, hello_elf: Path) -> Path:
    return make_build_dir(tmp_path / "build", hello_elf)


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeTools:
    """Fake dfu-util/openocd/pyocd; PATH holds only them, so real tools cannot run."""
    tools = FakeTools(tmp_path / "fakebin")
    monkeypatch.setenv("PATH", str(tools.bin_dir))
    return tools


def load_test_board(name: str = BOARD):
    from h7psram.boards import load_board

    return load_board(name)


@pytest.fixture
def board():
    """The board description the runners check images against."""
    return load_test_board()


def env_without(var: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(var, None)
    return env
