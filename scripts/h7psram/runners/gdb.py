"""Debugging through a GDB server: `west debug`, `west debugserver` and `west attach`.

Zephyr's runners give each tool a set of capabilities; here a runner that can
start a GDB server subclasses ``GdbServerRunner`` and says how to start it.
The three commands mean what they mean in Zephyr:

- ``debugserver``: the server alone, in the foreground, for a GDB started by hand;
- ``debug``: the server in the background, then GDB on the build's ELF, which
  resets the core halted, loads the image, resets again (so MSP and PC come
  from the freshly written vector table) and runs to ``main``;
- ``attach``: the same without loading or resetting from GDB.

GDB retries a refused connection for ``tcp connect-timeout`` (15 s by default),
so GDB can start while the server is still coming up; probing the port
ourselves would end a pyOCD server, which serves one connection by default.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
from abc import abstractmethod
from pathlib import Path
from typing import ClassVar, Sequence

from h7psram.errors import InputError
from h7psram.runners.core import FlashFailed, Runner, ToolFailed, ToolNotFound

DEBUG_COMMANDS = ("debug", "debugserver", "attach")
# Looked up in this order, as Zephyr's runners do: the toolchain's own GDB first.
GDB_PROGRAMS = ("arm-none-eabi-gdb", "gdb-multiarch")
GDB_INSTALL_HINT = "apt install gdb-multiarch"
DEFAULT_GDB_PORT = 3333
# How long a background server gets to end after GDB quits.
_SERVER_GRACE_S = 5.0


class NoGdb(ToolNotFound):
    def __init__(self) -> None:
        InputError.__init__(self, f"no GDB for Arm found ({', '.join(GDB_PROGRAMS)}): "
                                  f"install it with '{GDB_INSTALL_HINT}'")


def find_gdb(explicit: str | None = None) -> str:
    """The GDB to run: ``explicit`` if given, else the first of GDB_PROGRAMS on PATH."""
    if explicit:
        found = shutil.which(explicit)
        if found is None:
            raise InputError(f"--gdb {explicit}: no such program")
        return found
    for name in GDB_PROGRAMS:
        found = shutil.which(name)
        if found:
            return found
    raise NoGdb()


def gdb_command(gdb: str, command: str, elf: Path, port: int) -> list[str]:
    """GDB's command line for ``debug`` or ``attach`` against a server on localhost:port."""
    cmd = [gdb, str(elf), "-ex", f"target extended-remote localhost:{port}"]
    if command == "debug":
        cmd += ["-ex", "monitor reset halt", "-ex", "load", "-ex", "monitor reset halt",
                "-ex", "break main", "-ex", "continue"]
    return cmd


class GdbServerRunner(Runner):
    """A runner whose tool can also serve GDB (openocd, pyocd, the simulator)."""

    commands: ClassVar[frozenset[str]] = frozenset({"flash", *DEBUG_COMMANDS})

    @classmethod
    def add_debug_options(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--gdb-port", "--port", dest="gdb_port", type=int, default=DEFAULT_GDB_PORT,
                            metavar="N", help=f"GDB server port (default {DEFAULT_GDB_PORT})")
        parser.add_argument("--gdb", metavar="PATH",
                            help="GDB to run (default: arm-none-eabi-gdb, else gdb-multiarch)")

    @abstractmethod
    def server_command(self, command: str, port: int) -> list[str]:
        """The GDB server's command line for ``command`` (one of DEBUG_COMMANDS)."""

    def server_env(self) -> dict[str, str] | None:
        return None

    def elf(self) -> Path:
        elf = Path(self.options.elf_file) if self.options.elf_file else self.ctx.build.elf
        if not elf.is_file():
            raise FlashFailed(f"{elf}: no such file (run 'west build' first)")
        return elf

    def debug(self, command: str) -> None:
        if command not in DEBUG_COMMANDS:
            raise InputError(f"unknown debug command '{command}' ({', '.join(DEBUG_COMMANDS)})")
        elf = self.elf()
        self.require()
        port = self.options.gdb_port
        if not 0 < port < 65536:
            raise InputError(f"--gdb-port {port}: not a TCP port")
        server = self.server_command(command, port)
        if command == "debugserver":
            self.ctx.info(f"GDB server on localhost:{port} ({self.name}); connect with "
                          f"'target extended-remote localhost:{port}'")
            rc = self.run_foreground(server, env=self.server_env())
            if rc != 0:
                raise ToolFailed(f"{self.name} GDB server exited with status {rc}", rc)
            return
        client = gdb_command(find_gdb(self.options.gdb), command, elf, port)
        rc = self.run_server_and_client(server, client)
        if rc != 0:
            raise ToolFailed(f"gdb exited with status {rc}", rc)

    def run_server_and_client(self, server: Sequence[str], client: Sequence[str]) -> int:
        """Start the server in the background, run GDB on this terminal, then end the server."""
        try:
            # Its own session: the Ctrl-C typed at GDB to halt the target must not reach it.
            srv = subprocess.Popen([str(a) for a in server], stdin=subprocess.DEVNULL,
                                   start_new_session=True, env=self.server_env())
        except FileNotFoundError:
            raise ToolNotFound(str(server[0]), self.install_hint) from None
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            try:
                gdb = subprocess.Popen([str(a) for a in client])
            except FileNotFoundError:
                raise NoGdb() from None
            return gdb.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
            srv.terminate()
            try:
                srv.wait(_SERVER_GRACE_S)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()
