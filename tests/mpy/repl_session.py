"""The friendly REPL of a simulated board on its pseudo-terminal, for the tests in this folder."""

from __future__ import annotations

from h7psram.sim.process import SimProcess

BOOT_TIMEOUT = 180.0      # seconds of wall time to the prompt on a busy two-core machine


class Repl:
    """The friendly REPL of a simulated board on its pseudo-terminal."""

    def __init__(self, sim: SimProcess, boot_log: str) -> None:
        self.sim = sim
        self.boot_log = boot_log

    def line(self, code: str, timeout: float = 60.0) -> str:
        """Type one line; returns what the board printed before the next prompt (echo removed)."""
        self.sim.write(code.encode() + b"\r")
        text = self.sim.wait_for(r"\r\n>>> ", timeout)
        body = text.replace("\r\n", "\n")
        if body.startswith(code):
            body = body[len(code):]
        return body[:-len(">>> ")].strip("\n")
