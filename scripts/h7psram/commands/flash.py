"""`west flash`: write a build to the board with the runner its runners.yaml names."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from west.commands import WestCommand

from h7psram import buildinfo
from h7psram.errors import as_h7, H7Error, USER_ERRORS
from h7psram.runners import core

DESCRIPTION = """\
Write the firmware of a build directory to a board. The runner (the tool that
does the writing) and its per-board options come from BUILD_DIR/runners.yaml,
written by 'west build'; -r picks another runner and options given here win
over the file's.

Runners:
  dfu-util  USB DFU (default): 'dfu-util -a 0 -D BUILD_DIR/firmware.dfu' to the
            STM32 ROM bootloader 0483:df11 (BOOT0 to 3V3, then plug USB in),
            then 'dfu-util -a 0 -s 0x08000000:leave' to start it
  openocd   SWD with NRST asserted during attach (stm32h7x target)
  pyocd     SWD with pyOCD, connect under reset (target stm32h7a3vitx)
  sim       run the ELF in the board simulator; exits with its status

As in Zephyr, options after '--' are runner options (e.g. '-- --board-id ID'
for pyocd, '-- --cmd-pre-init "hla_serial ID"' for openocd); raw arguments
for the tool itself go through --tool-opt. Every runner takes --elf-file,
--hex-file, --bin-file (the formats it can write), --erase (if it can) and
-i/--dev-id; -H shows each runner's capabilities.

Exit status: 0 written, 1 flashing failed or verify mismatch (the tool's
own status is in the message), 2 unusable input (missing build, bad .dfu,
tool not installed); 130/143 when Ctrl-C/SIGTERM stopped it: the signal is
passed on to the tool and west flash waits for it to end; with -r sim, the
simulator's own status (2 bad image, 3 the firmware died)."""


