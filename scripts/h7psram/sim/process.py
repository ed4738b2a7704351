"""`SimProcess`: the simulator as a subprocess on a pseudo-terminal, driven through pyserial.

This is how tests and the pytest plugin talk to simulated firmware the same
way they talk to a board: `python -m h7psram.sim --pty` prints
`pty: /dev/pts/N` and the caller opens that port.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from typing import Sequence

import serial

from ..errors import InputError
from ..sim_launch import SimDidNotStart, SimLaunch

class SimProcess:
    def __init__(self, board: str, elf: str | os.PathLike | Sequence[str | os.PathLike], *,
                 faults: Sequence[str] = (), extra_args: Sequence[str] = (),
                 start_timeout: float = 30.0) -> None:
        """``elf``: one image, or several in flashing order (mboot.elf, firmware.elf)."""
        images = [elf] if isinstance(elf, (str, os.PathLike)) else list(elf)
        self.launch = SimLaunch(board, images, faults=faults, extra_args=extra_args)
        self.argv = self.launch.argv
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.serial: serial.Serial | None = None
        self.pty_path: str | None = None
        self._buffer = bytearray()
        self.stderr_text = ""

    def start(self) -> "SimProcess":
        self.proc = self.launch.start()
        try:
            self.pty_path = self.launch.read_pty_line(None)   # as long as the start takes, as before
        except SimDidNotStart as failed:
            if failed.status is None:
                self.proc.kill()
            self.proc.wait(self.start_timeout)
            self.stderr_text = self.proc.stderr.read().decode(errors="replace")
            raise InputError(f"simulator did not start: {self.stderr_text.strip() or failed.reason}") from None
        self.serial = serial.Serial(self.pty_path, 115200, timeout=0.05)
        return self

    def __enter__(self) -> "SimProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def write(self, data: bytes) -> None:
        assert self.serial is not None
        self.serial.write(data)

    def wait_for(self, pattern: str, timeout: float = 10.0) -> str:
        """Read the port until `pattern` (a regex) appears; returns everything up to its end."""
        assert self.serial is not None
        rx = re.compile(pattern.encode())
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self._buffer)
            if m:
                text = bytes(self._buffer[:m.end()]).decode(errors="replace")
                del self._buffer[:m.end()]
                return text
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pattern!r} not seen within {timeout} s; got {bytes(self._buffer)[-200:]!r}")
            if self.proc is not None and self.proc.poll() is not None:
                self._buffer += self.serial.read(4096)
                if not rx.search(self._buffer):
                    raise RuntimeError(f"simulator exited with {self.proc.returncode}: {self.stderr()}")
            self._buffer += self.serial.read(4096)

    def stderr(self) -> str:
        if (self.proc is not None and self.proc.poll() is not None and not self.stderr_text
                and not self.proc.stderr.closed):
            self.stderr_text = self.proc.stderr.read().decode(errors="replace")
        return self.stderr_text

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        rc = self.proc.wait(timeout)
        self.stderr()
        return rc

    def stop(self) -> int | None:
        if self.serial is not None:
            self.serial.close()
            self.serial = None
        if self.proc is None:
            return None
        if self.proc.stdout.closed:
            return self.proc.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode
