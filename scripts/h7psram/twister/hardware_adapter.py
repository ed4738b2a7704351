"""``--device-type hardware``: a board on a serial port, flashed with ``west flash``.

Order of events, as in twister: the port is opened first and the board flashed afterwards, so
the boot log after the flash's reset is captured; ``--flash-before`` flashes first (for ports
that only appear once the firmware runs). With ``--no-flash`` the board keeps its firmware and
is reset through MicroPython's REPL (``machine.reset()``, a hard reset) when the image is
MicroPython, or not at all (``--device-reset none``, the default for the self-test image): the
adapter then keeps what the port had queued, and when that is the start of a boot (a simulator
that was just started on a pty) it waits for the boot to finish.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Optional

from h7psram.errors import InputError
from h7psram.twister.config import DeviceConfig
from h7psram.twister.device import DeviceAdapter, DeviceError, DeviceImage, DeviceTimeoutError, tail_lines
from h7psram.twister.serial_port import open_port

#: Without a reset there is no boot to wait for; look this long for a queued boot log.
_UNRESET_BOOT_WAIT_S = 3.0
_FLASH_TIMEOUT_S = 300


class HardwareAdapter(DeviceAdapter):
    name = "hardware"

    def __init__(self, config: DeviceConfig, image: Optional[DeviceImage]) -> None:
        super().__init__(config, image)
        if not config.serial:
            raise InputError("--device-type hardware needs --device-serial PORT (or a --hardware-map entry)")
        self.flash_log = ""

    def describe(self) -> str:
        return f"hardware ({self.config.serial})"

    def reset_method(self) -> str:
        if self.config.reset != "auto":
            return self.config.reset
        kind = self.image.kind if self.image is not None else "micropython"
        return "repl" if kind == "micropython" else "none"

    def flash_command(self) -> list[str]:
        if self.image is None or self.image.build_dir is None:
            raise InputError("nothing to flash: no build directory (give --build-dir, or --no-flash)")
        west = shutil.which("west")
        if west is None:
            raise InputError("west not found on PATH: install it with 'pip install west'")
        argv = [west, "flash", "-d", str(self.image.build_dir)]
        if self.config.runner:
            argv += ["-r", self.config.runner]
        if self.config.dev_id:
            argv += ["--dev-id", self.config.dev_id]
        return argv

    def flash(self) -> None:
        argv = self.flash_command()
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=_FLASH_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise DeviceError(f"'{' '.join(argv)}' did not finish within {_FLASH_TIMEOUT_S} s") from None
        self.flash_log = done.stdout.decode(errors="replace")
        if done.returncode != 0:
            raise DeviceError(f"'{' '.join(argv)}' failed with status {done.returncode}:\n"
                              + tail_lines(self.flash_log))

    def _start(self) -> bool:
        assert self.config.serial is not None
        if self.config.flash and self.config.flash_before:
            self.flash()
            self._attach(open_port(self.config.serial, self.config.baud, keep_queued=False))
            return True
        if self.config.flash:
            self._attach(open_port(self.config.serial, self.config.baud, keep_queued=False))
            self.flash()
            return True
        method = self.reset_method()
        self._attach(open_port(self.config.serial, self.config.baud, keep_queued=(method == "none")))
        if method == "repl":
            self._reset_through_repl()
            return True
        if self.image is not None and self.image.boot_done:
            try:
                self.wait_for_output(r"\S", timeout=_UNRESET_BOOT_WAIT_S)
            except DeviceTimeoutError:
                return False  # silent: no queued boot log, the tests see the board as it is
            # The port held output (a pty peer that booted just before): it is the boot log,
            # so let that boot finish like any other.
            return True
        return False

    def _reset_through_repl(self) -> None:
        # Ctrl-C twice stops a running script; Ctrl-B leaves the raw REPL an earlier session
        # may have left the board in. Either way the friendly prompt follows.
        self.write(b"\r\x03\x03\x02")
        # the board may be in the middle of a boot (just powered, or a simulator just started)
        self.readlines_until(r"^>>> ", timeout=self.boot_limit(), print_output=False)
        self.write(b"import machine; machine.reset()\r")
        self.readlines_until(r"machine\.reset\(\)", print_output=False)
        self.restart_log()
