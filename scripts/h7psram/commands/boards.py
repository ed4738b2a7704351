"""`west boards`: the boards of this workspace, one line each, Zephyr's -f/-n options."""

from __future__ import annotations

import argparse

from west.commands import WestCommand

from h7psram import board_list
from h7psram.errors import H7Error

DESCRIPTION = """\
List the boards this workspace builds (a devicetree in dts/ and a folder in
boards/), with their PSRAM part and internal flash from the devicetree.

As in Zephyr, -f takes a Python format string over the fields below and -n a
regular expression the board name must match; 'west boards -f {name}' prints
the names alone, as Zephyr's default does.

Exit status: 0 listed, 2 unusable input (bad format string or expression, a
devicetree that does not parse)."""


def _fields_epilog() -> str:
    lines = ["FORMAT FIELDS", "", f"default: {board_list.DEFAULT_FORMAT!r}", ""]
    lines += [f"  {name:17} {text}" for name, text in board_list.FIELD_HELP.items()]
    return "\n".join(lines)


class Boards(WestCommand):
    def __init__(self) -> None:
        super().__init__("boards", "list the boards with their PSRAM part and flash", DESCRIPTION,
                         accepts_unknown_args=False)

    def do_add_parser(self, parser_adder):  # type: ignore[no-untyped-def]
        parser = parser_adder.add_parser(self.name, help=self.help, description=self.description,
                                         epilog=_fields_epilog(),
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("-f", "--format", default=board_list.DEFAULT_FORMAT,
                            help="format string for each board's line (see FORMAT FIELDS)")
        parser.add_argument("-n", "--name", dest="name_re", metavar="NAME_RE",
                            help="list only boards whose name matches this regular expression")
        return parser

    def do_run(self, args, unknown_args):  # type: ignore[no-untyped-def]
        try:
            lines = board_list.board_lines(args.format, args.name_re)
        except H7Error as err:
            self.die(str(err), exit_code=err.exit_code)
        for line in lines:
            self.inf(line)
