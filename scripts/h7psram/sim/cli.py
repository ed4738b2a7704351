"""`python -m h7psram.sim`: run an ELF on a simulated board (docs/architecture.md "Simulator command line").

Exit status: 0 when stopped (signal, --max-seconds, or the firmware idles
with no way to wake), 3 when the firmware died (report on stderr), 2 for
unusable input.
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
from pathlib import Path
from typing import Sequence

from ..errors import as_h7, InputError, USER_ERRORS
from ..sim_options import ENV_FAULTS, add_run_options

EXIT_DIED = 3


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m h7psram.sim",
                                description="Run STM32H7A3 firmware on the unicorn-based board simulator.")
    p.add_argument("--board", required=True, help="board name (see h7psram.boards.known_boards())")
    add_run_options(p)
    p.add_argument("-v", "--verbose", action="store_true", help="also log system resets and other events")
    p.add_argument("elf", nargs="+", metavar="ELF",
                   help="firmware ELF(s), loaded as a flasher would, in flashing order "
                        "(e.g. mboot.elf firmware.elf)")
    return p


def run(args: argparse.Namespace) -> int:
    """The exit status of one run of parsed options (``add_run_options`` plus ``board`` and
    ``elf``, a list); unusable input raises (USER_ERRORS) for the caller to word, as `west sim`
    does through its `die`."""
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="sim: %(message)s", stream=sys.stderr)
    return _run(args)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(build_parser().parse_args(argv))
    except USER_ERRORS as caught:
        err = as_h7(caught)
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code


def _hold_user_key(machine, board, seconds: float) -> None:
    """Press the user key now and let it go after ``seconds`` of simulated time."""
    key = board.user_key
    machine.gpio.set_input(key.port, key.pin, 1 if key.active_high else 0)
    machine.after_ns(int(seconds * 1e9), lambda: machine.gpio.release(key.port, key.pin))


def _check_options(args: argparse.Namespace) -> None:
    """Option values argparse accepts but the run cannot use; checked before anything runs, so
    e.g. an unwritable --flash-file does not lose a whole session's flash at exit."""
    for name in ("max_seconds", "hold_key"):
        value = getattr(args, name)
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise InputError(f"--{name.replace('_', '-')} {value}: must be a finite number of "
                             f"seconds, 0 or more")
    if args.cpu_hz is not None and args.cpu_hz <= 0:
        raise InputError(f"--cpu-hz {args.cpu_hz}: must be a positive clock frequency in Hz")
    if args.flash_file:
        path = Path(args.flash_file)
        folder = path.parent
        if path.is_dir():
            raise InputError(f"{path}: --flash-file is a directory")
        if not folder.is_dir():
            raise InputError(f"{path}: --flash-file folder {folder} does not exist")
        if not os.access(path if path.exists() else folder, os.W_OK):
            raise InputError(f"{path}: --flash-file cannot be written (permission denied)")


def _run(args: argparse.Namespace) -> int:
    from .machine import Machine

    _check_options(args)

    if args.trace_limit is not None and not args.trace_ospi:
        raise InputError("--trace-limit needs --trace-ospi FILE.vcd")
    try:
        from ..boards import load_board
    except ImportError as err:
        raise InputError(f"board descriptions are not available ({err})") from None
    board = load_board(args.board)
    faults = None
    fault_args = list(args.fault) + os.environ.get(ENV_FAULTS, "").split()
    if fault_args:
        from .psram_faults import PsramFaults
        faults = PsramFaults.from_cli(fault_args)
    mode = "pty" if args.pty else "stdio"
    machine = Machine(board, psram_faults=faults, uart=mode, cpu_hz=args.cpu_hz, uart_name=args.uart,
                      trace=args.trace, idle_sync=False if args.fast_idle else None, seed=args.seed)
    from .usart import usart_name
    for spec in args.uart_loopback:
        machine.usarts[usart_name(spec, machine.usarts)].loopback = True
    octospi = machine.peripherals.get("OCTOSPI1")
    if args.psram_exact and octospi is not None:
        octospi.exact = True
    if args.flash_file and os.path.exists(args.flash_file):
        machine.load_flash_image(args.flash_file)
    for elf in args.elf:
        machine.load_elf(elf)
    machine.check_boot_image()
    if args.hold_key is not None:
        _hold_user_key(machine, board, args.hold_key)
    ospi_trace = None
    if args.trace_ospi:
        from .ospi_trace import DEFAULT_LIMIT, OspiTrace
        ospi_trace = OspiTrace(machine, args.trace_ospi, DEFAULT_LIMIT if args.trace_limit is None else args.trace_limit)

    def _stop(signum, frame) -> None:
        machine._stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        if machine.uart.pty_path:
            print(f"pty: {machine.uart.pty_path}", flush=True)
            # The board "powers up" when a client opens the port, so it sees the first output;
            # under GDB it starts when GDB says so.
            if args.gdb is None and not machine.uart.wait_for_client(machine._stop):
                return 0
        if args.gdb is not None:
            from .gdbstub import GdbServer
            if GdbServer(machine, args.gdb).serve() != "detached":
                return 0
        result = machine.run(max_seconds=args.max_seconds)
    finally:
        if ospi_trace is not None:
            ospi_trace.close()
        machine.close()
        if args.flash_file:
            machine.save_flash_image(args.flash_file)
    # which image the core ended in (mboot's DFU loop or the application), for tests and users
    logging.getLogger("h7psram.sim").info("run ended (%s) at pc 0x%08x", result.reason, result.pc)
    if args.stats:
        rate = result.instructions / result.wall_s if result.wall_s > 0 else 0.0
        print(f"sim: {result.instructions} instructions, {result.sim_ns / 1e9:.3f} s simulated, "
              f"{result.wall_s:.3f} s wall, {rate / 1e6:.1f} M instr/s", file=sys.stderr)
    if result.fault is not None:
        print(result.fault.format(), file=sys.stderr)
        return EXIT_DIED
    return 0
