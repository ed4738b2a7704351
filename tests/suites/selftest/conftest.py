"""The self-test suite runs the bare-metal image instead of MicroPython: built once per session."""

from __future__ import annotations

import shutil

import pytest

from h7psram.errors import H7Error
from h7psram.twister.config import DeviceConfig
from h7psram.twister.device import DeviceImage
from h7psram.twister.plugin import default_platform, skip_device


@pytest.fixture(scope="session")
def dut_image(device_config: DeviceConfig, tmp_path_factory: pytest.TempPathFactory) -> DeviceImage:
    board = default_platform(device_config)
    if device_config.type == "custom":
        skip_device("--device-type custom runs 'west build -d DIR -t run' of a MicroPython build; the "
                    "self-test image is not built by 'west build' (use --device-type sim or hardware)")
    if device_config.type == "hardware" and not device_config.flash:
        from h7psram.twister.selftest_image import unflashed_selftest

        return unflashed_selftest(board)
    try:
        from h7psram.twister.selftest_image import selftest_image
    except ImportError:
        skip_device("the self-test image builder (h7psram.selftest_build) is not in this checkout")
    if shutil.which("arm-none-eabi-gcc") is None:
        skip_device("arm-none-eabi-gcc not found: cannot build the self-test image")
    try:
        return selftest_image(board, tmp_path_factory.mktemp(f"selftest-{board}"))
    except H7Error as err:
        pytest.fail(str(err), pytrace=False)
