"""The simulator as a flash target: run the build's ELF in ``python -m h7psram.sim``.

The simulator runs in the foreground on this terminal, and its exit status is
the command's (3 when the firmware faults; see docs/architecture.md).
As a GDB server (``west debug -r sim``, ``debugserver``, ``attach``) it starts
halted at the reset vector with its GDB stub on localhost (``--gdb PORT``);
under ``debug`` and ``attach`` GDB owns the terminal, so the REPL UART goes on
a pseudo-terminal unless --stdio asks otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from h7psram.runners.core import FlashFailed, ToolFailed, register
from h7psram.runners.gdb import GdbServerRunner
from h7psram.sim_launch import package_env, sim_command
from h7psram.sim_options import add_start_options, start_argv


@register
class SimRunner(GdbServerRunner):
    name = "sim"
    program = sys.executable
    install_hint = "pip install -e . (the h7psram package provides the simulator)"
    summary = "run the firmware in the board simulator instead of on hardware"
    file_types = ("elf",)

    @classmethod
    def add_options(cls, parser: argparse.ArgumentParser) -> None:
        add_start_options(parser)
        cls.add_debug_options(parser)

    def images(self) -> list[Path]:
        """What a flasher would write, in order: mboot first in an mboot build."""
        app = self.elf()
        if self.options.elf_file or not self.ctx.build.has_output("mboot_elf"):
            return [app]
        boot = self.ctx.build.output("mboot_elf")
        if not boot.is_file():
            raise FlashFailed(f"{boot}: no such file (run 'west build' first)")
        return [boot, app]

    def command(self, elf: Path | list[Path], *, pty: bool | None = None) -> list[str]:
        images = elf if isinstance(elf, list) else [elf]
        return sim_command(self.ctx.build.board, images,
                           [*start_argv(self.options, pty=pty), *self.ctx.tool_args])

    def server_command(self, command: str, port: int) -> list[str]:
        images = self.images()
        cmd = self.command(images, pty=self.options.pty or (command != "debugserver" and not self.options.stdio))
        return cmd[:-len(images)] + ["--gdb", str(port)] + cmd[-len(images):]

    def server_env(self) -> dict[str, str] | None:
        return package_env()

    def flash(self) -> None:
        self.check_erase()
        self.image()  # only an ELF can run; says so for --hex-file/--bin-file
        rc = self.run_foreground(self.command(self.images()), env=package_env())
        if rc != 0:
            what = "the firmware faulted, report above" if rc == 3 else "see its output above"
            # The simulator's codes are part of west flash's contract for -r sim (2 bad
            # image, 3 firmware died), so they are passed through.
            raise ToolFailed(f"simulator exited with status {rc} ({what})", rc,
                             exit_code=rc if rc > 0 else 1)
