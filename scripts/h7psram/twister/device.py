"""The device under test: a byte stream from the board's REPL UART, read by a background thread.

Both adapters (simulator and hardware) end up with a pyserial port on a tty; what differs is how
the other end is started and reset. This module holds the common part: the reader thread, the
line buffer with twister's ``readlines_until`` semantics, and failure messages that carry the
last lines the device sent, so a broken expectation shows what the board actually said.
"""

from __future__ import annotations

import abc
import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Pattern, Union

import serial

from h7psram.twister.config import DeviceConfig

#: How many lines of device output a failure message carries.
CONTEXT_LINES = 30
#: A prompt never ends in a newline; an incomplete line is matched once the device went quiet
#: for this long, so a regex cannot fire on the first half of a line that is still arriving.
QUIET_S = 0.05


class DeviceError(AssertionError):
    """An expectation about the device output failed; the message carries that output."""


class DeviceTimeoutError(DeviceError):
    """The expected output did not arrive in time."""


class DeviceGoneError(DeviceError):
    """The connection ended (simulator exited, port vanished) while output was expected."""


@dataclass(frozen=True)
class DeviceImage:
    """What runs on the device: a MicroPython build or the bare-metal self-test."""

    board: str
    elf: Optional[Path] = None
    build_dir: Optional[Path] = None
    kind: str = "micropython"          # "micropython" | "selftest"
    #: regex that ends the boot log (searched in the output since reset)
    boot_done: Optional[str] = None
    #: regex of the boot log's first line (output before it is not the device's, e.g. a build's)
    boot_start: Optional[str] = None
    #: how long the boot may take, when longer than --base-timeout allows
    boot_timeout: Optional[float] = None
    extra: dict = field(default_factory=dict)


def tail_lines(text: str, count: int = CONTEXT_LINES) -> str:
    lines = text.splitlines() or ["<no output>"]
    if len(lines) > count:
        lines = [f"... ({len(lines) - count} earlier lines)"] + lines[-count:]
    return "\n".join("    | " + line for line in lines)


def _decode(data: Union[bytes, bytearray]) -> str:
    return bytes(data).decode("utf-8", errors="replace")


def _text(data: Union[bytes, bytearray]) -> str:
    """Decoded with the UART's CR LF line ends turned into LF."""
    return _decode(data).replace("\r\n", "\n")


