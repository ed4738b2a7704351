"""pytest plugin: twister-style ``dut`` and ``repl`` fixtures for the simulator and real boards.

Registered through the package's ``pytest11`` entry point. It only adds options and fixtures:
tests that do not ask for ``dut``/``repl`` are untouched, and device tests skip with one line
when what they need (a firmware build, the simulator) is missing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Iterator, NoReturn, Optional

import pytest

from h7psram.errors import H7Error
from h7psram.twister.config import DEVICE_TYPES, DeviceConfig, load_hardware_map
from h7psram.twister.device import DeviceAdapter, DeviceError, DeviceImage, tail_lines
from h7psram.twister.raw_repl import Repl

DEFAULT_PLATFORM = "devebox_h7a3"
DEFAULT_BUILD_DIR = "build"
#: MicroPython's boot ends at the first friendly prompt.
MICROPYTHON_BOOT_DONE = r"^>>> "
#: the boot runs the PSRAM memtest: instant on the chip, tens of seconds in the simulator
MICROPYTHON_BOOT_TIMEOUT_S = 300.0
DUT_SCOPES = ("function", "class", "module", "package", "session")

_CONFIG_KEY = pytest.StashKey[DeviceConfig]()
#: reasons given by skip_device(): their skips are reported at one place, so pytest -rs folds
#: a whole suite skipped for the same missing prerequisite into one line
_DEVICE_SKIP_REASONS: set[str] = set()


def skip_device(reason: str) -> "NoReturn":
    """Skip because a device prerequisite (firmware build, simulator, toolchain) is missing."""
    _DEVICE_SKIP_REASONS.add(reason)
    pytest.skip(reason)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("h7psram-twister", "device under test (twister-style suites)")
    group.addoption("--device-type", choices=DEVICE_TYPES, default="sim",
                    help="where the suites run: the board simulator or a real board (default: sim)")
    group.addoption("--device-serial", metavar="PATH", help="serial port of the board's REPL UART")
    group.addoption("--device-serial-baud", metavar="N", type=int, default=115200,
                    help="baud rate of --device-serial (default 115200)")
    group.addoption("--build-dir", metavar="DIR",
                    help=f"MicroPython build (west build -d DIR); default: ./{DEFAULT_BUILD_DIR} when it holds one")
    group.addoption("--platform", metavar="BOARD",
                    help=f"board name when no build says it (default {DEFAULT_PLATFORM})")
    group.addoption("--flash-before", action="store_true", default=False,
                    help="flash before opening the serial port (for ports that appear only after flashing)")
    group.addoption("--no-flash", dest="flash", action="store_false", default=True,
                    help="hardware: use the firmware already on the board")
    group.addoption("--runner", metavar="NAME", help="west flash runner (default: the build's runners.yaml)")
    group.addoption("--dev-id", metavar="ID", help="probe or DFU serial number for west flash --dev-id")
    group.addoption("--base-timeout", metavar="S", type=float, default=60.0,
                    help="seconds to wait for expected device output (default 60)")
    group.addoption("--hardware-map", metavar="FILE", help="Zephyr-style hardware-map.yaml of attached boards")
    group.addoption("--dut-scope", choices=DUT_SCOPES, default="module",
                    help="how often the device is reset/flashed: per test function, ..., or once (default module)")
    group.addoption("--device-reset", choices=("auto", "none", "repl"), default="auto",
                    help="hardware with --no-flash: how to reset the board (auto: machine.reset() "
                         "through the REPL for MicroPython images, none otherwise)")


def pytest_configure(config: pytest.Config) -> None:
    hw_map_path = config.getoption("--hardware-map")
    hw_map = ()
    if hw_map_path:
        try:
            hw_map = load_hardware_map(Path(hw_map_path))
        except H7Error as err:
            raise pytest.UsageError(str(err)) from None
    if config.getoption("--flash-before") and not config.getoption("flash"):
        raise pytest.UsageError("--flash-before and --no-flash contradict each other")
    build_dir = config.getoption("--build-dir")
    config.stash[_CONFIG_KEY] = DeviceConfig(
        type=config.getoption("--device-type"),
        platform=config.getoption("--platform"),
        serial=config.getoption("--device-serial"),
        baud=config.getoption("--device-serial-baud"),
        build_dir=Path(build_dir) if build_dir else None,
        flash=config.getoption("flash"),
        flash_before=config.getoption("--flash-before"),
        runner=config.getoption("--runner"),
        dev_id=config.getoption("--dev-id"),
        base_timeout=config.getoption("--base-timeout"),
        reset=config.getoption("--device-reset"),
        hardware_map=hw_map,
        hardware_map_path=Path(hw_map_path) if hw_map_path else None,
    )


_SKIP_SITE = (Path(__file__), skip_device.__code__.co_firstlineno)


def _dut_scope(fixture_name: str, config: pytest.Config) -> str:
    return str(config.getoption("--dut-scope"))


@pytest.fixture(scope="session")
def device_config(pytestconfig: pytest.Config) -> DeviceConfig:
    """The device settings of this run (command line + hardware map)."""
    return pytestconfig.stash[_CONFIG_KEY]


def default_platform(config: DeviceConfig) -> str:
    if config.platform:
        return config.platform
    for entry in config.hardware_map:
        if entry.connected:
            return entry.platform
    return DEFAULT_PLATFORM


def find_build_dir(config: DeviceConfig, rootdir: Path) -> Optional[Path]:
    """``--build-dir``, or the workspace's default build directory when it holds a build."""
    if config.build_dir is not None:
        return config.build_dir
    for base in (Path.cwd(), rootdir):
        candidate = base / DEFAULT_BUILD_DIR
        if (candidate / "build_info.yml").is_file():
            return candidate
    return None


