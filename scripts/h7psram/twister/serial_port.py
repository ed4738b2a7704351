"""Opening the REPL UART's tty with pyserial, optionally keeping what is already queued on it.

pyserial discards the kernel's input queue when it opens a port. That is right for a board
on a USB-serial adapter (stale bytes from an earlier session), but a pseudo-terminal peer such
as the simulator starts writing its boot log before anyone has the slave side open, and the
kernel holds those bytes for us: throwing them away would lose the boot log.
"""

from __future__ import annotations

import os
import select

import serial

from h7psram.errors import InputError

#: read() timeout of the reader thread: how quickly it notices close()
READ_SLICE_S = 0.1


class _PortKeepingQueuedInput(serial.Serial):
    _opening = False

    def open(self) -> None:
        self._opening = True
        try:
            super().open()
        finally:
            self._opening = False

    def _reset_input_buffer(self) -> None:
        if self._opening:
            return
        super()._reset_input_buffer()


def open_port(path: str, baud: int, *, keep_queued: bool) -> serial.Serial:
    """Open ``path`` raw 8N1 at ``baud``; InputError naming the port when that fails."""
    cls = _PortKeepingQueuedInput if keep_queued else serial.Serial
    try:
        return cls(path, baudrate=baud, timeout=READ_SLICE_S, write_timeout=10, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise InputError(f"{path}: cannot open serial port: {reason}") from None


class FdPort:
    """The pyserial calls the adapters make, on plain file descriptors (a pipe or a pty master).

    Twister reaches some devices through a process instead of a serial port: ``custom``
    runs ``west build -t run`` with the UART on its stdio, ``--device-serial-pty`` runs a
    script on a pseudo-terminal. Their output is read here the way a port is read.
    """

    def __init__(self, read_fd: int, write_fd: int, *, owns: bool = True) -> None:
        self._read_fd = read_fd
        self._write_fd = write_fd
        self._owns = owns
        self._closed = False
        self._eof = False

    @property
    def in_waiting(self) -> int:
        if self._closed or self._eof:
            return 0
        ready, _, _ = select.select([self._read_fd], [], [], 0)
        return 4096 if ready else 0

    def read(self, size: int = 1) -> bytes:
        if self._closed:
            raise serial.SerialException("port closed")
        if self._eof:
            raise serial.SerialException("end of output")
        ready, _, _ = select.select([self._read_fd], [], [], READ_SLICE_S)
        if not ready:
            return b""
        try:
            data = os.read(self._read_fd, max(1, size))
        except OSError as err:  # EIO on a pty master whose other side has gone
            self._eof = True
            raise serial.SerialException(str(err)) from None
        if not data:
            self._eof = True
            raise serial.SerialException("end of output")
        return data

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            written = os.write(self._write_fd, view)
            view = view[written:]
        return len(data)

    def flush(self) -> None:
        """Writes go straight to the descriptor."""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns:
            for fd in {self._read_fd, self._write_fd}:
                try:
                    os.close(fd)
                except OSError:
                    pass
