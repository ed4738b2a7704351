"""pytest plugin: twister-style ``dut`` and ``repl`` fixtures for the simulator and real boards.

Registered through the package's ``pytest11`` entry point. It only adds options and fixtures:
tests that do not ask for ``dut``/``repl`` are untouched, and device tests skip with one line
when what they need (a firmware build, the simulator) is missing.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import re
from pathlib import Path
from typing import Iterator, NoReturn, Optional

import pytest

from h7psram.errors import H7Error
from h7psram.twister.config import DEVICE_TYPES, DeviceConfig, load_hardware_map
from h7psram.twister.device import DeviceAdapter, DeviceError, DeviceImage, tail_lines
from h7psram.twister.raw_repl import Repl

DEFAULT_PLATFORM = "devebox_h7a3"
DEFAULT_BUILD_DIR = "build"
#: MicroPython's boot ends with the banner's second line (the prompt after it has no newline,
#: and Zephyr's harness only ever sees complete lines).
MICROPYTHON_BOOT_DONE = r'^Type "help\(\)" for more information\.'
#: the first line of the banner
MICROPYTHON_BANNER = r"^MicroPython v\S+ on "
#: the first line of the boot log: the board code's PSRAM report ("spiram eid ...", or why not)
MICROPYTHON_BOOT_START = r"^spiram "
#: the boot runs the PSRAM memtest: instant on the chip, tens of seconds in the simulator
MICROPYTHON_BOOT_TIMEOUT_S = 300.0
#: Markers of suites that only this plugin's ``dut`` can run, with the reason they are skipped
#: under Zephyr's harness, whose dut comes from the command line alone (--build-dir, --device-type).
PLUGIN_ONLY_MARKERS = {
    "fault_injection": ("the suite runs the simulator with PSRAM faults it chooses (sim_faults), which Zephyr's "
                        "harness cannot pass to its dut; run it with this project's plugin (--device-type sim "
                        "or custom)"),
    "own_image": ("the suite builds and runs an image of its own (dut_image), while Zephyr's harness runs "
                  "--build-dir's; run it with this project's plugin"),
}
DUT_SCOPES = ("function", "class", "module", "package", "session")

_CONFIG_KEY = pytest.StashKey[DeviceConfig]()
_HARNESS_KEY = pytest.StashKey[bool]()
#: reasons given by skip_device(): their skips are reported at one place, so pytest -rs folds
#: a whole suite skipped for the same missing prerequisite into one line
_DEVICE_SKIP_REASONS: set[str] = set()


def skip_device(reason: str) -> "NoReturn":
    """Skip because a device prerequisite (firmware build, simulator, toolchain) is missing."""
    _DEVICE_SKIP_REASONS.add(reason)
    pytest.skip(reason)


def harness_installed() -> bool:
    """Zephyr's pytest-twister-harness (module ``twister_harness``) can be imported."""
    try:
        return importlib.util.find_spec("twister_harness") is not None
    except (ImportError, ValueError):
        return False


