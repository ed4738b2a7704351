"""`west memcheck-sections`: prove from the ELF where heap, stack and data live."""

from __future__ import annotations


from west.commands import WestCommand

from h7psram import memcheck
from h7psram.errors import as_h7, USER_ERRORS


class MemcheckSections(WestCommand):
    def __init__(self) -> None:
        super().__init__(
            "memcheck-sections",
            "prove the GC heap is in PSRAM and stack/data are internal",
            """\
Reads the firmware ELF and checks it against the board's memory map from the
devicetree: the GC heap (or the split-heap table) lies in the PSRAM window
0x90000000..0x907FFFFF, the stack and every .data/.bss-type section lie in
internal RAM, the vector table is at the start of flash, no sections overlap
and no region is over-full.

Exit status: 0 all rules hold, 1 a placement rule is broken, 2 the input
cannot be used.""",
        )

    def do_add_parser(self, parser_adder):
        parser = parser_adder.add_parser(self.name, help=self.help, description=self.description,
                                         formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
        memcheck.add_arguments(parser)
        return parser

    def do_run(self, args, unknown_args):
        try:
            code = memcheck.run(args.build_dir, args.elf, args.board, args.format)
        except USER_ERRORS as caught:
            e = as_h7(caught)
            self.die(str(e), exit_code=e.exit_code)
        if code:
            self.die("placement rules broken (report above)", exit_code=code)
