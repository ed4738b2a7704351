"""``--device-type hardware``: a board on a serial port, flashed with ``west flash``.

Order of events, as in twister: the port is opened first and the board flashed afterwards, so
the boot log after the flash's reset is captured; ``--flash-before`` flashes first (for ports
that only appear once the firmware runs). With ``--no-flash`` the board keeps its firmware and
is reset through MicroPython's REPL (``machine.reset()``, a hard reset) when the image is
MicroPython, or not at all (``--device-reset none``, the default for the self-test image): the
adapter then keeps what the port had queued, and when that is the start of a boot (a simulator
that was just started on a pty) it waits for the boot to finish.

The flash command is the one Zephyr's pytest-twister-harness runs (its
``device/hardware_adapter.py``): ``west flash --no-rebuild --build-dir D --runner R -- ARGS``,
where ARGS are runner options: ``--west-flash-extra-args``, ``--runner-params`` and the probe
id in the spelling each runner takes. ``--pre-script``, ``--post-flash-script`` and
``--post-script`` run around flashing and the session as twister runs them, and
``--device-serial-pty CMD`` reaches the board through a program on a pseudo-terminal.
"""

from __future__ import annotations

import os
import pty
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Optional

from h7psram.errors import InputError
from h7psram.twister.config import DeviceConfig
from h7psram.twister.device import DeviceAdapter, DeviceError, DeviceImage, DeviceTimeoutError, tail_lines
from h7psram.twister.serial_port import FdPort, open_port

#: Without a reset there is no boot to wait for; look this long for a queued boot log.
_UNRESET_BOOT_WAIT_S = 3.0
_SCRIPT_TIMEOUT_S = 120
#: probe names in twister's hardware map that make the harness pass an OpenOCD serial
_STLINK_PRODUCTS = ("STM32 STLink", "STLINK-V3")
_CMSIS_DAP_PRODUCTS = ("EDBG CMSIS-DAP", "LPC-LINK2 CMSIS-DAP")


def runner_id_args(runner: Optional[str], device_id: Optional[str],
                   product: Optional[str]) -> tuple[list[str], list[str]]:
    """How the probe id reaches ``west flash``: (options before ``--``, runner options after).

    The per-runner spellings are the harness's; runners it has no spelling for (dfu-util,
    sim) get west flash's own ``--dev-id``.
    """
    if not device_id:
        return [], []
    if runner == "pyocd":
        return [], ["--board-id", device_id]
    if runner == "openocd" and product in _STLINK_PRODUCTS:
        return [], ["--cmd-pre-init", f"hla_serial {device_id}"]
    if runner == "openocd" and product in _CMSIS_DAP_PRODUCTS:
        return [], ["--cmd-pre-init", f"adapter serial {device_id}"]
    return ["--dev-id", device_id], []


def west_flash_command(west: str, build_dir: Path, config: DeviceConfig) -> list[str]:
    argv = [west, "flash", "--no-rebuild", "--build-dir", str(build_dir)]
    extra = list(config.west_flash_extra_args)
    if config.runner:
        argv += ["--runner", config.runner]
        extra += list(config.runner_params)
    before, after = runner_id_args(config.runner, config.id, config.product)
    argv += before
    extra += after
    return argv + (["--"] + extra if extra else [])


class HardwareAdapter(DeviceAdapter):
    name = "hardware"

    def __init__(self, config: DeviceConfig, image: Optional[DeviceImage]) -> None:
        super().__init__(config, image)
        if not config.serial and not config.serial_pty:
            raise InputError("--device-type hardware needs --device-serial PORT, --device-serial-pty CMD "
                             "or a --hardware-map entry")
        self.flash_log = ""
        self._pty_proc: Optional[subprocess.Popen[bytes]] = None
        self._post_script_due = False

    def describe(self) -> str:
        return f"hardware ({self.config.serial or self.config.serial_pty})"

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
        return west_flash_command(west, self.image.build_dir, self.config)

    def run_script(self, which: str) -> None:
        """twister's --pre-script / --post-flash-script / --post-script: a failure stops the test."""
        script = getattr(self.config, f"{which}_script")
        if not script:
            return
        try:
            done = subprocess.run([str(script)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=_SCRIPT_TIMEOUT_S, check=False)
        except OSError as err:
            raise InputError(f"{script}: cannot run the --{which.replace('_', '-')}-script: "
                             f"{err.strerror}") from None
        except subprocess.TimeoutExpired:
            raise DeviceError(f"{script} did not finish within {_SCRIPT_TIMEOUT_S} s") from None
        if done.returncode != 0:
            raise DeviceError(f"{script} failed with status {done.returncode}:\n"
                              + tail_lines(done.stdout.decode(errors="replace")))

    def flash(self) -> None:
        argv = self.flash_command()
        timeout = self.config.flash_timeout
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise DeviceError(f"'{' '.join(argv)}' did not finish within {timeout:g} s") from None
        self.flash_log = done.stdout.decode(errors="replace")
        if done.returncode != 0:
            raise DeviceError(f"'{' '.join(argv)}' failed with status {done.returncode}:\n"
                              + tail_lines(self.flash_log))
        self.run_script("post_flash")

    def _open(self, keep_queued: bool) -> None:
        if self.config.serial_pty:
            # As twister does: the program gets a pty's slave side as its stdio, we read the master.
            master, slave = pty.openpty()
            try:
                self._pty_proc = subprocess.Popen(shlex.split(self.config.serial_pty), stdin=slave,
                                                  stdout=slave, stderr=slave, start_new_session=True)
            except OSError as err:
                os.close(master)
                raise InputError(f"--device-serial-pty {self.config.serial_pty}: cannot start: "
                                 f"{err.strerror}") from None
            finally:
                os.close(slave)
            self._attach(FdPort(master, master))  # type: ignore[arg-type]
        else:
            assert self.config.serial is not None
            self._attach(open_port(self.config.serial, self.config.baud, keep_queued=keep_queued))
        self._post_script_due = True

    def _start(self) -> bool:
        if self.config.flash:
            self.run_script("pre")
        if self.config.flash and self.config.flash_before:
            self.flash()
            self._open(keep_queued=False)
            return True
        if self.config.flash:
            self._open(keep_queued=False)
            self.flash()
            return True
        method = self.reset_method()
        self._open(keep_queued=(method == "none"))
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

    def close(self) -> None:
        super().close()
        proc, self._pty_proc = self._pty_proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._post_script_due:
            self._post_script_due = False
            self.run_script("post")
