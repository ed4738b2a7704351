"""Shared by bench/mpy_boot.py and bench/mpy_workloads.py: a simulated board running the real
MicroPython firmware of a build directory, driven through its REPL UART in-process (no pty, so
idle time costs no wall time and the instruction counts come straight from the Machine)."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests" / "mpy"))

from h7psram.boards import load_board  # noqa: E402
from h7psram.sim import Machine  # noqa: E402


@dataclass
class Phase:
    what: str
    wall_s: float
    instructions: int
    sim_s: float
    output: str

    @property
    def rate(self) -> float:
        return self.instructions / self.wall_s if self.wall_s > 0 else 0.0

    def row(self, board: str) -> str:
        return (f"| {board} | {self.what} | {self.wall_s:.2f} s | {self.instructions / 1e6:.1f} M | "
                f"{self.sim_s:.3f} s | {self.rate / 1e6:.1f} M/s |")


def build_dirs(boards: list[str]) -> dict[str, Path]:
    """The test builds (tests/mpy/firmware_builds.py), built or brought up to date."""
    import firmware_builds as fb

    ws, why = fb.workspace_or_reason()
    if ws is None:
        raise SystemExit(f"bench: {why}")
    return {b: fb.build_board(b, ws) for b in boards}


def boot(board: str, elf: Path, faults=None) -> tuple[Machine, Phase]:
    m = Machine(load_board(board), uart="none", psram_faults=faults)
    m.load_elf(str(elf))
    t = time.perf_counter()
    r = m.run(until_text=">>> ", max_seconds=30)
    wall = time.perf_counter() - t
    if r.reason != "text":
        raise SystemExit(f"bench: {board} did not reach the REPL ({r.reason})")
    return m, Phase("start to `>>> `", wall, r.instructions, r.sim_ns / 1e9, m.uart.read_available().decode())


def repl_line(m: Machine, what: str, line: str, timeout_s: float = 120.0) -> Phase:
    """Type one line at the friendly REPL and run until the next prompt."""
    m.uart.read_available()
    i0, ns0 = m.instructions, m.now_ns
    m.uart.write(line.encode() + b"\r")
    t = time.perf_counter()
    r = m.run(until_text="\r\n>>> ", max_seconds=timeout_s)
    wall = time.perf_counter() - t
    if r.reason != "text":
        raise SystemExit(f"bench: no prompt after {line!r} ({r.reason})")
    out = m.uart.read_available().decode()
    return Phase(what, wall, m.instructions - i0, (m.now_ns - ns0) / 1e9, out)