class Flash(WestCommand):
    def __init__(self) -> None:
        super().__init__(
            "flash",
            "write the build to the board (dfu-util, openocd, pyocd) or run it in the simulator",
            DESCRIPTION,
            accepts_unknown_args=True,
        )

    def do_add_parser(self, parser_adder):  # type: ignore[no-untyped-def]
        parser = parser_adder.add_parser(
            self.name,
            help=self.help,
            description=self.description,
            epilog=_runner_options_help(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("-d", "--build-dir", default="build", help="build directory (default: build)")
        parser.add_argument("-r", "--runner", help="runner to use instead of runners.yaml's flash-runner")
        parser.add_argument("-i", "--serial", "--dev-id", dest="serial", metavar="ID",
                            help="USB serial number of the DFU device or debug probe")
        rebuild = parser.add_mutually_exclusive_group()
        rebuild.add_argument("--rebuild", dest="rebuild", action="store_true", default=False,
                             help="run 'west build -d BUILD_DIR' first")
        rebuild.add_argument("--no-rebuild", "--skip-rebuild", dest="rebuild", action="store_false",
                             help="flash the build as it is (the default; --skip-rebuild is the older spelling)")
        parser.add_argument("--tool-opt", action="append", default=[], metavar="OPT",
                            help="argument appended to the tool's own command line (repeatable)")
        parser.add_argument("-H", "--context", action="store_true",
                            help="print the build's runners, their capabilities and options, then exit "
                                 "(with -r: that runner only)")
        return parser

    def do_run(self, args: argparse.Namespace, unknown_args: list[str]) -> None:
        runner_argv = _runner_options(unknown_args)
        tool_args = list(args.tool_opt)
        if args.context:
            self.inf(_context(Path(args.build_dir), args.runner), colorize=False)
            return
        try:
            build_dir = Path(args.build_dir)
            if args.rebuild:
                self._rebuild(build_dir)
            info = buildinfo.read_build_info(build_dir)
            board = _load_board(info.board)
            if (build_dir / buildinfo.RUNNERS_YAML).exists() or board is None:
                config = buildinfo.read_runners_yaml(build_dir)
            else:
                self.wrn(f"{build_dir / buildinfo.RUNNERS_YAML} missing: using the runners every board has")
                config = buildinfo.default_runners_config(board)
            runner_name = args.runner or config.flash_runner
            runner_cls = core.get_runner_class(runner_name)
            ctx = core.FlashContext(
                build=info,
                board=board,
                serial=args.serial,
                tool_args=tool_args,
                info=self.inf,
                warn=self.wrn,
            )
            runner = runner_cls.create(ctx, config.args_for(runner_name), runner_argv)
            self.banner(f"flashing {info.board} from {build_dir} with {runner_name}")
            runner.flash()
        except USER_ERRORS as caught:
            err = as_h7(caught)
            self.die(str(err), exit_code=err.exit_code)

    def _rebuild(self, build_dir: Path) -> None:
        build_cmd = Path(__file__).with_name("build.py")
        west = shutil.which("west")
        if not build_cmd.exists() or west is None:
            self.inf("no 'west build' command in this workspace: flashing the build as it is")
            return
        rc = subprocess.call([west, "build", "-d", str(build_dir)])
        if rc != 0:
            self.die(f"'west build -d {build_dir}' failed (exit {rc})", exit_code=rc)


def _runner_options(unknown: list[str]) -> list[str]:
    """Runner options, given before or after '--' (Zephyr puts them after it)."""
    return [word for i, word in enumerate(unknown) if not (word == "--" and i == unknown.index("--"))]


def _load_board(name: str) -> object:
    try:
        from h7psram.boards import load_board
    except ImportError:
        return None  # runners that need the flash bounds say so themselves
    return load_board(name)


def _runner_options_help() -> str:
    parts = []
    for name, cls in sorted(core.runner_classes().items()):
        body = cls.options_help()
        # argparse heads the list with its own "options:" line; the runner's heading replaces it.
        body = "\n".join(line for line in body.splitlines() if line.strip() != "options:")
        parts.append(f"{name} runner options ({cls.summary}):\n{body}" if body else f"{name}: no options")
    parts.append("options every runner takes (before or after '--'; -H shows which formats and\n"
                 "whether --erase each runner can do):\n" + core.common_options_help().split(":\n", 1)[-1])
    return "\n\n".join(parts) + "\n"


def _context(build_dir: Path, only: str | None) -> str:
    """What `west flash -H` prints: the build, its runners.yaml, and each runner's capabilities,
    runners.yaml arguments and options (Zephyr's --context)."""
    lines = []
    classes = core.runner_classes()
    config = None
    try:
        info = buildinfo.read_build_info(build_dir)
        lines.append(f"build directory {build_dir}: board {info.board}, outputs "
                     f"{', '.join(sorted(info.outputs))}")
        config = buildinfo.read_runners_yaml(build_dir)
        lines.append(f"runners.yaml: runners {', '.join(config.runners)}; flash-runner {config.flash_runner}")
    except H7Error as err:
        lines.append(f"no usable build ({err}); the runners of this workspace:")
    if only is not None and only not in classes:
        return "\n".join(lines + [f"unknown runner '{only}' (known: {', '.join(sorted(classes))})"])
    for name in [only] if only else sorted(classes):
        cls = classes[name]
        lines += ["", f"{name}: {cls.summary}", f"  capabilities: {cls.capabilities()}"]
        if config is not None:
            lines.append(f"  runners.yaml args: {' '.join(config.args_for(name)) or '(none)'}")
        lines += ["  " + line for line in cls.options_help().splitlines()]
    return "\n".join(lines)


def _split_passthrough(unknown: list[str]) -> tuple[list[str], list[str]]:
    """Runner options before '--', tool arguments after it (the debug commands' convention)."""
    if "--" in unknown:
        i = unknown.index("--")
        return unknown[:i], unknown[i + 1 :]
    return unknown, []
