"""The self-test suite runs the bare-metal image instead of MicroPython: build it once per session."""

from __future__ import annotations

import shutil

import pytest

from h7psram.errors import H7Error
from h7psram.twister.config import DeviceConfig
from h7psram.twister.device import DeviceImage
from h7psram.twister.plugin import default_platform, skip_device

#: every run of the self-test ends with one of these lines (docs/architecture.md)
SELFTEST_LAST_LINE = (r"^(spiram memtest pass|spiram \w+ fail, address|spiram not found|spiram wrong id"
                      r"|spiram init fail|selftest clock fail)")
#: the full 8 MiB memtest is quick on the chip, but takes tens of seconds in the simulator
SELFTEST_BOOT_TIMEOUT_S = 300.0


@pytest.fixture(scope="session")
def dut_image(device_config: DeviceConfig, tmp_path_factory: pytest.TempPathFactory) -> DeviceImage:
    board = default_platform(device_config)
    if device_config.type == "hardware" and not device_config.flash:
        # the board runs whatever it was flashed with; trust the user that it is the self-test
        return DeviceImage(board=board, kind="selftest", boot_done=SELFTEST_LAST_LINE,
                           boot_timeout=SELFTEST_BOOT_TIMEOUT_S)
    try:
        from h7psram.selftest_build import build_selftest
    except ImportError:
        skip_device("the self-test image builder (h7psram.selftest_build) is not in this checkout")
    if shutil.which("arm-none-eabi-gcc") is None:
        skip_device("arm-none-eabi-gcc not found: cannot build the self-test image")
    out_dir = tmp_path_factory.mktemp(f"selftest-{board}")
    try:
        elf = build_selftest(board, out_dir)
    except H7Error as err:
        pytest.fail(str(err), pytrace=False)
    return DeviceImage(board=board, elf=elf, build_dir=out_dir, kind="selftest",
                       boot_done=SELFTEST_LAST_LINE, boot_timeout=SELFTEST_BOOT_TIMEOUT_S)
