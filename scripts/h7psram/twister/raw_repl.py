"""MicroPython's raw REPL, spoken through nothing but the device adapter API both plugins share.

This project's adapters and Zephyr's pytest-twister-harness adapters have ``write``,
``readlines_until(regex=..., timeout=...)`` and ``clear_buffer`` in common, and the harness
hands a test complete lines only (an unterminated prompt such as the raw REPL's ``>`` never
reaches it). So every wait here is for a line the device ends: after each program a second,
tiny one prints a marker line, and the reply of the first is cut out of the text before it.
The raw REPL frames a reply as ``OK`` + output + ``\x04`` + error + ``\x04`` + ``>``; input is
not echoed, so a marker can only match the device's own output.

Programs go in the plain raw REPL, in 256-byte pieces with a short pause between them (what
mpremote does when raw-paste mode is missing): the raw REPL only stores what it receives, so
the board's receive buffer keeps up.
"""

from __future__ import annotations

import ast
import builtins
import re
import time
from typing import Any, Optional

from h7psram.twister.device import DeviceError, DeviceGoneError

_LAST_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")
RAW_BANNER = r"raw REPL; CTRL-B to exit"
#: how long one attempt to reach the raw REPL waits before the keys are sent again
_ENTER_STEP_S = 5.0
_CHUNK = 256
_CHUNK_PAUSE_S = 0.01
_REPLY_START = re.compile(r"^[\s>]*OK")


class MicroPythonError(Exception):
    """An exception raised on the device; ``device_traceback`` is its traceback text."""

    def __init__(self, type_name: str, message: str, device_traceback: str) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.device_traceback = device_traceback

    def __str__(self) -> str:
        return f"{self.type_name}: {self.message}\ndevice traceback:\n{self.device_traceback}"


_CLASSES: dict[str, type[MicroPythonError]] = {}


def _error_class(type_name: str) -> type[MicroPythonError]:
    """``MicroPythonError`` mixed with the host exception of the same name, when there is one.

    Then ``pytest.raises(MemoryError)`` works for a device MemoryError. Exceptions outside
    ``Exception`` (KeyboardInterrupt, SystemExit) are not mixed in: they would stop pytest.
    """
    if type_name in _CLASSES:
        return _CLASSES[type_name]
    host = getattr(builtins, type_name, None)
    cls: type[MicroPythonError] = MicroPythonError
    if isinstance(host, type) and issubclass(host, Exception):
        try:
            cls = type(f"Device{type_name}", (MicroPythonError, host), {})
        except TypeError:  # incompatible instance layout
            cls = MicroPythonError
    _CLASSES[type_name] = cls
    return cls


def device_exception(error_text: str) -> MicroPythonError:
    """The exception for the error part of a raw-REPL reply (traceback + last line)."""
    text = error_text.replace("\r\n", "\n").strip()
    last = text.splitlines()[-1] if text else "unknown error"
    found = _LAST_LINE.match(last)
    type_name, message = (found.group(1), found.group(2) or "") if found else ("Exception", last)
    cls = _error_class(type_name.rsplit(".", 1)[-1])
    try:
        return cls(type_name, message, text)
    except TypeError:  # a host base whose constructor wants other arguments
        return MicroPythonError(type_name, message, text)