def micropython_image(config: DeviceConfig, rootdir: Path) -> DeviceImage:
    """The MicroPython firmware to test; skips (one line) when the run needs a build and has none."""
    from h7psram import buildinfo

    build_dir = find_build_dir(config, rootdir)
    if build_dir is None:
        if config.type == "hardware" and not config.flash:
            return DeviceImage(board=default_platform(config), kind="micropython",
                               boot_done=MICROPYTHON_BOOT_DONE, boot_timeout=MICROPYTHON_BOOT_TIMEOUT_S)
        skip_device(f"no MicroPython firmware build: give --build-dir DIR (made by 'west build -b BOARD -d DIR'); "
                    f"./{DEFAULT_BUILD_DIR} has none")
    try:
        info = buildinfo.read_build_info(build_dir)
        elf = info.elf
    except H7Error as err:
        pytest.fail(str(err), pytrace=False)
    if not elf.is_file():
        pytest.fail(f"{build_dir / 'build_info.yml'}: the ELF {elf} does not exist (rebuild)", pytrace=False)
    return DeviceImage(board=info.board, elf=elf, build_dir=build_dir, kind="micropython",
                       boot_done=MICROPYTHON_BOOT_DONE, boot_timeout=MICROPYTHON_BOOT_TIMEOUT_S,
                       extra={"build_info": info})


@pytest.fixture(scope="session")
def dut_image(device_config: DeviceConfig, pytestconfig: pytest.Config) -> DeviceImage:
    """What the device runs; suites for other images (the self-test) override this fixture."""
    return micropython_image(device_config, Path(pytestconfig.rootpath))


@pytest.fixture(scope="session")
def sim_faults() -> tuple[str, ...]:
    """``--fault`` arguments for the simulator; fault-injection suites override this."""
    return ()


def create_adapter(config: DeviceConfig, image: DeviceImage, faults: tuple[str, ...] = ()) -> DeviceAdapter:
    if config.type == "sim":
        if importlib.util.find_spec("h7psram.sim.__main__") is None:
            skip_device("the board simulator (h7psram.sim) is not available in this checkout")
        from h7psram.twister.sim_adapter import SimAdapter

        return SimAdapter(config, image, faults)
    from h7psram.twister.hardware_adapter import HardwareAdapter

    if faults:
        skip_device(f"fault injection ({', '.join(faults)}) needs --device-type sim")
    return HardwareAdapter(config.for_platform(image.board), image)


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


@pytest.fixture
def repl(dut: DeviceAdapter) -> Iterator[Repl]:
    """MicroPython's raw REPL on the ``dut`` connection, after a soft reset (fresh heap)."""
    session = Repl(dut)
    session.enter(soft_reset=True)
    yield session
    try:
        session.leave()
    except (DeviceError, OSError):
        pass  # the device is gone; the test has already reported why


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        if reason in _DEVICE_SKIP_REASONS:
            report.longrepr = (str(_SKIP_SITE[0]), _SKIP_SITE[1], report.longrepr[2])
        return
    if not report.failed or call.excinfo is None or call.excinfo.errisinstance(DeviceError):
        return  # DeviceError messages already carry the device output
    funcargs = getattr(item, "funcargs", {})
    device = funcargs.get("dut")
    if device is None and isinstance(funcargs.get("repl"), Repl):
        device = funcargs["repl"].dut
    if isinstance(device, DeviceAdapter):
        report.sections.append((f"device output ({device.describe()})", tail_lines(device.output)))
