"""MicroPython's raw REPL over the ``dut`` connection, spoken by mpremote's own transport.

mpremote's ``SerialTransport`` implements the protocol (Ctrl-A, raw-paste flow control, the
``OK``/``\\x04`` framing). It normally opens a port by name; here it is handed an object with
the few pyserial methods it calls (``write``, ``read``, ``inWaiting``), served from the
adapter's buffer. So every byte still goes through the adapter, and a failing test shows the
REPL traffic in its device output.
"""

from __future__ import annotations

import ast
import builtins
import re
from typing import Any, Optional

from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from h7psram.twister.device import DeviceAdapter, DeviceError

_LAST_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")


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


class _AdapterAsSerial:
    """The pyserial surface mpremote's SerialTransport uses, on top of a device adapter."""

    def __init__(self, dut: DeviceAdapter, timeout: float) -> None:
        self._dut = dut
        self.timeout = timeout

    def write(self, data: bytes) -> int:
        self._dut.write(data)
        return len(data)

    def inWaiting(self) -> int:  # noqa: N802 - pyserial's old name, which mpremote calls
        return self._dut.in_waiting()

    @property
    def in_waiting(self) -> int:
        return self._dut.in_waiting()

    def read(self, size: int = 1) -> bytes:
        return self._dut.read_bytes(size, self.timeout)

    def close(self) -> None:
        """The adapter owns the connection."""


def transport_on(dut: DeviceAdapter, timeout: float) -> SerialTransport:
    """A SerialTransport that talks through ``dut`` instead of opening a port itself."""
    transport = SerialTransport.__new__(SerialTransport)
    transport.serial = _AdapterAsSerial(dut, timeout)
    transport.device_name = dut.describe()
    transport.in_raw_repl = False
    transport.use_raw_paste = True
    transport.mounted = False
    transport.is_pty = False  # read only what inWaiting() reports, never block in read(1)
    return transport


class Repl:
    """``exec``/``eval`` on the device through the raw REPL."""

    def __init__(self, dut: DeviceAdapter, timeout: Optional[float] = None) -> None:
        self.dut = dut
        self.timeout = dut.config.base_timeout if timeout is None else timeout
        self.transport = transport_on(dut, self.timeout)

    def _protocol_error(self, err: Exception, doing: str) -> DeviceError:
        return DeviceError(self.dut.failure_context(f"raw REPL: {doing}: {err}"))

    def enter(self, soft_reset: bool = True) -> None:
        """Enter the raw REPL; with ``soft_reset`` the heap and globals start fresh."""
        try:
            self.transport.enter_raw_repl(soft_reset=soft_reset, timeout_overall=self.timeout)
        except TransportError as err:
            raise self._protocol_error(err, "entering") from None

    def leave(self) -> None:
        """Back to the friendly REPL (the board prints its banner and ``>>> ``)."""
        self.transport.exit_raw_repl()

    def exec(self, code: str, timeout: Optional[float] = None) -> str:
        """Run ``code``; return what it printed. A device exception is raised here.

        ``timeout`` is the longest silence allowed while the code runs.
        """
        limit = self.timeout if timeout is None else timeout
        try:
            out, err = self.transport.exec_raw(code, timeout=limit)
        except TransportError as error:
            raise self._protocol_error(error, "running code") from None
        if err:
            raise device_exception(err.decode(errors="replace"))
        return out.decode(errors="replace").replace("\r\n", "\n")

    def eval(self, expression: str, timeout: Optional[float] = None) -> Any:
        """The value of ``expression``, sent back with ``repr`` and read with ``literal_eval``."""
        text = self.exec(f"print(repr({expression}))", timeout=timeout).strip()
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise DeviceError(self.dut.failure_context(
                f"raw REPL: {expression!r} gave {text!r}, not a Python literal")) from None
