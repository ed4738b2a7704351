"""``--device-type sim``: the board simulator on the image's ELF, its UART on a pseudo-terminal.

Each launch starts ``python -m h7psram.sim --board B --pty [--fault F ...] ELF`` in a fresh
process (a cold boot, like power-on), reads the ``pty: /dev/pts/N`` line it prints first and
opens that tty. Closing the adapter ends the simulator with SIGTERM.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from typing import Optional, Sequence

from h7psram.errors import InputError
from h7psram.sim_launch import SimDidNotStart, SimLaunch, package_env  # noqa: F401 (package_env: for tests)
from h7psram.twister.config import DeviceConfig
from h7psram.twister.device import DeviceAdapter, DeviceGoneError, DeviceImage, DeviceTimeoutError
from h7psram.twister.serial_port import open_port

_PTY_LINE_TIMEOUT_S = 30.0
_STDERR_TAIL = 8192


class SimAdapter(DeviceAdapter):
    name = "sim"

    def __init__(self, config: DeviceConfig, image: DeviceImage, faults: Sequence[str] = ()) -> None:
        super().__init__(config, image)
        if image.elf is None:
            raise InputError(f"simulator: image for {image.board} has no ELF")
        self.faults = tuple(faults)
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.pty_path: Optional[str] = None
        self._stderr = bytearray()
        self._threads: list[threading.Thread] = []

    def command(self) -> list[str]:
        return self._launch().argv

    def _launch(self) -> SimLaunch:
        assert self.image is not None and self.image.elf is not None
        return SimLaunch(self.image.board, [self.image.elf], faults=self.faults)

    def describe(self) -> str:
        faults = f", faults {','.join(self.faults)}" if self.faults else ""
        return f"simulator ({self.image.board if self.image else '?'}{faults}, {self.pty_path or 'no pty yet'})"

    def _start(self) -> bool:
        launch = self._launch()
        self.proc = launch.start(start_new_session=True)
        self._spawn(self._collect_stderr)
        try:
            self.pty_path = launch.read_pty_line(_PTY_LINE_TIMEOUT_S)
        except SimDidNotStart as failed:
            if failed.status is None and "within" in failed.reason:
                raise DeviceTimeoutError(self.failure_context(failed.reason)) from None
            time.sleep(0.1)  # let the stderr thread collect the reason
            raise DeviceGoneError(self.failure_context(failed.reason)) from None
        self._spawn(self._drain_stdout)
        self._spawn(self._watch_exit)
        self._attach(open_port(self.pty_path, self.config.baud, keep_queued=True))
        return True

    def _spawn(self, target) -> None:  # type: ignore[no-untyped-def]
        thread = threading.Thread(target=target, daemon=True, name=f"sim-{target.__name__}")
        thread.start()
        self._threads.append(thread)

    def _collect_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):  # type: ignore[union-attr]
            self._stderr += chunk
            del self._stderr[:-_STDERR_TAIL]

    def _drain_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for _ in iter(lambda: self.proc.stdout.read1(4096), b""):  # type: ignore[union-attr]
            pass

    def _watch_exit(self) -> None:
        assert self.proc is not None
        status = self.proc.wait()
        time.sleep(0.2)  # the reader may still be taking the last bytes off the pty
        self._mark_ended(f"simulator exited with status {status}")

    def connection_lost_reason(self, err: Exception) -> str:
        # The tty ends when the simulator does; its exit status says more than the tty error.
        if self.proc is not None:
            try:
                status = self.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                return f"connection to {self.describe()} lost while the simulator still runs: {err}"
            return f"simulator exited with status {status}"
        return super().connection_lost_reason(err)

    def extra_diagnostics(self) -> str:
        text = bytes(self._stderr).decode(errors="replace").strip()
        if not text:
            return ""
        return "simulator stderr:\n" + "\n".join("    ! " + line for line in text.splitlines()[-40:])

    def close(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        super().close()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads.clear()
        if proc is not None:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        self.proc = None
