"""Command line: python -m h7psram.dts.gen {linker,header,regions} --board B [-o FILE]

Writes one generated file for one board (stdout without -o). Errors are one
line on stderr with exit code 2 (H7Error.exit_code), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from h7psram.boards import Board, load_board
from h7psram.dts.header import c_header
from h7psram.dts.linker import HEAPS, VARIANTS, linker_script
from h7psram.dts.memory_maps import region_table, to_yaml
from h7psram.errors import H7Error, InputError
from h7psram.generated_file import write_if_changed

GENERATORS: dict[str, Callable[[Board, argparse.Namespace], str]] = {
    "linker": lambda board, args: linker_script(board, args.variant, args.heap),
    "header": lambda board, args: c_header(board),
    "regions": lambda board, args: to_yaml(
        region_table(board), f"memory regions of {board.name}, generated from {board.dts_path.name}"),
}


def generate(kind: str, board_name: str, *, variant: str = "micropython", heap: str = "split") -> str:
    """The text of one generated file (importable form of the command)."""
    if kind not in GENERATORS:
        raise InputError(f"unknown generator '{kind}' (known: {', '.join(GENERATORS)})")
    args = argparse.Namespace(variant=variant, heap=heap)
    return GENERATORS[kind](load_board(board_name), args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m h7psram.dts.gen", description=__doc__.splitlines()[0])
    p.add_argument("kind", choices=sorted(GENERATORS))
    p.add_argument("--board", "-b", required=True)
    p.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    p.add_argument("--variant", choices=VARIANTS, default="micropython", help="linker only")
    p.add_argument("--heap", choices=HEAPS, default="split", help="linker, micropython variant only")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        text = generate(args.kind, args.board, variant=args.variant, heap=args.heap)
        if args.output is None:
            sys.stdout.write(text)
        else:
            write_if_changed(args.output, text)
    except H7Error as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
