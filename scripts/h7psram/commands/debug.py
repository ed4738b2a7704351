"""`west debug`, `west debugserver`, `west attach`: GDB on a board or on the simulator."""

from __future__ import annotations

import argparse
from pathlib import Path

from west.commands import WestCommand

from h7psram import buildinfo
from h7psram.commands.flash import _load_board, _split_passthrough
from h7psram.errors import as_h7, USER_ERRORS
from h7psram.runners import core
from h7psram.runners.gdb import DEFAULT_GDB_PORT

# Used when runners.yaml names no debug runner (dfu-util, the flash default, cannot debug).
DEFAULT_DEBUG_RUNNER = "openocd"

HELP = {
    "debug": "start a GDB server and GDB on the build's ELF: load it, break at main",
    "debugserver": "start only a GDB server (on the board through a probe, or the simulator)",
    "attach": "start a GDB server and GDB on the build's ELF without loading it",
}

DESCRIPTION = """\
{help}.

Runners: openocd (default) and pyocd connect under reset (NRST held low while
the probe attaches, see docs/debugging.md for the wiring); sim runs the build
in the board simulator, halted at the reset vector, with its own GDB server.
GDB is arm-none-eabi-gdb, else gdb-multiarch (--gdb picks another). The server
listens on localhost:{port} unless --gdb-port (or --port) says otherwise.
Anything after '--' is appended to the server's command line."""


class _DebugCommand(WestCommand):
    command = ""

    def __init__(self) -> None:
        super().__init__(self.command, HELP[self.command],
                         DESCRIPTION.format(help=HELP[self.command].capitalize(), port=DEFAULT_GDB_PORT),
                         accepts_unknown_args=True)

    def do_add_parser(self, parser_adder):  # type: ignore[no-untyped-def]
        parser = parser_adder.add_parser(self.name, help=self.help, description=self.description,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("-d", "--build-dir", default="build", help="build directory (default: build)")
        parser.add_argument("-r", "--runner", help=f"openocd, pyocd or sim (default {DEFAULT_DEBUG_RUNNER})")
        parser.add_argument("-i", "--serial", "--dev-id", dest="serial", metavar="ID",
                            help="USB serial number of the debug probe")
        return parser

    def do_run(self, args: argparse.Namespace, unknown_args: list[str]) -> None:
        runner_argv, tool_args = _split_passthrough(unknown_args)
        try:
            build_dir = Path(args.build_dir)
            info = buildinfo.read_build_info(build_dir)
            board = _load_board(info.board)
            if (build_dir / buildinfo.RUNNERS_YAML).exists() or board is None:
                config = buildinfo.read_runners_yaml(build_dir)
            else:
                config = buildinfo.default_runners_config(board)
            name = args.runner or DEFAULT_DEBUG_RUNNER
            ctx = core.FlashContext(build=info, board=board, serial=args.serial, tool_args=tool_args,
                                    info=self.inf, warn=self.wrn)
            runner = core.get_runner_class(name).create(ctx, config.args_for(name), runner_argv)
            runner.debug(self.command)
        except USER_ERRORS as caught:
            err = as_h7(caught)
            self.die(str(err), exit_code=err.exit_code)


class Debug(_DebugCommand):
    command = "debug"


class DebugServer(_DebugCommand):
    command = "debugserver"


class Attach(_DebugCommand):
    command = "attach"
