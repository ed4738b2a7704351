"""Starting the simulator as a child process: ``python -m h7psram.sim --board B --pty ... ELF``,
then the ``pty: /dev/pts/N`` line it prints first.

The one launcher behind `sim.process.SimProcess` (tests, `west mpytest`, the demo), the twister
`SimAdapter` and the `sim` runner's command line. Outside the ``sim`` package: starting a
simulator must not load unicorn into the caller.
"""

from __future__ import annotations

import math
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])


def package_env() -> dict[str, str]:
    """This environment with this h7psram package first on PYTHONPATH, installed or not."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH", "")) if p)
    return env


def sim_command(board: str, images: Sequence[str | os.PathLike], options: Sequence[str] = ()) -> list[str]:
    """The simulator's command line: ``options`` (see sim_options) then the images in flashing order."""
    return [sys.executable, "-m", "h7psram.sim", "--board", board, *options, *(str(i) for i in images)]


class SimDidNotStart(Exception):
    """No 'pty:' line: ``reason`` says why, ``status`` is the exit status when the simulator ended."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class SimLaunch:
    """One simulator on a pty: ``start()`` the process, then ``read_pty_line()`` for its port."""

    def __init__(self, board: str, images: Sequence[str | os.PathLike], *, faults: Sequence[str] = (),
                 extra_args: Sequence[str] = ()) -> None:
        options = ["--pty"] + [w for f in faults for w in ("--fault", f)] + list(extra_args)
        self.argv = sim_command(board, images, options)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, **popen_args) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=package_env(), **popen_args)
        return self.proc

    def read_pty_line(self, timeout: float | None) -> str:
        """The pty path from the first stdout line, read byte by byte so nothing after it is taken
        from the pipe; SimDidNotStart when the line is missing, wrong or later than ``timeout``
        seconds (None: no bound)."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        line = b""
        deadline = time.monotonic() + (math.inf if timeout is None else timeout)
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SimDidNotStart(f"simulator printed no 'pty:' line within {timeout:.0f} s")
            ready, _, _ = select.select([fd], [], [], min(remaining, 0.2))
            if not ready:
                continue
            byte = os.read(fd, 1)
            if not byte:
                status = self.proc.wait(timeout=5)
                raise SimDidNotStart(f"simulator exited with status {status} before printing its pty", status)
            line += byte
        text = line.decode(errors="replace").strip()
        if not text.startswith("pty: "):
            raise SimDidNotStart(f"simulator's first line is {text!r}, not 'pty: PATH'")
        return text[len("pty: "):]
