"""`west mpytest`: MicroPython's own test directories (tests/run-tests.py) on the simulator or a board."""

from __future__ import annotations

import argparse
from pathlib import Path

from west.commands import WestCommand

from h7psram import buildinfo, mpytest
from h7psram.errors import H7Error, InputError

DESCRIPTION = f"""\
Run MicroPython's test suite from the workspace's checkout
(modules/micropython/tests/run-tests.py) against the firmware of a build
directory booted on the board simulator, or against a board on a serial
port (--device). TESTS are directories or .py files relative to
MicroPython's tests/ (default: {' '.join(mpytest.DEFAULT_DIRS)}); each
directory is one run with its own counts and time.

The board's target-wiring file (boards/<board>/target_wiring.py) goes to
run-tests.py; on the simulator its UART jumper is wired in. unittest is
copied onto the device from the workspace's micropython-lib when the
device has none. Tests on the skip list (tests/mpy/upstream-skips.yaml,
one reason each) are left out and named; --run-skipped runs them too.

Exit status: 0 nothing failed, 1 a test failed or the device died,
2 unusable input (no build, unknown test directory, bad skip list)."""


class Mpytest(WestCommand):
    def __init__(self) -> None:
        super().__init__("mpytest", "run MicroPython's own tests (run-tests.py) on the simulator or a board",
                         DESCRIPTION)

    def do_add_parser(self, parser_adder):  # type: ignore[no-untyped-def]
        parser = parser_adder.add_parser(self.name, help=self.help, description=self.description,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("-d", "--build-dir", default="build", help="build directory (default: build)")
        parser.add_argument("--board", help="board instead of the build's (needed with --device and no build)")
        parser.add_argument("--device", metavar="PORT",
                            help="a board on this serial port instead of the simulator (flash it first)")
        parser.add_argument("-r", "--result-dir", metavar="DIR",
                            help="run-tests.py results, one folder per directory (default: BUILD_DIR/mpytest)")
        parser.add_argument("--test-timeout", type=float, default=mpytest.DEFAULT_TEST_TIMEOUT, metavar="S",
                            help=f"seconds one test may take (default {mpytest.DEFAULT_TEST_TIMEOUT:.0f})")
        parser.add_argument("--run-skipped", action="store_true", help="also run the tests on the skip list")
        parser.add_argument("--list", action="store_true", help="print what would run and the skips, run nothing")
        parser.add_argument("tests", nargs="*", metavar="TESTS", help="test directories or files")
        return parser

    def do_run(self, args, unknown_args):  # type: ignore[no-untyped-def]
        from h7psram import build

        try:
            opts = mpytest.Options(selection=args.tests, board=args.board, device=args.device,
                                   test_timeout=args.test_timeout, run_skipped=args.run_skipped,
                                   list_only=args.list)
            if not args.list and (args.device is None or args.board is None):
                info = buildinfo.read_build_info(args.build_dir)
                opts.board = opts.board or info.board
                if args.device is None:
                    images = [str(info.output("mboot_elf"))] if info.has_output("mboot_elf") else []
                    if not info.elf.is_file():
                        raise InputError(f"{info.elf}: no such file (run 'west build' first)")
                    opts.images = images + [str(info.elf)]
            opts.result_root = Path(args.result_dir or Path(args.build_dir) / "mpytest")
            code = mpytest.run(opts, build.locate_workspace(Path(self.manifest.topdir)).micropython, out=self._say)
        except H7Error as err:
            self.die(str(err), exit_code=err.exit_code)
        if code:
            self.die("a test failed or the device died (summary above)", exit_code=code)

    @staticmethod
    def _say(line: str) -> None:
        print(line, flush=True)
