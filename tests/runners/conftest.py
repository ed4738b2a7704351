"""Fixtures for the runner tests: a real test ELF, a build directory made from it,
fake flash tools on PATH, and the DfuSe listing the write-up showed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_tools import FakeTools  # noqa: E402
from h7psram import buildinfo, dfuse  # noqa: E402

FIRMWARE = Path(__file__).resolve().parent / "firmware"
BOARD = "devebox_h7a3"

# `dfu-util -l` as printed in the original write-up for the H7A3's ROM bootloader.
ROM_LISTING = """\
dfu-util 0.9

Found DFU: [0483:df11] ver=0200, devnum=10, cfg=1, intf=0, path="1-1.1", alt=2, name="@OTP Memory   /0x08FFF000/01*1024 e", serial="376E356F3339"
Found DFU: [0483:df11] ver=0200, devnum=10, cfg=1, intf=0, path="1-1.1", alt=1, name="@Option Bytes   /0x5200201C/01*297 e", serial="376E356F3339"
Found DFU: [0483:df11] ver=0200, devnum=10, cfg=1, intf=0, path="1-1.1", alt=0, name="@Internal Flash   /0x08000000/256*08Kg", serial="376E356F3339"
"""

SECOND_BOARD = """\
Found DFU: [0483:df11] ver=0200, devnum=12, cfg=1, intf=0, path="1-1.4", alt=1, name="@Option Bytes   /0x5200201C/01*297 e", serial="3A7F21453338"
Found DFU: [0483:df11] ver=0200, devnum=12, cfg=1, intf=0, path="1-1.4", alt=0, name="@Internal Flash   /0x08000000/256*08Kg", serial="3A7F21453338"
"""

# mboot reports only its flash (the layout string docs/flashing.md gives for the H7A3).
MBOOT_LISTING = """\
Found DFU: [0483:df11] ver=0200, devnum=14, cfg=1, intf=0, path="1-1.1", alt=0, name="@Internal Flash  /0x08000000/256*08Kg", serial="376E356F3339"
"""


def build_elf(out: Path, name: str = "hello") -> Path:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not installed (apt install gcc-arm-none-eabi)")
    elf = out / f"{name}.elf"
    subprocess.run(
        [gcc, "-mcpu=cortex-m7", "-mthumb", "-Os", "-nostdlib", "-ffreestanding",
         "-T", str(FIRMWARE / "hello.ld"), str(FIRMWARE / "hello.c"), "-o", str(elf)],
        check=True,
    )
    objcopy = shutil.which("arm-none-eabi-objcopy")
    assert objcopy, "arm-none-eabi-objcopy missing next to arm-none-eabi-gcc"
    subprocess.run([objcopy, "-O", "binary", str(elf), str(elf.with_suffix(".bin"))], check=True)
    return elf


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


@dataclass(frozen=True)
class _Region:
    name: str
    start: int
    size: int
    kind: str


@dataclass
class _BoardStandIn:
    """Used only while h7psram.boards has not landed: the flash region the runners read."""

    name: str
    mcu: str
    regions: list

    def regions_of_kind(self, kind: str) -> list:
        return [r for r in self.regions if r.kind == kind]


def load_test_board(name: str = BOARD):
    try:
        from h7psram.boards import load_board
    except ImportError:
        return _BoardStandIn(name, "STM32H7A3", [_Region("flash0", 0x08000000, 2 * 1024 * 1024, "flash")])
    return load_board(name)


@pytest.fixture
def board():
    """The board description the runners check images against."""
    return load_test_board()


def env_without(var: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(var, None)
    return env
