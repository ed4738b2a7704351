"""A build directory as `west build` leaves it, made from the test firmware."""

from __future__ import annotations

import shutil
from pathlib import Path

from h7psram import buildinfo, dfuse

BOARD = "devebox_h7a3"


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
