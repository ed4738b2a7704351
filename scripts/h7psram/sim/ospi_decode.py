"""Decode an OSPI trace (VCD of NCS, CLK, IO0-IO3) into PSRAM commands and flag hazards on the wire.

`west sim-decode FILE.vcd` or `python -m h7psram.sim.ospi_decode FILE.vcd`
(docs/debugging.md). Reads what `west sim --trace-ospi` writes, and any VCD
with one-bit signals named ncs, clk and io0-io3 (e.g. a capture exported from
PulseView with its channels renamed). Samples IO on each rising CLK edge
while NCS is low and decodes the cycles with the chip's own truth table
(sim/psram.py), following its SPI/QPI mode through enter/exit-QPI and reset,
as the chip would. Per transaction: instruction, address, dummy cycles, data
bytes, NCS low time. Hazards: a read or write burst that runs over the end of
a page (1 KiB on these parts), NCS low longer than tCEM, NCS high shorter than
tCPH, a data phase that stops inside a byte. The limits come from the board's
devicetree PSRAM node (the board is named in the trace's comment, or --board).

Exit status: 0 no hazard, 1 hazards found, 2 unusable input.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Sequence

from ..errors import H7Error, InputError
from .ospi_trace import SIGNALS
from .psram import (ENTER_QPI, EXIT_QPI, RESET, RESET_ENABLE, PsramPart, command_for, cycles_per_byte,
                    part_for_board, sample)

_UNIT_NS = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0, "ps": 1e-3, "fs": 1e-6}


@dataclass
class Capture:
    """One NCS-low period: the IO nibble sampled at each rising CLK edge."""

    start_ns: float
    end_ns: float = 0.0
    nibbles: list[int] = field(default_factory=list)


@dataclass
class Transaction:
    capture: Capture
    qpi: bool
    opcode: int | None = None
    name: str = ""
    address: int | None = None
    dummy: int = 0
    kind: str = ""
    data: bytes = b""
    note: str = ""
    hazards: list[str] = field(default_factory=list)

    @property
    def ncs_low_ns(self) -> float:
        return self.capture.end_ns - self.capture.start_ns


def read_captures(path: str) -> tuple[str, list[Capture]]:
    """(the VCD's comment, the NCS-low periods) of the trace at `path`.

    pyvcd's tokenizer reads the declarations; the value changes, millions of
    short tokens, are split here, which is about ten times faster.
    """
    try:
        with open(path, "rb") as stream:
            text = stream.read()
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    end = text.find(b"$enddefinitions")
    if end < 0:
        raise InputError(f"{path}: no $enddefinitions (not a VCD?)")
    close = text.find(b"$end", end + len(b"$enddefinitions"))
    close = len(text) if close < 0 else close + len(b"$end")
    try:
        comment, unit_ns, ids = _declarations(path, text[:close])
        body = text[close:].decode("ascii")
    except (ValueError, KeyError, UnicodeDecodeError) as err:    # what pyvcd and the decoder raise
        raise InputError(f"{path}: not a readable VCD ({err})") from None
    return comment, _captures(path, body, unit_ns, ids)


def _declarations(path: str, header: bytes) -> tuple[str, float, dict[str, int]]:
    import io

    from vcd.reader import TokenKind, tokenize

    comment = ""
    unit_ns = 1.0
    ids: dict[str, int] = {}           # id code -> index in SIGNALS
    for token in tokenize(io.BytesIO(header)):
        k = token.kind
        if k is TokenKind.VAR:
            ref = token.data.reference.lower()
            if ref in SIGNALS and token.data.size == 1:
                ids[token.data.id_code] = SIGNALS.index(ref)
        elif k is TokenKind.TIMESCALE:
            magnitude = token.data.magnitude   # an int or, in older pyvcd, an enum
            unit_ns = int(getattr(magnitude, "value", magnitude)) * _UNIT_NS[token.data.unit.value]
        elif k is TokenKind.COMMENT:
            comment += token.data + " "
    missing = [s for i, s in enumerate(SIGNALS) if i not in ids.values()]
    if missing:
        raise InputError(f"{path}: no one-bit signal named {', '.join(missing)}")
    return comment, unit_ns, ids


def _captures(path: str, body: str, unit_ns: float, ids: dict[str, int]) -> list[Capture]:
    value = [1, 0, 1, 1, 1, 1]         # ncs, clk, io0..io3 as the trace starts
    captures: list[Capture] = []
    current: Capture | None = None
    now = 0
    pending: list[tuple[int, int]] = []

    def settle() -> None:
        # all changes of one timestamp first, then the edges they make
        nonlocal current
        old_ncs, old_clk = value[0], value[1]
        for index, v in pending:
            value[index] = v
        pending.clear()
        if old_ncs and not value[0]:
            current = Capture(now * unit_ns)
        elif current is not None and not old_ncs and value[0]:
            current.end_ns = now * unit_ns
            captures.append(current)
            current = None
        if current is not None and not old_clk and value[1]:
            current.nibbles.append(value[2] | value[3] << 1 | value[4] << 2 | value[5] << 3)

    words = iter(body.split())
    for word in words:
        first = word[0]
        if first in "01xzXZ":
            index = ids.get(word[1:])
            if index is not None:
                pending.append((index, 1 if first == "1" else 0))
        elif first == "#":
            if pending:
                settle()
            now = int(word[1:])
        elif first in "bBrR":
            next(words, None)          # a vector or real change: not one of our signals
        elif first != "$":
            raise ValueError(f"unexpected {word!r} among the value changes")
    if pending:
        settle()
    return captures


def _bits(nibbles: list[int], line: int) -> int:
    acc = 0
    for nib in nibbles:
        acc = (acc << 1) | ((nib >> line) & 1)
    return acc


def _value(nibbles: list[int], lines: int) -> int:
    if lines == 1:
        return _bits(nibbles, 0)
    acc = 0
    for nib in nibbles:
        acc = (acc << lines) | (nib & ((1 << lines) - 1))
    return acc


class Decoder:
    """The chip's view of a sequence of captures, with its mode carried from one to the next."""

    def __init__(self, part: PsramPart, qpi: bool = False) -> None:
        self.part = part
        self.qpi = qpi
        self.reset_enabled = False
        self.last_end_ns: float | None = None

    def decode(self, cap: Capture) -> Transaction:
        t = Transaction(cap, self.qpi)
        part = self.part
        nib = cap.nibbles
        width = 4 if self.qpi else 1
        icycles = 8 // width
        if self.last_end_ns is not None and cap.start_ns - self.last_end_ns < part.tcph_ns - 0.1:
            t.hazards.append(f"NCS high {cap.start_ns - self.last_end_ns:.1f} ns before it, "
                             f"tCPH min {part.tcph_ns} ns")
        self.last_end_ns = cap.end_ns
        if cap.end_ns - cap.start_ns > part.tcem_ns:
            t.hazards.append(f"NCS low {(cap.end_ns - cap.start_ns) / 1000:.2f} us > tCEM "
                             f"{part.tcem_ns / 1000:.2f} us (refresh blocked, data lost)")
        enabled, self.reset_enabled = self.reset_enabled, False
        if len(nib) < icycles:
            t.note = f"{len(nib)} cycles: no complete {'QPI' if self.qpi else 'SPI'} instruction, ignored by the chip"
            return t
        t.opcode = _value(nib[:icycles], width)
        cmd = command_for(part, t.opcode, self.qpi)
        if cmd is None:
            t.note = f"opcode not accepted in {'QPI' if self.qpi else 'SPI'} mode, {len(nib)} cycles"
            return t
        t.name, t.kind = cmd.name, cmd.kind
        pos = icycles
        if cmd.addr_lines:
            acycles = 24 // cmd.addr_lines
            if len(nib) < pos + acycles:
                t.note = f"address cut short after {len(nib) - pos} cycles"
                return t
            t.address = _value(nib[pos:pos + acycles], cmd.addr_lines)
            pos += acycles
            t.dummy = min(cmd.wait, len(nib) - pos)
            pos += t.dummy
        rest = nib[pos:]
        if cmd.data_lines and rest:
            lines = cmd.data_lines
            whole = len(rest) // cycles_per_byte(lines) * cycles_per_byte(lines)
            if cmd.kind == "write" and lines == 1:
                t.data = _value(rest[:whole], 1).to_bytes(whole // 8, "big") if whole else b""
            else:
                t.data = sample(rest[:whole], lines)
            if whole != len(rest):
                t.hazards.append(f"data phase ends {len(rest) - whole} cycles into a byte "
                                 "(wrong dummy cycles or line count?)")
            if cmd.kind in ("read", "write") and t.address is not None:
                page = part.page_size
                into = t.address % page
                if into + len(t.data) > page:
                    boundary = t.address - into + page
                    t.hazards.append(f"{len(t.data)}-byte burst from 0x{t.address:06x} crosses the "
                                     f"{page // 1024 if page >= 1024 else page}{' KiB' if page >= 1024 else ' B'} "
                                     f"page boundary at 0x{boundary:06x}")
        elif not cmd.data_lines and rest:
            t.note = f"{len(rest)} extra cycles after the command"
        if not rest or not cmd.data_lines:
            self._mode_change(t.opcode, enabled)
        return t

    def _mode_change(self, opcode: int, enabled: bool) -> None:
        if opcode == ENTER_QPI:
            self.qpi = True
        elif opcode == EXIT_QPI:
            self.qpi = False
        elif opcode == RESET_ENABLE:
            self.reset_enabled = True
        elif opcode == RESET and enabled:
            self.qpi = False


def format_transaction(index: int, t: Transaction, max_bytes: int) -> list[str]:
    cap = t.capture
    head = f"#{index:<6d} {cap.start_ns / 1000:12.3f} us  {'QPI' if t.qpi else 'SPI'}"
    if t.opcode is None:
        body = t.note
    else:
        body = f"0x{t.opcode:02X} {t.name or '?'}"
        if t.address is not None:
            body += f"  addr 0x{t.address:06X}  dummy {t.dummy}"
        if t.data:
            shown = " ".join(f"{b:02x}" for b in t.data[:max_bytes])
            more = f" (+{len(t.data) - max_bytes})" if len(t.data) > max_bytes else ""
            body += f"  {len(t.data)} B {'out' if t.kind == 'write' else 'in'}: {shown}{more}"
        if t.note:
            body += f"  ({t.note})"
    lines = [f"{head}  {body}  NCS low {t.ncs_low_ns:.1f} ns"]
    lines += [f"        HAZARD: {h}" for h in t.hazards]
    return lines


def _board_part(comment: str, board: str | None, path: str) -> tuple[str, PsramPart, bool]:
    m = re.search(r"\bboard=(\S+)", comment)
    name = board or (m.group(1) if m else None)
    if name is None:
        raise InputError(f"{path}: the trace names no board; pass --board")
    from ..boards import load_board
    part = part_for_board(load_board(name).psram)
    q = re.search(r"\bqpi=([01])\b", comment)
    return name, part, bool(q and q.group(1) == "1")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("vcd", metavar="FILE.vcd", help="trace from 'west sim --trace-ospi' or a logic analyser")
    p.add_argument("--board", help="board whose devicetree PSRAM node gives tCEM, tCPH and the page size "
                                   "(default: the one named in the trace)")
    p.add_argument("--bytes", type=int, default=16, metavar="N", help="data bytes shown per transaction (default 16)")
    p.add_argument("--hazards-only", action="store_true", help="print only the transactions with a hazard")


def decode_file(args: argparse.Namespace, out=None) -> int:  # type: ignore[no-untyped-def]
    """Print the transactions of `args.vcd`; returns the number of hazards. InputError for a bad file."""
    out = out or sys.stdout
    comment, captures = read_captures(args.vcd)
    board, part, qpi = _board_part(comment, args.board, args.vcd)
    decoder = Decoder(part, qpi)
    hazards = 0
    for index, cap in enumerate(captures):
        t = decoder.decode(cap)
        hazards += len(t.hazards)
        if t.hazards or not args.hazards_only:
            print("\n".join(format_transaction(index, t, args.bytes)), file=out)
    print(f"{len(captures)} transactions, {hazards} hazards ({board}: {part.name}, tCEM {part.tcem_ns} ns, "
          f"tCPH {part.tcph_ns} ns, page {part.page_size} B)", file=out)
    return hazards


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m h7psram.sim.ospi_decode",
                                description="Decode an OSPI trace (VCD) into PSRAM commands and flag hazards.")
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return 1 if decode_file(args) else 0
    except H7Error as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:
        # the reader (e.g. head) has seen enough; say nothing more at exit either
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
