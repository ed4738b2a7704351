"""Build the tiny test firmware (firmware/hello.c) with the real arm-none-eabi toolchain."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parent / "firmware"


def build_elf(out: Path, name: str = "hello", defines: tuple[str, ...] = (), flags: tuple[str, ...] = ()) -> Path:
    """Compile firmware/hello.c; ``defines`` such as END_WITH_FAULT pick how it ends."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not installed (apt install gcc-arm-none-eabi)")
    elf = out / f"{name}.elf"
    subprocess.run(
        [gcc, "-mcpu=cortex-m7", "-mthumb", "-Os", "-nostdlib", "-ffreestanding", *(f"-D{d}" for d in defines), *flags,
         "-T", str(FIRMWARE / "hello.ld"), str(FIRMWARE / "hello.c"), "-o", str(elf)],
        check=True,
    )
    objcopy = shutil.which("arm-none-eabi-objcopy")
    assert objcopy, "arm-none-eabi-objcopy missing next to arm-none-eabi-gcc"
    subprocess.run([objcopy, "-O", "binary", str(elf), str(elf.with_suffix(".bin"))], check=True)
    return elf
