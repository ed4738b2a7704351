"""Fixtures for the simulator tests: test images built with arm-none-eabi-gcc, and a board."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from h7psram.boards import load_board

FIRMWARE = Path(__file__).parent / "firmware"
CFLAGS = ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-O1", "-g",
          "-ffreestanding", "-nostdlib", "-nostartfiles", "-Wall", "-Werror"]


@dataclass(frozen=True)
class Region:
    name: str
    start: int
    size: int
    kind: str

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass
class MiniBoard:
    """The STM32H7A3 memory map (docs/hardware.md#memories), without a PSRAM model attached; the
    peripherals are the SoC tree's (the simulator builds its models from them)."""

    name: str = "test_h7a3"
    repl_uart: str = "USART1"
    sysclk_hz: int = 280_000_000
    hse_hz: int = 25_000_000
    regions: tuple = (
        Region("itcm", 0x00000000, 64 * 1024, "itcm"),
        Region("flash0", 0x08000000, 2 * 1024 * 1024, "flash"),
        Region("dtcm", 0x20000000, 128 * 1024, "dtcm"),
        Region("axi_sram", 0x24000000, 1024 * 1024, "sram"),
        Region("ahb_sram", 0x30000000, 128 * 1024, "sram"),
        Region("srd_sram", 0x38000000, 32 * 1024, "sram"),
        Region("backup_sram", 0x38800000, 4 * 1024, "backup"),
    )
    psram: object = None
    mmio: tuple = tuple(load_board("devebox_h7a3").mmio)


@pytest.fixture(scope="session")
def board() -> MiniBoard:
    return MiniBoard()


@pytest.fixture(scope="session")
def firmware(tmp_path_factory):
    """firmware("name", "DEFINE", ...) -> path of the ELF built from firmware/name.c."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc is not installed")
    out = tmp_path_factory.mktemp("sim-firmware")
    built: dict[tuple, Path] = {}

    def build(name: str, *defines: str) -> Path:
        key = (name, defines)
        if key not in built:
            elf = out / ("-".join((name,) + tuple(d.lower() for d in defines)) + ".elf")
            cmd = [gcc, *CFLAGS, *(f"-D{d}" for d in defines), "-I", str(FIRMWARE),
                   "-T", str(FIRMWARE / "link.ld"), "-o", str(elf),
                   str(FIRMWARE / "startup.c"), str(FIRMWARE / f"{name}.c"), "-lgcc"]
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            built[key] = elf
        return built[key]

    return build


@pytest.fixture
def machine_for(board):
    """machine_for(elf, **kwargs) -> a Machine with the ELF loaded; closed after the test."""
    from h7psram.sim import Machine

    made = []

    def make(elf, **kwargs):
        m = Machine(kwargs.pop("board", board), **kwargs)
        m.load_elf(str(elf))
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop()
        m.close()
