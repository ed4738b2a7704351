"""`west hwtest`: run the twister-style suites (testcase.yaml) on the simulator or a board."""

from __future__ import annotations

import argparse

from west.commands import WestCommand

from h7psram.errors import as_h7, USER_ERRORS
from h7psram.twister import hwtest

DESCRIPTION = """\
Find every testcase.yaml under the suite root (default: tests/suites of this
workspace), keep the tests whose platform_allow/platform_exclude admit the
platform and whose tags match -t/-e, and run each with pytest and the device
options given here. Prints one line per test and a summary table; each test's
pytest output and JUnit XML go to OUTDIR/<test id>/.

The platform is -p, else the board of the build directory, else devebox_h7a3.
Anything after '--' is passed to every pytest run.

Exit status: 0 nothing failed, 1 a test failed, errored or timed out,
2 unusable input (bad testcase.yaml, no suites, bad hardware map)."""


class Hwtest(WestCommand):
    def __init__(self) -> None:
        super().__init__("hwtest", "run the testcase.yaml suites on the simulator or a board", DESCRIPTION,
                         accepts_unknown_args=True)

    def do_add_parser(self, parser_adder):  # type: ignore[no-untyped-def]
        parser = parser_adder.add_parser(self.name, help=self.help, description=self.description,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        hwtest.add_arguments(parser)
        return parser

    def do_run(self, args: argparse.Namespace, unknown_args: list[str]) -> None:
        extra = unknown_args[1:] if unknown_args[:1] == ["--"] else unknown_args
        try:
            code = hwtest.run(args, extra, info=self.inf)
        except USER_ERRORS as caught:
            err = as_h7(caught)
            self.die(str(err), exit_code=err.exit_code)
        if code:
            self.die(f"the test run ended with status {code} (summary above)", exit_code=code)