class Repl:
    """``exec``/``eval`` on the device through the raw REPL, on any adapter (see the module doc)."""

    def __init__(self, dut: Any, timeout: Optional[float] = None, boot_timeout: float = 0.0) -> None:
        self.dut = dut
        self.timeout = float(dut.base_timeout) if timeout is None else timeout
        #: the board may still be booting when the first keys arrive (the harness does not wait)
        self.boot_timeout = boot_timeout
        self._serial = 0

    def _context(self, headline: str) -> str:
        describe = getattr(self.dut, "failure_context", None)
        return describe(headline) if callable(describe) else headline

    def _protocol_error(self, err: BaseException, doing: str) -> DeviceError:
        if isinstance(err, DeviceError):
            return DeviceError(f"raw REPL: {doing}: {err}")
        return DeviceError(self._context(f"raw REPL: {doing}: {err}"))

    def _wait(self, regex: str, timeout: float) -> list[str]:
        return list(self.dut.readlines_until(regex=regex, timeout=timeout, print_output=False))

    def _send(self, data: bytes) -> None:
        for start in range(0, len(data), _CHUNK):
            if start:
                time.sleep(_CHUNK_PAUSE_S)
            self.dut.write(data[start:start + _CHUNK])

    def _marker(self) -> tuple[bytes, str]:
        """A program printing a line its own source does not contain, and the regex for that line."""
        self._serial += 1
        return (f"print('h7repl', 'sync', {self._serial})".encode() + b"\x04",
                rf"h7repl sync {self._serial}$")

    def enter(self, soft_reset: bool = True) -> None:
        """Enter the raw REPL; with ``soft_reset`` the heap and globals start fresh."""
        limit = max(self.timeout, self.boot_timeout)
        deadline = time.monotonic() + limit
        self.dut.clear_buffer()
        while True:
            # Ctrl-C stops a running program, Ctrl-A enters the raw REPL (or re-prints its banner)
            self.dut.write(b"\r\x03\x03\x01")
            try:
                self._wait(RAW_BANNER, min(_ENTER_STEP_S, max(0.1, deadline - time.monotonic())))
                break
            except DeviceGoneError as err:
                raise self._protocol_error(err, "entering") from None
            except AssertionError as err:
                if time.monotonic() >= deadline:
                    raise self._protocol_error(err, f"entering (no banner within {limit:.0f} s)") from None
        try:
            if soft_reset:
                self.dut.write(b"\x04")
                self._wait(r"soft reboot", limit)
                self._wait(RAW_BANNER, limit)
            # everything queued so far (repeated banners) ends before this marker's line
            program, marker = self._marker()
            self.dut.write(program)
            self._wait(marker, self.timeout)
        except AssertionError as err:
            raise self._protocol_error(err, "entering") from None

    def leave(self) -> None:
        """Back to the friendly REPL (the board prints its banner and ``>>> ``)."""
        self.dut.write(b"\x02")

    def exec(self, code: str, timeout: Optional[float] = None) -> str:
        """Run ``code``; return what it printed. A device exception is raised here."""
        limit = self.timeout if timeout is None else timeout
        program, marker = self._marker()
        try:
            self._send(code.encode() + b"\x04")
            self.dut.write(program)
            lines = self._wait(marker, limit)
        except AssertionError as err:
            raise self._protocol_error(err, "running code") from None
        out, err_text = self._split_reply("\n".join(lines), marker)
        if err_text.strip():
            raise device_exception(err_text)
        return out

    def _split_reply(self, text: str, marker: str) -> tuple[str, str]:
        """(output, error) of the first program, from the text that ends with the marker line."""
        found = list(re.finditer(marker, text, re.MULTILINE))
        body = text[:found[-1].start()] if found else text
        # the marker program's own "OK" (and the ">" before it) follow the reply
        body = re.sub(r">?\s*OK\s*$", "", body)
        parts = body.split("\x04")
        if len(parts) < 3 or not _REPLY_START.match(parts[-3]):
            raise DeviceError(self._context(f"raw REPL: reply not framed as OK...\\x04...\\x04: {text!r}"))
        out = _REPLY_START.sub("", parts[-3], count=1)
        out = "\n".join(line.rstrip("\r") for line in out.split("\n"))
        return out, parts[-2]

    def eval(self, expression: str, timeout: Optional[float] = None) -> Any:
        """The value of ``expression``, sent back with ``repr`` and read with ``literal_eval``."""
        text = self.exec(f"print(repr({expression}))", timeout=timeout).strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise DeviceError(self._context(
                f"raw REPL: {expression!r} gave {text!r}, not a Python literal")) from None
