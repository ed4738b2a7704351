"""``--device-type custom``: twister's "build" handler, the simulator behind ``west build -t run``.

Zephyr's harness runs ``west build -d BUILD_DIR -t run`` for this device type and talks to the
process's stdin and stdout (its ``device/binary_adapter.py``, ``CustomSimulatorAdapter``). This
workspace's ``run`` target brings the build up to date and then runs the firmware in the board
simulator with the REPL UART on stdio, so the same command serves both plugins: the build's
own output comes first, then the boot log. PSRAM faults reach the simulator through its
``H7PSRAM_SIM_FAULTS`` environment variable, which ``west build`` and make pass on.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from typing import Optional

from h7psram.errors import InputError
from h7psram.twister.config import DeviceConfig
from h7psram.twister.device import DeviceAdapter, DeviceImage
from h7psram.twister.serial_port import FdPort
from h7psram.sim.cli import ENV_FAULTS
from h7psram.sim_launch import package_env


def run_command(west: str, build_dir: str) -> list[str]:
    return [west, "build", "-d", build_dir, "-t", "run"]


class CustomAdapter(DeviceAdapter):
    name = "custom"

    def __init__(self, config: DeviceConfig, image: DeviceImage, faults: tuple[str, ...] = ()) -> None:
        super().__init__(config, image)
        if image.build_dir is None:
            raise InputError("--device-type custom needs a build directory (--build-dir)")
        self.faults = faults
        self.proc: Optional[subprocess.Popen[bytes]] = None

    def command(self) -> list[str]:
        assert self.image is not None and self.image.build_dir is not None
        west = shutil.which("west")
        if west is None:
            raise InputError("west not found on PATH: install it with 'pip install west'")
        return run_command(west, str(self.image.build_dir))

    def describe(self) -> str:
        board = self.image.board if self.image is not None else "?"
        return f"custom ('west build -t run', {board})"

    def _start(self) -> bool:
        env = package_env()
        env[ENV_FAULTS] = " ".join(self.faults)
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._attach(FdPort(self.proc.stdout.fileno(), self.proc.stdin.fileno(), owns=False))  # type: ignore[arg-type]
        return True

    def connection_lost_reason(self, err: Exception) -> str:
        if self.proc is not None:
            try:
                status = self.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                return f"output of {self.describe()} ended while it still runs: {err}"
            return f"'west build -t run' exited with status {status}"
        return super().connection_lost_reason(err)

    def close(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            # west, cmake, make and the simulator form one process group (start_new_session)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        super().close()
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
        self.proc = None
