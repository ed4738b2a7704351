"""The host end of a simulated UART: in memory (tests), the terminal, or a pseudo-terminal.

With a pty the simulator owns the master side; the slave (`pty_path`) is
left in raw mode so `mpremote connect /dev/pts/N` or pyserial see a plain
serial port. The simulator does not keep the slave open itself: a read on
the master then fails with EIO while no client has the port open, which is
how `wait_for_client()` knows when to let the firmware start (pyserial
flushes the input queue when it opens a port, so output written before that
would be lost) and how output is dropped, as on a real line, while nobody
listens.
"""
from __future__ import annotations

import collections
import os
import re
import select
import sys
import termios
import threading
import time
import tty

OUTPUT_KEEP = 1 << 20          # bytes of output kept for wait_for()/until_text
ESCAPE = 0x1D                  # Ctrl-]: leave the simulator from a raw terminal


class UartEndpoint:
    def __init__(self, mode: str = "none") -> None:
        self.mode = mode
        self._rx: collections.deque[int] = collections.deque()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._out = bytearray()
        self._out_dropped = 0          # bytes trimmed from the front of _out
        self._cursor = 0               # absolute position for read_available()/wait_for()
        self._pending_tx = bytearray() # output not yet accepted by the pty
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self.pty_path: str | None = None
        self.on_escape = None
        self._in_fd: int | None = None
        self._out_fd: int | None = None
        self._saved_termios = None
        self.connected = True
        if mode == "pty":
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self.pty_path = os.ttyname(slave)
            os.close(slave)
            self._master = master
            self._in_fd = self._out_fd = master
            self.connected = False
        elif mode == "stdio":
            self._in_fd, self._out_fd = sys.stdin.fileno(), sys.stdout.fileno()
            if os.isatty(self._in_fd):
                self._saved_termios = termios.tcgetattr(self._in_fd)
                tty.setraw(self._in_fd)

    # -- host side --------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Bytes typed into the firmware's receiver."""
        with self._lock:
            self._rx.extend(data)
        self.wake()

    def wake(self) -> None:
        if self._wake_w is None:
            return
        try:
            os.write(self._wake_w, b"!")
        except (OSError, TypeError):
            pass

    def output(self) -> bytes:
        with self._lock:
            return bytes(self._out)

    def output_length(self) -> int:
        with self._lock:
            return self._out_dropped + len(self._out)

    def output_contains(self, text: str, since: int = 0) -> bool:
        with self._lock:
            start = max(0, since - self._out_dropped)
            return text.encode() in self._out[start:]

    def read_available(self) -> bytes:
        with self._lock:
            start = max(0, self._cursor - self._out_dropped)
            data = bytes(self._out[start:])
            self._cursor = self._out_dropped + len(self._out)
            return data

    def wait_for(self, pattern: str, timeout: float = 10.0) -> str:
        """Wait until `pattern` (a regex) appears after the cursor; returns the text up to its end."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                start = max(0, self._cursor - self._out_dropped)
                m = rx.search(self._out, start)
                if m:
                    text = bytes(self._out[start:m.end()]).decode(errors="replace")
                    self._cursor = self._out_dropped + m.end()
                    return text
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = bytes(self._out[start:])[-200:].decode(errors="replace")
                    raise TimeoutError(f"{pattern!r} not seen within {timeout} s; output ends {tail!r}")
                self._cond.wait(min(left, 0.1))

    # -- firmware side ------------------------------------------------------------------------
    def rx_pending(self) -> int:
        return len(self._rx)

    def rx_pop(self) -> int | None:
        with self._lock:
            return self._rx.popleft() if self._rx else None

    def tx(self, byte: int) -> None:
        with self._cond:
            self._out.append(byte)
            if len(self._out) > OUTPUT_KEEP * 2:
                cut = len(self._out) - OUTPUT_KEEP
                del self._out[:cut]
                self._out_dropped += cut
            self._cond.notify_all()
        if self._out_fd is not None:
            self._pending_tx.append(byte)
            if byte == 0x0A or len(self._pending_tx) >= 64:
                self._flush()

    def wait_for_client(self, stop, grace_s: float = 0.2) -> bool:
        """pty: block until a client opens the port (then `grace_s` more); False if `stop` is set."""
        if self.mode != "pty":
            return True
        while not stop.is_set():
            if self._check_client():
                stop.wait(grace_s)       # let the client finish configuring and flushing
                return not stop.is_set()
            stop.wait(0.02)
        return False

    def _check_client(self) -> bool:
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            self.connected = True
            return True
        except OSError:                  # EIO: no process has the slave open
            self.connected = False
            return False
        self.connected = True
        if data:
            with self._lock:
                self._rx.extend(data)
        return True

    def _flush(self) -> None:
        if not self._pending_tx or self._out_fd is None:
            return
        if self.mode == "pty" and not self.connected:
            self._pending_tx.clear()     # nobody listening: the bytes are gone, as on a wire
            return
        try:
            n = os.write(self._out_fd, self._pending_tx)
            del self._pending_tx[:n]
        except BlockingIOError:
            pass
        except OSError:
            self._pending_tx.clear()
        if len(self._pending_tx) > OUTPUT_KEEP:
            # Nobody reads the port: a real UART would not wait either.
            del self._pending_tx[:-OUTPUT_KEEP]

    def poll(self) -> bool:
        """Move waiting host input into the receive queue; True when something arrived."""
        self._flush()
        if self._in_fd is None:
            return bool(self._rx)
        if self.mode == "pty":
            self._check_client()
            return bool(self._rx)
        try:
            r, _, _ = select.select([self._in_fd], [], [], 0)
            if not r:
                return bool(self._rx)
            data = os.read(self._in_fd, 4096)
        except (BlockingIOError, InterruptedError):
            return bool(self._rx)
        except OSError:
            return bool(self._rx)
        if not data:
            if self.mode == "stdio":
                self._in_fd = None            # stdin at end of file: output only from now on
            return bool(self._rx)
        if self.mode == "stdio" and self._saved_termios is not None and ESCAPE in data:
            data = data[:data.index(ESCAPE)]
            if self.on_escape is not None:
                self.on_escape()
        with self._lock:
            self._rx.extend(data)
        return bool(self._rx)

    def wait_input(self, timeout: float, queued_counts: bool = True) -> bool:
        """Block up to `timeout` seconds for host input (or a wake()); True if input is queued.

        With `queued_counts` False only input that arrives during the wait counts:
        bytes already queued for a UART that is not receiving must not end every
        sleep at once (the simulation would crawl until the firmware enables RX).
        """
        self._flush()
        if self._rx and queued_counts:
            return True
        before = len(self._rx)
        watch_input = self._in_fd is not None and (self.mode != "pty" or self.connected)
        fds = [self._wake_r] + ([self._in_fd] if watch_input else [])
        if self.mode == "pty" and not self.connected:
            timeout = min(timeout, 0.05)     # re-check for a client now and then
        try:
            r, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:
            r = []
        if self._wake_r in r:
            try:
                os.read(self._wake_r, 4096)
            except BlockingIOError:
                pass
        if self._in_fd is not None and (self._in_fd in r or not watch_input):
            self.poll()
        return bool(self._rx) if queued_counts else len(self._rx) > before

    def close(self) -> None:
        self._flush()
        if self._saved_termios is not None and self._in_fd is not None:
            termios.tcsetattr(self._in_fd, termios.TCSADRAIN, self._saved_termios)
            self._saved_termios = None
        for fd in (getattr(self, "_master", None), self._wake_r, self._wake_w):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = None
        self._wake_r = self._wake_w = None
        self._in_fd = self._out_fd = None

    def __del__(self) -> None:
        # Machines are dropped without close() by tests and scripts; their pipes
        # and ptys would pile up past select()'s 1024-descriptor limit.
        try:
            if getattr(self, "_wake_w", None) is not None:
                self.close()
        except Exception:
            pass