def _flag(text: str) -> bool:
    """twister writes ``--flash-before=True``; the harness's type=bool makes any text true."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"'{text}' is not true or false")


def pytest_addoption(parser: pytest.Parser) -> None:
    if harness_installed():
        return  # the harness owns these option names; two registrations would stop pytest
    group = parser.getgroup("h7psram-twister", "device under test (twister-style suites)")
    group.addoption("--twister-harness", action="store_true", default=False,
                    help="accepted as twister passes it (this plugin is always active)")
    group.addoption("--device-type", choices=DEVICE_TYPES, default="sim",
                    help="where the suites run: sim (simulator on a pty), hardware (a board on a serial "
                         "port) or custom ('west build -d DIR -t run', the simulator on stdio); default sim")
    group.addoption("--device-serial", metavar="PATH", help="serial port of the board's REPL UART")
    group.addoption("--device-serial-baud", metavar="N", type=int, default=115200,
                    help="baud rate of --device-serial (default 115200)")
    group.addoption("--device-serial-pty", metavar="CMD",
                    help="program to run on a pseudo-terminal instead of opening --device-serial")
    group.addoption("--build-dir", metavar="DIR",
                    help=f"MicroPython build (west build -d DIR); default: ./{DEFAULT_BUILD_DIR} when it holds one")
    group.addoption("--platform", metavar="BOARD",
                    help=f"board name when no build says it (default {DEFAULT_PLATFORM})")
    group.addoption("--flash-before", nargs="?", const=True, default=False, type=_flag, metavar="BOOL",
                    help="flash before opening the serial port (for ports that appear only after flashing)")
    group.addoption("--no-flash", dest="flash", action="store_false", default=True,
                    help="hardware: use the firmware already on the board")
    group.addoption("--runner", metavar="NAME", help="west flash runner (default: the build's runners.yaml)")
    group.addoption("--runner-params", action="append", default=[], metavar="PARAM",
                    help="runner option for west flash (after '--'); may be repeated")
    group.addoption("--west-flash-extra-args", metavar="A,B",
                    help="comma-separated options for west flash after '--', e.g. '--erase,--frequency=4M'")
    group.addoption("--device-id", "--dev-id", dest="device_id", metavar="ID",
                    help="probe or DFU serial number (pyocd: --board-id, openocd ST-LINK: hla_serial, "
                         "others: west flash --dev-id)")
    group.addoption("--device-product", metavar="NAME", help="probe product name from the hardware map")
    group.addoption("--flash-timeout", metavar="S", type=float, default=300.0,
                    help="seconds west flash may take (default 300)")
    group.addoption("--pre-script", metavar="PATH", help="run before flashing")
    group.addoption("--post-flash-script", metavar="PATH", help="run after flashing")
    group.addoption("--post-script", metavar="PATH", help="run after the device is closed")
    group.addoption("--twister-fixture", action="append", dest="fixtures", default=[], metavar="FIXTURE",
                    help="fixture the platform provides (accepted; suites may read device_config.fixtures)")
    group.addoption("--extra-test-args", metavar="ARGS", help="accepted as twister passes it (native only)")
    group.addoption("--base-timeout", metavar="S", type=float, default=60.0,
                    help="seconds to wait for expected device output (default 60)")
    group.addoption("--hardware-map", metavar="FILE", help="Zephyr-style hardware-map.yaml of attached boards")
    group.addoption("--dut-scope", choices=DUT_SCOPES, default="module",
                    help="how often the device is reset/flashed: per test function, ..., or once (default module)")
    group.addoption("--device-reset", choices=("auto", "none", "repl"), default="auto",
                    help="hardware with --no-flash: how to reset the board (auto: machine.reset() "
                         "through the REPL for MicroPython images, none otherwise)")


def _path_option(config: pytest.Config, name: str) -> Optional[Path]:
    value = config.getoption(name)
    return Path(value).expanduser().resolve() if value else None


def pytest_configure(config: pytest.Config) -> None:
    for marker, why in PLUGIN_ONLY_MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: skipped under Zephyr's harness: {why}")
    if harness_installed():
        config.stash[_HARNESS_KEY] = True
        return
    hw_map_path = config.getoption("--hardware-map")
    hw_map = ()
    if hw_map_path:
        try:
            hw_map = load_hardware_map(Path(hw_map_path))
        except H7Error as err:
            raise pytest.UsageError(str(err)) from None
    if config.getoption("--flash-before") and not config.getoption("flash"):
        raise pytest.UsageError("--flash-before and --no-flash contradict each other")
    if config.getoption("--device-serial") and config.getoption("--device-serial-pty"):
        raise pytest.UsageError("--device-serial and --device-serial-pty exclude each other")
    extra = config.getoption("--west-flash-extra-args")
    build_dir = config.getoption("--build-dir")
    config.stash[_CONFIG_KEY] = DeviceConfig(
        type=config.getoption("--device-type"),
        platform=config.getoption("--platform"),
        serial=config.getoption("--device-serial"),
        serial_pty=config.getoption("--device-serial-pty"),
        baud=config.getoption("--device-serial-baud"),
        build_dir=Path(build_dir) if build_dir else None,
        flash=config.getoption("flash"),
        flash_before=config.getoption("--flash-before"),
        runner=config.getoption("--runner"),
        runner_params=tuple(p.strip() for p in config.getoption("--runner-params")),
        # the harness splits this option as one CSV record
        west_flash_extra_args=tuple(w.strip() for w in next(csv.reader([extra]))) if extra else (),
        id=config.getoption("device_id"),
        product=config.getoption("--device-product"),
        flash_timeout=config.getoption("--flash-timeout"),
        pre_script=_path_option(config, "--pre-script"),
        post_script=_path_option(config, "--post-script"),
        post_flash_script=_path_option(config, "--post-flash-script"),
        fixtures=tuple(config.getoption("fixtures")),
        base_timeout=config.getoption("--base-timeout"),
        reset=config.getoption("--device-reset"),
        hardware_map=hw_map,
        hardware_map_path=Path(hw_map_path) if hw_map_path else None,
    )
    from h7psram.twister import fixtures

    config.pluginmanager.register(fixtures, "h7psram-twister-fixtures")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.stash.get(_HARNESS_KEY, False):
        return  # this plugin's dut fixture reads sim_faults itself
    for item in items:
        for marker, why in PLUGIN_ONLY_MARKERS.items():
            if item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.skip(reason=f"{marker}: {why}"))
                break


def pytest_report_header(config: pytest.Config) -> Optional[str]:
    if config.stash.get(_HARNESS_KEY, False):
        return ("h7psram-twister: twister_harness is installed, so its options and dut fixture are used; "
                "this plugin adds only the repl fixture")
    return None


_SKIP_SITE = (Path(__file__), skip_device.__code__.co_firstlineno)


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
            return DeviceImage(board=default_platform(config), kind="micropython", boot_start=MICROPYTHON_BOOT_START,
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
                       boot_start=MICROPYTHON_BOOT_START, boot_done=MICROPYTHON_BOOT_DONE, boot_timeout=MICROPYTHON_BOOT_TIMEOUT_S,
                       extra={"build_info": info})


def create_adapter(config: DeviceConfig, image: DeviceImage, faults: tuple[str, ...] = ()) -> DeviceAdapter:
    if config.type == "sim":
        if importlib.util.find_spec("h7psram.sim.__main__") is None:
            skip_device("the board simulator (h7psram.sim) is not available in this checkout")
        from h7psram.twister.sim_adapter import SimAdapter

        return SimAdapter(config, image, faults)
    if config.type == "custom":
        from h7psram.twister.custom_adapter import CustomAdapter

        return CustomAdapter(config, image, faults)
    if faults:
        skip_device(f"fault injection ({', '.join(faults)}) needs a simulator: --device-type sim or custom")
    from h7psram.twister.hardware_adapter import HardwareAdapter

    return HardwareAdapter(config.for_platform(image.board), image)


def _dut_scope(fixture_name: str, config: pytest.Config) -> str:
    """The dut's scope under either plugin (the harness defaults to function, this plugin to module)."""
    return str(config.getoption("--dut-scope", None) or "function")


