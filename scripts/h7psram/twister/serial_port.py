"""Opening the REPL UART's tty with pyserial, optionally keeping what is already queued on it.

pyserial discards the kernel's input queue when it opens a port. That is right for a board
on a USB-serial adapter (stale bytes from an earlier session), but a pseudo-terminal peer such
as the simulator starts writing its boot log before anyone has the slave side open, and the
kernel holds those bytes for us: throwing them away would lose the boot log.
"""

from __future__ import annotations

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