class DeviceAdapter(abc.ABC):
    """Base class of the adapters; subclasses start/reset the device and open ``self._port``."""

    name = "device"

    def __init__(self, config: DeviceConfig, image: Optional[DeviceImage]) -> None:
        self.config = config
        self.image = image
        self._port: Optional[serial.Serial] = None
        self._cond = threading.Condition()
        self._pending = bytearray()      # received, not yet consumed by a read
        self._history = bytearray()      # everything since the last reset
        self._boot_end = 0               # length of history that forms the boot log
        self._last_rx = 0.0
        self._ended: Optional[str] = None
        self._reader: Optional[threading.Thread] = None
        self._stop = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------
    def launch(self) -> None:
        """Bring the device up (flash/start, reset) and wait for the end of its boot log."""
        self._reset_buffers()
        booted = self._start()
        if booted and self.image is not None and self.image.boot_done:
            self._boot_end = self.wait_for_output(self.image.boot_done, timeout=self.boot_limit(),
                                                  what="end of boot")

    def connect(self) -> None:
        """The harness's name for opening the connection; ``launch()`` has opened it already."""
        if self._port is None:
            raise DeviceGoneError(f"{self.describe()}: not launched")

    @property
    def device_config(self) -> DeviceConfig:
        """The settings under the harness's attribute name, board and build directory filled in."""
        image = self.image
        if image is None:
            return self.config
        return replace(self.config, platform=self.config.platform or image.board,
                       build_dir=self.config.build_dir or image.build_dir)

    @property
    def base_timeout(self) -> float:
        return self.config.base_timeout

    def boot_limit(self) -> float:
        """Seconds a boot may take: --base-timeout, or the image's longer boot time."""
        image_limit = self.image.boot_timeout if self.image is not None else None
        return max(self.config.base_timeout, image_limit or 0.0)

    @abc.abstractmethod
    def _start(self) -> bool:
        """Open the port and (re)start the device; return True when a fresh boot follows."""

    def close(self) -> None:
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=2)
            self._reader = None
        if self._port is not None:
            try:
                self._port.close()
            except (OSError, serial.SerialException):
                pass
            self._port = None
        self._stop.clear()

    def describe(self) -> str:
        return self.name

    def connection_lost_reason(self, err: Exception) -> str:
        return f"connection to {self.describe()} lost: {err}"

    def extra_diagnostics(self) -> str:
        """Adapter-specific context for failure messages (e.g. the simulator's stderr)."""
        return ""

    # -- port and reader thread ----------------------------------------------------------
    def _attach(self, port: serial.Serial) -> None:
        self._port = port
        self._ended = None
        self._reader = threading.Thread(target=self._read_loop, name=f"{self.name}-reader", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        port = self._port
        assert port is not None
        while not self._stop.is_set():
            try:
                chunk = port.read(max(1, port.in_waiting))
            except (OSError, serial.SerialException, TypeError) as err:
                # TypeError: pyserial's read() on a port closed under it
                if not self._stop.is_set():
                    self._mark_ended(self.connection_lost_reason(err))
                return
            if chunk:
                with self._cond:
                    self._pending += chunk
                    self._history += chunk
                    self._last_rx = time.monotonic()
                    self._cond.notify_all()

    def _mark_ended(self, reason: str) -> None:
        with self._cond:
            if self._ended is None:
                self._ended = reason
            self._cond.notify_all()

    def _reset_buffers(self) -> None:
        with self._cond:
            self._pending.clear()
            self._history.clear()
            self._boot_end = 0

    def restart_log(self) -> None:
        """Start the boot log at the first unread byte (after the command that reset the board).

        Unread bytes are kept: the board may already be printing its first boot lines.
        """
        with self._cond:
            del self._history[:len(self._history) - len(self._pending)]
            self._boot_end = 0

    # -- output access ---------------------------------------------------------------------
    @property
    def boot_log(self) -> str:
        """Output from the reset up to the line that ended the boot (``DeviceImage.boot_done``)."""
        with self._cond:
            end = self._boot_end or len(self._history)
            return _text(self._history[:end])

    @property
    def output(self) -> str:
        """Everything the device sent since its last reset (consumed or not)."""
        with self._cond:
            return _text(self._history)

    def failure_context(self, headline: str) -> str:
        extra = self.extra_diagnostics()
        text = f"{headline}\nlast lines from {self.describe()}:\n{tail_lines(self.output)}"
        if extra:
            text += "\n" + extra
        return text

    def _timeout(self, timeout: Optional[float]) -> float:
        return self.config.base_timeout if timeout is None else timeout

    def wait_for_output(self, regex: str, timeout: Optional[float] = None, what: str = "") -> int:
        """Wait until the output since reset matches ``regex`` (nothing is consumed).

        Returns the offset just past the end of the line holding the match.
        """
        pattern = re.compile(regex.encode(), re.MULTILINE)
        deadline = time.monotonic() + self._timeout(timeout)
        with self._cond:
            while True:
                found = pattern.search(self._history)
                if found:
                    newline = self._history.find(b"\n", found.end())
                    return len(self._history) if newline < 0 else newline + 1
                self._check_alive(f"waiting for {what or regex!r}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeviceTimeoutError(self.failure_context(
                        f"{what or 'output'} /{regex}/ not seen within {self._timeout(timeout):.1f} s"))
                self._cond.wait(min(remaining, 0.2))

    def _check_alive(self, doing: str) -> None:
        if self._ended is not None:
            raise DeviceGoneError(self.failure_context(f"{self._ended} ({doing})"))

    def readline(self, timeout: Optional[float] = None, print_output: bool = True) -> str:
        return self.readlines_until(num_of_lines=1, timeout=timeout, print_output=print_output)[0]

    def readlines(self, print_output: bool = True) -> list[str]:
        """All complete lines received so far (consumed)."""
        with self._cond:
            lines = self._take_complete_lines()
        if print_output:
            self._echo(lines)
        return lines

    def readlines_until(self, regex: Optional[str] = None, num_of_lines: Optional[int] = None,
                        timeout: Optional[float] = None, print_output: bool = True) -> list[str]:
        """Consume lines until one matches ``regex`` (or ``num_of_lines`` were read).

        The matching line is the last one returned. An incomplete last line (a prompt such as
        ``>>> ``) is tried once the device has been quiet for a moment. On timeout the error
        message holds the last lines the device sent.
        """
        if regex is None and num_of_lines is None:
            raise ValueError("readlines_until needs regex or num_of_lines")
        pattern: Optional[Pattern[str]] = re.compile(regex) if regex is not None else None
        limit = self._timeout(timeout)
        deadline = time.monotonic() + limit
        lines: list[str] = []
        try:
            with self._cond:
                while True:
                    while True:
                        newline = self._pending.find(b"\n")
                        if newline < 0:
                            break
                        line = _decode(self._pending[:newline + 1]).rstrip("\r\n")
                        del self._pending[:newline + 1]
                        lines.append(line)
                        if pattern is not None and pattern.search(line):
                            return lines
                        if num_of_lines is not None and len(lines) >= num_of_lines:
                            return lines
                    now = time.monotonic()
                    if (pattern is not None and self._pending
                            and now - self._last_rx >= QUIET_S):
                        partial = _decode(self._pending)
                        if pattern.search(partial):
                            self._pending.clear()
                            lines.append(partial)
                            return lines
                    wanted = f"/{regex}/" if regex is not None else f"{num_of_lines} line(s)"
                    self._check_alive(f"waiting for {wanted}")
                    if now >= deadline:
                        raise DeviceTimeoutError(self.failure_context(
                            f"{wanted} not seen within {limit:.1f} s"))
                    self._cond.wait(min(deadline - now, QUIET_S))
        finally:
            if print_output:
                self._echo(lines)

    def _take_complete_lines(self) -> list[str]:
        end = self._pending.rfind(b"\n")
        if end < 0:
            return []
        chunk = _decode(self._pending[:end + 1])
        del self._pending[:end + 1]
        return [line.rstrip("\r") for line in chunk.split("\n")[:-1]]

    def _echo(self, lines: list[str]) -> None:
        for line in lines:
            print(f"{self.name}> {line}")

    def clear_buffer(self) -> None:
        """Drop unread output (the history for failure messages is kept)."""
        with self._cond:
            self._pending.clear()

    # -- raw byte access (used by the raw-REPL layer) --------------------------------------
    def in_waiting(self) -> int:
        with self._cond:
            return len(self._pending)

    def read_bytes(self, count: int, timeout: float) -> bytes:
        """Up to ``count`` unread bytes; fewer only when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._pending) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._ended is not None:
                    break
                self._cond.wait(remaining)
            data = bytes(self._pending[:count])
            del self._pending[:count]
            return data

    def write(self, data: Union[bytes, str]) -> None:
        if isinstance(data, str):
            data = data.encode()
        if self._port is None:
            raise DeviceGoneError(f"{self.describe()}: write on a closed connection")
        self._check_alive("writing")
        self._port.write(data)
        self._port.flush()
