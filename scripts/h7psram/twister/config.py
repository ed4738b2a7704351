"""Device settings from the command line, and Zephyr's ``hardware-map.yaml`` for real boards.

A hardware map is a YAML list of boards attached to this host, in the fields twister uses::

    - id: 376E356F3339          # probe / DFU serial number (twister's --device-id)
      platform: devebox_h7a3
      serial: /dev/ttyUSB0      # the REPL UART
      runner: dfu-util
      connected: true

The other fields twister knows (``probe_id``, ``product``, ``baud``, ``serial_pty``,
``runner_params``, ``pre_script``, ``post_script``, ``post_flash_script``, ``flash_timeout``,
``flash_before``, ``fixtures``) are kept and used the way twister uses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

from h7psram import yaml_input
from h7psram.errors import InputError

#: sim: the simulator on a pty (this plugin's own); hardware: a board on a serial port;
#: custom: twister's "build" handler, `west build -d D -t run` with the UART on its stdio
DEVICE_TYPES = ("sim", "hardware", "custom")

# Fields Zephyr's hardware-map schema knows; anything else is most likely a typo.
_MAP_FIELDS = {
    "id", "platform", "serial", "runner", "connected", "product", "baud", "serial_pty",
    "runner_params", "fixtures", "pre_script", "post_script", "post_flash_script", "notes",
    "probe_id", "flash_timeout", "flash_with_test", "flash_before",
}


@dataclass(frozen=True)
class HardwareEntry:
    platform: str
    serial: Optional[str]
    id: Optional[str] = None
    runner: Optional[str] = None
    connected: bool = True
    baud: Optional[int] = None
    product: Optional[str] = None
    probe_id: Optional[str] = None
    serial_pty: Optional[str] = None
    runner_params: tuple[str, ...] = ()
    pre_script: Optional[str] = None
    post_script: Optional[str] = None
    post_flash_script: Optional[str] = None
    flash_timeout: Optional[float] = None
    flash_before: bool = False
    fixtures: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceConfig:
    type: str = "sim"
    platform: Optional[str] = None
    serial: Optional[str] = None
    baud: int = 115200
    build_dir: Optional[Path] = None
    flash: bool = True
    flash_before: bool = False
    runner: Optional[str] = None
    id: Optional[str] = None                 # probe / DFU serial (twister's --device-id)
    base_timeout: float = 60.0
    reset: str = "auto"                      # "auto" | "none" | "repl"
    hardware_map: tuple[HardwareEntry, ...] = field(default_factory=tuple)
    hardware_map_path: Optional[Path] = None
    # twister's further device fields, named as in the harness's DeviceConfig
    product: Optional[str] = None
    serial_pty: Optional[str] = None
    runner_params: tuple[str, ...] = ()
    west_flash_extra_args: tuple[str, ...] = ()
    flash_timeout: float = 300.0
    pre_script: Optional[Path] = None
    post_script: Optional[Path] = None
    post_flash_script: Optional[Path] = None
    fixtures: tuple[str, ...] = ()

    @property
    def dev_id(self) -> Optional[str]:
        return self.id

    def for_platform(self, platform: str) -> "DeviceConfig":
        """Fill serial port, runner and probe id from the hardware map for ``platform``.

        Command-line values win over the map's.
        """
        if self.type != "hardware" or not self.hardware_map:
            return self
        for entry in self.hardware_map:
            if entry.connected and entry.platform == platform:
                def path(value: Optional[str]) -> Optional[Path]:
                    return Path(value) if value else None

                return replace(
                    self,
                    platform=platform,
                    serial=self.serial or (None if self.serial_pty else entry.serial),
                    serial_pty=self.serial_pty or (None if self.serial else entry.serial_pty),
                    runner=self.runner or entry.runner,
                    # twister passes probe_id before id as --device-id
                    id=self.id or entry.probe_id or entry.id,
                    product=self.product or entry.product,
                    baud=entry.baud if (entry.baud and self.baud == 115200) else self.baud,
                    runner_params=self.runner_params or entry.runner_params,
                    pre_script=self.pre_script or path(entry.pre_script),
                    post_script=self.post_script or path(entry.post_script),
                    post_flash_script=self.post_flash_script or path(entry.post_flash_script),
                    flash_timeout=entry.flash_timeout if entry.flash_timeout else self.flash_timeout,
                    flash_before=self.flash_before or entry.flash_before,
                    fixtures=self.fixtures + tuple(f for f in entry.fixtures if f not in self.fixtures),
                )
        raise InputError(f"{self.hardware_map_path}: no connected device for platform '{platform}'")


def load_hardware_map(path: Path) -> tuple[HardwareEntry, ...]:
    data: Any = yaml_input.load(path, missing="hardware map not found")
    if not isinstance(data, list):
        raise InputError(f"{path}: a hardware map is a YAML list of devices")
    entries = []
    for index, item in enumerate(data):
        where = f"{path}: device {index + 1}"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected a mapping with platform, serial, ...")
        unknown = sorted(set(item) - _MAP_FIELDS)
        if unknown:
            raise InputError(f"{where}: unknown field '{unknown[0]}'")
        if not isinstance(item.get("platform"), str) or not item["platform"]:
            raise InputError(f"{where}: 'platform' is required and must be a string")
        # twister: a board is reached through its serial port or a serial_pty script
        for key in ("serial", "serial_pty"):
            if item.get(key) is not None and (not isinstance(item[key], str) or not item[key]):
                raise InputError(f"{where}: '{key}' must be a string")
        if not item.get("serial") and not item.get("serial_pty"):
            raise InputError(f"{where}: 'serial' is required and must be a string (or give 'serial_pty')")
        for key in ("connected", "flash_before"):
            if not isinstance(item.get(key, False), bool):
                raise InputError(f"{where}: '{key}' must be true or false")
        baud = item.get("baud")
        if baud is not None and (not isinstance(baud, int) or isinstance(baud, bool) or baud <= 0):
            raise InputError(f"{where}: 'baud' must be a positive integer")
        flash_timeout = item.get("flash_timeout")
        if flash_timeout is not None and (not isinstance(flash_timeout, (int, float)) or flash_timeout <= 0):
            raise InputError(f"{where}: 'flash_timeout' must be a positive number of seconds")
        lists = {}
        for key in ("runner_params", "fixtures"):
            value = item.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
                raise InputError(f"{where}: '{key}' must be a list of strings")
            lists[key] = tuple(str(v) for v in value)

        def text(key: str) -> Optional[str]:
            return None if item.get(key) is None else str(item[key])

        entries.append(HardwareEntry(
            platform=item["platform"], serial=text("serial"), id=text("id"),
            runner=text("runner"), connected=item.get("connected", True), baud=baud,
            product=text("product"), probe_id=text("probe_id"), serial_pty=text("serial_pty"),
            runner_params=lists["runner_params"], pre_script=text("pre_script"),
            post_script=text("post_script"), post_flash_script=text("post_flash_script"),
            flash_timeout=None if flash_timeout is None else float(flash_timeout),
            flash_before=item.get("flash_before", False), fixtures=lists["fixtures"],
        ))
    return tuple(entries)
