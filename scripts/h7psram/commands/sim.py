"""`west sim`: run a build's firmware in the board simulator."""

from __future__ import annotations

import argparse
from pathlib import Path

from west.commands import WestCommand

from h7psram import buildinfo
from h7psram.errors import as_h7, InputError, USER_ERRORS
from h7psram.sim_options import add_run_options

DESCRIPTION = """\
Run the firmware of a build directory on the simulated board: a Cortex-M7
(unicorn) with the STM32H7A3 memory map, peripherals and the OCTOSPI1 +
PSRAM model. The board and the ELF come from BUILD_DIR/build_info.yml;
--elf and --board override them.

With --pty the REPL UART is a pseudo-terminal (first line: 'pty: PATH',
usable with mpremote or pyserial); otherwise it is this terminal (Ctrl-]
leaves). Time is simulated: one instruction per core clock cycle.

Exit status: 0 stopped, 3 the firmware died (fault report on stderr),
2 unusable input."""


class Sim(WestCommand):
    def __init__(self) -> None:
        super().__init__("sim", "run a build's firmware in the board simulator", DESCRIPTION)

    def do_add_parser(self, parser_adder):  # type: ignore[no-untyped-def]
        parser = parser_adder.add_parser(self.name, help=self.help, description=self.description,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("-d", "--build-dir", default="build", help="build directory (default: build)")
        parser.add_argument("--elf", help="ELF to run instead of the build's")
        parser.add_argument("--board", help="board instead of the build's")
        add_run_options(parser)
        return parser

    def do_run(self, args, unknown_args):  # type: ignore[no-untyped-def]
        from h7psram.sim import cli

        try:
            board, elf = args.board, args.elf
            images: list[str] = []
            if board is None or elf is None:
                info = buildinfo.read_build_info(args.build_dir)
                board = board or info.board
                if elf is None and info.has_output("mboot_elf"):
                    images.append(str(info.output("mboot_elf")))   # flashed first
                elf = elf or str(info.elf)
            if not Path(elf).is_file():
                raise InputError(f"{elf}: no such file (run 'west build' first)")
        except USER_ERRORS as caught:
            err = as_h7(caught)
            self.die(str(err), exit_code=err.exit_code)
        args.board, args.elf = board, images + [elf]
        try:
            code = cli.run(args)
        except USER_ERRORS as caught:
            err = as_h7(caught)
            self.die(str(err), exit_code=err.exit_code)
        if code:
            self.die("the firmware died (report above)", exit_code=code)


class SimDecode(WestCommand):
    def __init__(self) -> None:
        super().__init__("sim-decode", "decode an OSPI trace (VCD) into PSRAM commands and flag hazards",
                         "Read a VCD of the OSPI pins (from 'west sim --trace-ospi' or a logic analyser)\n"
                         "and print each transaction: command, address, dummy cycles, data, NCS low\n"
                         "time. Flags bursts over a page end, NCS low past tCEM, NCS high under tCPH.\n\n"
                         "Exit status: 0 no hazard, 1 hazards, 2 unusable input.")

    def do_add_parser(self, parser_adder):  # type: ignore[no-untyped-def]
        from h7psram.sim.ospi_decode import add_arguments

        parser = parser_adder.add_parser(self.name, help=self.help, description=self.description,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        add_arguments(parser)
        return parser

    def do_run(self, args, unknown_args):  # type: ignore[no-untyped-def]
        from h7psram.sim.ospi_decode import decode_file

        try:
            hazards = decode_file(args)
        except USER_ERRORS as caught:
            err = as_h7(caught)
            self.die(str(err), exit_code=err.exit_code)
        if hazards:
            self.die(f"{hazards} hazard(s) in the trace", exit_code=1)
