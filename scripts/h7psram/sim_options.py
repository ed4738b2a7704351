"""The simulator's options, declared once for every way of starting it: ``python -m h7psram.sim``
(all of them), ``west sim`` (all but the board and the ELFs, which come from a build) and
``west flash -r sim`` (the start options, next to the runners' own).

Outside the ``sim`` package on purpose: declaring them must not load unicorn.
"""

from __future__ import annotations

import argparse

#: more --fault values, whitespace-separated: reaches a simulator that a build system starts
#: (`H7PSRAM_SIM_FAULTS=absent west build -t run`, the twister 'custom' device type)
ENV_FAULTS = "H7PSRAM_SIM_FAULTS"


def add_start_options(parser: argparse.ArgumentParser) -> None:
    """--pty/--stdio, --fault and --max-seconds: what every way of starting the simulator takes
    (``python -m h7psram.sim``, ``west sim``, ``west flash -r sim``); ``start_argv`` gives them back."""
    io = parser.add_mutually_exclusive_group()
    io.add_argument("--pty", action="store_true",
                    help="REPL UART on a new pseudo-terminal; first stdout line is 'pty: PATH'")
    io.add_argument("--stdio", action="store_true", help="REPL UART on this terminal (the default)")
    parser.add_argument("--fault", action="append", default=[], metavar="F",
                        help="PSRAM fault: absent | wrong-id | bad-kgd | stuck-bit=N | short=A,B | "
                             f"narrow-write-zero (repeatable; ${ENV_FAULTS} adds whitespace-separated ones)")
    parser.add_argument("--max-seconds", type=float, metavar="S", help="stop after S seconds of simulated time")


def start_argv(args: argparse.Namespace, *, pty: bool | None = None) -> list[str]:
    """The options of ``add_start_options`` as a simulator command line (``pty`` overrides --pty)."""
    argv = ["--pty"] if (args.pty if pty is None else pty) else []
    if args.stdio:
        argv.append("--stdio")
    for fault in args.fault:
        argv += ["--fault", fault]
    if args.max_seconds is not None:
        argv += ["--max-seconds", f"{args.max_seconds:g}"]
    return argv


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Every option of a run but the board and the ELFs (``west sim`` takes those from a build)."""
    add_start_options(parser)
    p = parser
    p.add_argument("--uart", metavar="NAME", help="UART for the REPL instead of the board's (e.g. USART3)")
    p.add_argument("--uart-loopback", action="append", default=[], metavar="NAME",
                   help="wire this UART's TX to its own RX (e.g. USART2 or 2; repeatable), as a jumper "
                        "on the board would for MicroPython's target-wiring tests")
    p.add_argument("--cpu-hz", type=int, metavar="HZ", help="core clock for simulated time (default: board sysclk)")
    p.add_argument("--trace", action="store_true",
                   help="record the last executed blocks for fault reports (slower)")
    p.add_argument("--stats", action="store_true", help="print instructions and instructions/s at exit")
    p.add_argument("--fast-idle", action="store_true",
                   help="let WFI sleep run ahead of wall-clock time on the pty/terminal too")
    p.add_argument("--seed", type=int, default=0, help="seed of the RNG model (default 0)")
    p.add_argument("--flash-file", metavar="PATH",
                   help="keep the flash contents in PATH: loaded before the ELF if it exists, saved at exit")
    p.add_argument("--gdb", type=int, metavar="PORT",
                   help="start halted at reset with a GDB server on localhost:PORT (docs/debugging.md)")
    p.add_argument("--trace-ospi", metavar="FILE.vcd",
                   help="write the OSPI pins (NCS, CLK, IO0-IO3) as a VCD for PulseView/GTKWave/sigrok "
                        "('west sim-decode'); the PSRAM window runs through the burst model while tracing "
                        "(docs/debugging.md)")
    p.add_argument("--trace-limit", type=int, metavar="N",
                   help="stop the OSPI trace after N transactions (default 20000)")
    p.add_argument("--psram-exact", action="store_true",
                   help="model every PSRAM window access (D-cache, store buffer, command timing) even when "
                        "the configuration is safe: slower, but simulated time includes PSRAM traffic")
    p.add_argument("--hold-key", type=float, metavar="S",
                   help="hold the board's user key from power-on for S simulated seconds "
                        "(mboot's entry gesture: about 2 s selects its DFU mode)")
