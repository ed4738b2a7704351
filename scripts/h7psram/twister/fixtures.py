"""The device fixtures of this project's plugin: ``device_config``, ``dut_image``, ``sim_faults``, ``dut``.

Registered by the plugin only when Zephyr's pytest-twister-harness is not installed: the
harness brings its own ``dut`` (and the options that configure it), and suites written against
the adapter API both share run under either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from h7psram.errors import H7Error
from h7psram.twister.config import DeviceConfig
from h7psram.twister.device import DeviceAdapter, DeviceImage
from h7psram.twister.plugin import _CONFIG_KEY, _dut_scope, create_adapter, micropython_image


@pytest.fixture(scope="session")
def device_config(pytestconfig: pytest.Config) -> DeviceConfig:
    """The device settings of this run (command line + hardware map)."""
    return pytestconfig.stash[_CONFIG_KEY]


@pytest.fixture(scope="session")
def dut_image(device_config: DeviceConfig, pytestconfig: pytest.Config) -> DeviceImage:
    """What the device runs; suites for other images (the self-test) override this fixture."""
    return micropython_image(device_config, Path(pytestconfig.rootpath))


@pytest.fixture(scope="session")
def sim_faults() -> tuple[str, ...]:
    """``--fault`` arguments for the simulator; fault-injection suites override this."""
    return ()


@pytest.fixture(scope=_dut_scope)
def dut(device_config: DeviceConfig, dut_image: DeviceImage, sim_faults: tuple[str, ...]) -> Iterator[DeviceAdapter]:
    """The device, flashed (or started) and reset, its boot log read up to ``boot_done``."""
    try:
        adapter = create_adapter(device_config, dut_image, tuple(sim_faults))
    except H7Error as err:
        pytest.fail(str(err), pytrace=False)
    try:
        try:
            adapter.launch()
        except H7Error as err:
            pytest.fail(str(err), pytrace=False)
        yield adapter
    finally:
        adapter.close()
