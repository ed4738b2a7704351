"""Device settings from the command line, and Zephyr's ``hardware-map.yaml`` for real boards.

A hardware map is a YAML list of boards attached to this host, in the fields twister uses::

    - id: 376E356F3339          # probe / DFU serial number, passed to `west flash --dev-id`
      platform: devebox_h7a3
      serial: /dev/ttyUSB0      # the REPL UART
      runner: dfu-util
      connected: true
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

import yaml

from h7psram.errors import InputError

DEVICE_TYPES = ("sim", "hardware")

# Fields Zephyr's hardware-map schema knows; anything else is most likely a typo.
_MAP_FIELDS = {
    "id", "platform", "serial", "runner", "connected", "product", "baud", "serial_pty",
    "runner_params", "fixtures", "pre_script", "post_script", "post_flash_script", "notes",
    "probe_id", "flash_timeout", "flash_with_test", "flash_before",
}


@dataclass(frozen=True)
class HardwareEntry:
    platform: str
    serial: str
    id: Optional[str] = None
    runner: Optional[str] = None
    connected: bool = True
    baud: Optional[int] = None
    product: Optional[str] = None


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
    dev_id: Optional[str] = None
    base_timeout: float = 60.0
    reset: str = "auto"                      # "auto" | "none" | "repl"
    hardware_map: tuple[HardwareEntry, ...] = field(default_factory=tuple)
    hardware_map_path: Optional[Path] = None

    def for_platform(self, platform: str) -> "DeviceConfig":
        """Fill serial port, runner and probe id from the hardware map for ``platform``.

        Command-line values win over the map's.
        """
        if self.type != "hardware" or not self.hardware_map:
            return self
        for entry in self.hardware_map:
            if entry.connected and entry.platform == platform:
                return replace(
                    self,
                    platform=platform,
                    serial=self.serial or entry.serial,
                    runner=self.runner or entry.runner,
                    dev_id=self.dev_id or entry.id,
                    baud=entry.baud if (entry.baud and self.baud == 115200) else self.baud,
                )
        raise InputError(f"{self.hardware_map_path}: no connected device for platform '{platform}'")


def load_hardware_map(path: Path) -> tuple[HardwareEntry, ...]:
    try:
        data: Any = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: hardware map not found") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read hardware map: {err.strerror}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{where}") from None
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
        for key in ("platform", "serial"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise InputError(f"{where}: '{key}' is required and must be a string")
        connected = item.get("connected", True)
        if not isinstance(connected, bool):
            raise InputError(f"{where}: 'connected' must be true or false")
        baud = item.get("baud")
        if baud is not None and (not isinstance(baud, int) or baud <= 0):
            raise InputError(f"{where}: 'baud' must be a positive integer")
        entries.append(HardwareEntry(
            platform=item["platform"], serial=item["serial"],
            id=None if item.get("id") is None else str(item["id"]),
            runner=item.get("runner"), connected=connected, baud=baud,
            product=item.get("product"),
        ))
    return tuple(entries)
