"""Helpers of the GDB tests: the simulator with its GDB server in a child process, real GDB
in batch mode against it, and reading `x/` output."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

GDB = shutil.which("arm-none-eabi-gdb") or shutil.which("gdb-multiarch")
REPO = Path(__file__).resolve().parents[2]
WCCR = 0x52005180          # OCTOSPI1 write communication configuration register
DQSE = 1 << 29


class SimUnderGdb:
    def __init__(self, elf: Path, tmp: Path, board: str = "devebox_h7a3", extra: tuple[str, ...] = ()) -> None:
        self.elf = elf
        self.err = tmp / "sim.err"
        env = dict(os.environ, PYTHONPATH=str(REPO / "scripts"))
        self.proc = subprocess.Popen([sys.executable, "-m", "h7psram.sim", "--board", board, *extra,
                                      "--gdb", "0", str(elf)], stdout=subprocess.DEVNULL,
                                     stderr=self.err.open("w"), env=env)
        deadline = time.monotonic() + 120          # a loaded CI machine starts Python slowly
        while True:
            m = re.search(r"gdb: listening on 127\.0\.0\.1:(\d+)", self.err.read_text())
            if m:
                self.port = int(m.group(1))
                break
            assert self.proc.poll() is None and time.monotonic() < deadline, self.err.read_text()
            time.sleep(0.05)

    def gdb(self, *commands: str, interrupt_after: float | None = None, timeout: float = 120) -> str:
        assert GDB is not None
        # remotetimeout: GDB's 2 s default for a packet's answer is too short on a loaded machine
        argv = [GDB, "-nx", "-batch", str(self.elf), "-ex", "set remotetimeout 60",
                "-ex", f"target remote localhost:{self.port}"]
        for c in commands:
            argv += ["-ex", c]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if interrupt_after is not None:
            time.sleep(interrupt_after)
            proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=timeout)
        return out

    def close(self) -> int:
        self.proc.terminate()
        return self.proc.wait(10)


def words(out: str, addr: int) -> list[int]:
    """The words GDB printed for `x/Nwx addr`."""
    m = re.search(rf"0x{addr:x}[^:\n]*:[ \t]+((?:0x[0-9a-f]+[ \t]*)+)", out)
    assert m, out
    return [int(w, 16) for w in m.group(1).split()]