def read_boot_lines(dut: object) -> list[str]:
    """The boot log as non-blank lines, read with ``readlines_until`` alone (so through either
    plugin's adapter): from the image's first boot line to the line that ends the boot. What
    came before (``west build -t run`` prints the build's output first) is left out."""
    image = getattr(dut, "image", None)
    done = getattr(image, "boot_done", None) or MICROPYTHON_BOOT_DONE
    start = getattr(image, "boot_start", None) or MICROPYTHON_BOOT_START
    timeout = max(float(getattr(dut, "base_timeout", 0.0)),
                  getattr(image, "boot_timeout", None) or MICROPYTHON_BOOT_TIMEOUT_S)
    lines = [line.strip() for line in dut.readlines_until(regex=done, timeout=timeout, print_output=False)  # type: ignore[attr-defined]
             if line.strip()]
    first = next((i for i, line in enumerate(lines) if re.search(start, line)), 0)
    return lines[first:]


@pytest.fixture(scope=_dut_scope)
def boot_lines(dut: DeviceAdapter) -> list[str]:
    """The lines of the boot that launched ``dut`` (see ``read_boot_lines``), read once per dut."""
    return read_boot_lines(dut)


@pytest.fixture
def repl(dut: DeviceAdapter) -> Iterator[Repl]:
    """MicroPython's raw REPL on the ``dut`` connection (this plugin's or the harness's), after a
    soft reset (fresh heap). Under the harness the board may still be booting: the first attempt
    to reach the REPL may take as long as a boot."""
    session = Repl(dut, boot_timeout=MICROPYTHON_BOOT_TIMEOUT_S)
    session.enter(soft_reset=True)
    yield session
    try:
        session.leave()
    except (AssertionError, OSError):
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
