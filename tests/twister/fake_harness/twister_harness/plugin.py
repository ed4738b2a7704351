"""Registers the option names of the harness's plugin.py and a ``dut`` fixture of its own.

The dut is a line-oriented device as the harness gives one: a MicroPython-like peer on a pty,
read line by line (only complete lines reach the test), with the harness's method names.
"""

from __future__ import annotations

import os
import queue
import threading

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("Twister harness")
    group.addoption("--twister-harness", action="store_true", default=False)
    group.addoption("--base-timeout", type=float, default=60.0)
    group.addoption("--flash-timeout", type=float, default=60.0)
    group.addoption("--build-dir", metavar="PATH")
    group.addoption("--device-type", choices=("native", "qemu", "hardware", "unit", "custom"))
    group.addoption("--platform")
    group.addoption("--device-serial")
    group.addoption("--device-serial-baud", type=int, default=115200)
    group.addoption("--runner")
    group.addoption("--runner-params", action="append")
    group.addoption("--device-id")
    group.addoption("--device-product")
    group.addoption("--device-serial-pty")
    group.addoption("--flash-before", type=bool)
    group.addoption("--west-flash-extra-args")
    group.addoption("--pre-script", metavar="PATH")
    group.addoption("--post-flash-script", metavar="PATH")
    group.addoption("--post-script", metavar="PATH")
    group.addoption("--dut-scope", choices=("function", "class", "module", "package", "session"))
    group.addoption("--twister-fixture", action="append", dest="fixtures", metavar="FIXTURE", default=[])


class DeviceConfig:
    """The attributes of the harness's DeviceConfig that the suites read."""

    def __init__(self, config: pytest.Config) -> None:
        self.type = config.getoption("--device-type")
        self.platform = config.getoption("--platform")
        self.build_dir = config.getoption("--build-dir")


class LineDevice:
    """Whole lines only, as the harness's reader thread queues them (rstrip of CR LF, no blanks)."""

    def __init__(self, path: str, base_timeout: float, device_config: DeviceConfig) -> None:
        self.base_timeout = base_timeout
        self.device_config = device_config
        self._fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        self._lines: queue.Queue[str] = queue.Queue()
        self._stop = False
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self) -> None:
        pending = b""
        while not self._stop:
            try:
                chunk = os.read(self._fd, 4096)
            except OSError:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                text = line.decode(errors="replace").rstrip("\r\n")
                if text:
                    self._lines.put(text)

    def write(self, data: bytes) -> None:
        os.write(self._fd, data)

    def clear_buffer(self) -> None:
        while not self._lines.empty():
            self._lines.get_nowait()

    def readlines_until(self, regex=None, num_of_lines=None, timeout=None, print_output=True):  # type: ignore[no-untyped-def]
        import re
        import time

        deadline = time.monotonic() + (timeout or self.base_timeout)
        lines: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f'Did not find line "{regex}" within {timeout} seconds') from None
            lines.append(line)
            if regex is not None and re.search(regex, line):
                return lines
            if num_of_lines is not None and len(lines) >= num_of_lines:
                return lines

    def close(self) -> None:
        self._stop = True
        os.close(self._fd)


def determine_scope(fixture_name, config):  # type: ignore[no-untyped-def]
    """As the harness's fixtures.py: --dut-scope, else function."""
    return config.getoption("--dut-scope", None) or "function"


@pytest.fixture(scope=determine_scope)
def dut(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    device = LineDevice(request.config.getoption("--device-serial"), request.config.getoption("--base-timeout"),
                        DeviceConfig(request.config))
    yield device
    device.close()
