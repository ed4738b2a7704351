"""The two small files a build leaves for the tools that come after it.

``BUILD_DIR/build_info.yml`` says what was built::

    board: devebox_h7a3
    app: app
    elf: firmware.elf        # paths relative to the build directory
    bin: firmware.bin
    hex: firmware.hex
    dfu: firmware.dfu
    mboot_elf: mboot.elf     # only when mboot was built too (-DH7PSRAM_MBOOT=ON)
    mboot_dfu: mboot.dfu
    mboot:                   # and then where mboot and the application live (h7psram.mboot)
      flash: '0x08000000'
      flash_size: '0x8000'
      app: '0x08008000'
      ...

``BUILD_DIR/runners.yaml`` says how to flash it, in the shape Zephyr uses::

    runners: [dfu-util, openocd, pyocd, sim]
    flash-runner: dfu-util
    args:
      dfu-util: [--alt=0]
      openocd: [--interface=stlink]
      pyocd: [--target=stm32h7a3vitx]
      sim: []

``west build`` writes both (with :func:`write_build_info` and
:func:`write_runners_yaml`); ``west flash``, ``west memcheck-sections`` and the
test plugin read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from h7psram import yaml_input
from h7psram.errors import InputError

BUILD_INFO = "build_info.yml"
RUNNERS_YAML = "runners.yaml"

_OUTPUT_KEYS = ("elf", "bin", "hex", "dfu", "mboot_elf", "mboot_dfu")


@dataclass
class BuildInfo:
    board: str
    app: str
    build_dir: Path
    outputs: dict[str, str] = field(default_factory=dict)  # key -> path relative to build_dir
    mboot: dict[str, str] | None = None                     # mboot layout, mboot builds only

    def output(self, key: str) -> Path:
        """Absolute path of an output; InputError if the build did not record it."""
        if key not in self.outputs:
            raise InputError(f"{self.build_dir / BUILD_INFO}: no '{key}' output recorded")
        return self.build_dir / self.outputs[key]

    def has_output(self, key: str) -> bool:
        return key in self.outputs

    @property
    def elf(self) -> Path:
        return self.output("elf")


@dataclass
class RunnersConfig:
    runners: list[str]
    flash_runner: str
    args: dict[str, list[str]] = field(default_factory=dict)

    def args_for(self, runner: str) -> list[str]:
        return list(self.args.get(runner, []))


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml_input.load(path, missing=f"not found (is {path.parent} a build directory? "
                                             "run 'west build' first)")
    except yaml_input.BadYaml as err:
        where = f" line {err.line}" if err.line else ""
        raise InputError(f"{path}:{where} not valid YAML") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping at the top level")
    return data


def _require_str(data: dict[str, Any], key: str, path: Path) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InputError(f"{path}: '{key}' must be a non-empty string")
    return value


def read_build_info(build_dir: str | Path) -> BuildInfo:
    build_dir = Path(build_dir)
    path = build_dir / BUILD_INFO
    data = _load_yaml(path)
    outputs = {}
    for key in _OUTPUT_KEYS:
        if key in data:
            outputs[key] = _require_str(data, key, path)
    mboot = data.get("mboot")
    if mboot is not None and not isinstance(mboot, dict):
        raise InputError(f"{path}: 'mboot' must be a mapping")
    return BuildInfo(
        board=_require_str(data, "board", path),
        app=str(data.get("app", "")),
        build_dir=build_dir,
        outputs=outputs,
        mboot={str(k): str(v) for k, v in mboot.items()} if mboot else None,
    )


def write_build_info(info: BuildInfo) -> Path:
    data: dict[str, Any] = {"board": info.board, "app": info.app}
    for key in _OUTPUT_KEYS:
        if key in info.outputs:
            data[key] = str(info.outputs[key])
    if info.mboot:
        data["mboot"] = dict(info.mboot)
    path = info.build_dir / BUILD_INFO
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def read_runners_yaml(build_dir: str | Path) -> RunnersConfig:
    path = Path(build_dir) / RUNNERS_YAML
    data = _load_yaml(path)
    runners = data.get("runners")
    if not isinstance(runners, list) or not all(isinstance(r, str) for r in runners) or not runners:
        raise InputError(f"{path}: 'runners' must be a non-empty list of runner names")
    flash_runner = _require_str(data, "flash-runner", path)
    if flash_runner not in runners:
        raise InputError(f"{path}: flash-runner '{flash_runner}' is not in 'runners' {runners}")
    args_raw = data.get("args") or {}
    if not isinstance(args_raw, dict):
        raise InputError(f"{path}: 'args' must map runner names to lists of options")
    args: dict[str, list[str]] = {}
    for name, values in args_raw.items():
        if values is None:
            values = []
        if not isinstance(values, list) or not all(isinstance(v, (str, int)) for v in values):
            raise InputError(f"{path}: args of '{name}' must be a list of strings")
        args[str(name)] = [str(v) for v in values]
    return RunnersConfig(runners=[str(r) for r in runners], flash_runner=flash_runner, args=args)


def write_runners_yaml(build_dir: str | Path, config: RunnersConfig) -> Path:
    data = {
        "runners": list(config.runners),
        "flash-runner": config.flash_runner,
        "args": {name: list(config.args.get(name, [])) for name in config.runners},
    }
    path = Path(build_dir) / RUNNERS_YAML
    path.write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=None))
    return path


def default_runners_config(board: Any) -> RunnersConfig:
    """The runners every board of this workspace offers, with their per-board options.

    ``board`` is an ``h7psram.boards.Board``; its MCU picks the pyOCD target.
    """
    from h7psram.runners.pyocd import pyocd_target_for

    return RunnersConfig(
        runners=["dfu-util", "openocd", "pyocd", "sim"],
        flash_runner="dfu-util",
        args={
            "dfu-util": ["--alt=0"],
            "openocd": ["--interface=stlink"],
            "pyocd": [f"--target={pyocd_target_for(board.mcu)}"],
            "sim": [],
        },
    )
