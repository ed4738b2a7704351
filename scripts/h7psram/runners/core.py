"""What every flash runner shares: the registry, the build context, tool lookup and
running a tool with its output passed through.

A runner is one class per tool (``dfu_util.py``, ``openocd.py``, ...). It names
the executable it needs and the package that provides it, declares its options
(their per-board defaults come from ``runners.yaml``), and builds the tool's
command as a list of arguments: nothing goes through a shell.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shutil
import signal
import subprocess
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

from h7psram.buildinfo import BuildInfo
from h7psram.dfuse import dfuse_from_elf, flash_of
from h7psram.errors import CheckFailed, H7Error, InputError

# Modules holding one runner each; imported on first use so `west flash -h` stays fast.
_RUNNER_MODULES = ("dfu_util", "openocd", "pyocd", "sim")
_REGISTRY: dict[str, type["Runner"]] = {}

# How much of a tool's output is kept for diagnosing a failure.
_TAIL_BYTES = 64 * 1024


class FlashFailed(H7Error):
    """Flashing did not happen or did not succeed."""

    exit_code = 1


class ToolNotFound(InputError):
    def __init__(self, program: str, install_hint: str) -> None:
        super().__init__(f"{program} not found: install it with '{install_hint}'")


class ToolFailed(FlashFailed):
    """The tool ran and failed. Its own status goes into the message; the exit code stays
    in the documented contract (1), since tools use codes that mean other things to a
    caller (dfu-util's 74 is sysexits' EX_IOERR, not "bad input")."""

    def __init__(self, message: str, status: int | None = None, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.exit_code = exit_code


class Interrupted(FlashFailed):
    """SIGINT/SIGTERM reached us while a tool ran: it was passed on and the tool waited for."""

    def __init__(self, tool: str, signum: int, status: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(f"{tool}: stopped by {name} (passed on to it; it exited with status "
                         f"{status}); the flash may be partly written, flash again")
        self.exit_code = 128 + signum    # what a shell reports for a command ended by the signal


class _PassSignalsOn:
    """While active, SIGINT/SIGTERM (as chosen) are sent on to ``proc`` instead of ending us,
    so the tool can stop cleanly and we can still read its output (without a reader it
    would die of SIGPIPE mid-write). Outside the main thread signals stay untouched."""

    def __init__(self, signums: Sequence[int]) -> None:
        self.proc: subprocess.Popen | None = None
        self.signums = tuple(signums)
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def attach(self, proc: subprocess.Popen) -> subprocess.Popen:
        """The child to pass signals to; one that came while it was starting goes to it now."""
        self.proc = proc
        for signum in self.received[:1]:
            proc.send_signal(signum)
        return proc

    def __enter__(self) -> "_PassSignalsOn":
        for signum in self.signums:
            try:
                self._previous[signum] = signal.signal(signum, self._handler)
            except ValueError:   # not the main thread
                break
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


class VerifyMismatch(CheckFailed):
    """The flash contents read back differ from the image."""


def register(cls: type["Runner"]) -> type["Runner"]:
    _REGISTRY[cls.name] = cls
    return cls


def runner_classes() -> dict[str, type["Runner"]]:
    for mod in _RUNNER_MODULES:
        importlib.import_module(f"h7psram.runners.{mod}")
    return dict(_REGISTRY)


def get_runner_class(name: str) -> type["Runner"]:
    classes = runner_classes()
    if name not in classes:
        raise InputError(f"unknown runner '{name}' (known: {', '.join(sorted(classes))})")
    return classes[name]


@dataclass
class FlashContext:
    """Everything a runner knows about the build it flashes."""

    build: BuildInfo
    board: Any = None  # h7psram.boards.Board, when its description could be loaded
    serial: str | None = None
    tool_args: list[str] = field(default_factory=list)  # after `--`: appended to the tool's command
    info: Callable[[str], None] = print
    warn: Callable[[str], None] = lambda msg: print(f"WARNING: {msg}", file=sys.stderr)
    echo: Callable[[bytes], None] | None = None  # receives the tool's output as it comes

    def flash_region(self) -> Any:
        """The board's internal flash (a ``Region`` of kind "flash")."""
        if self.board is None:
            raise InputError(f"board {self.build.board}: no board description loaded, flash bounds unknown")
        return flash_of(self.board)

    def write_output(self, chunk: bytes) -> None:
        if self.echo is not None:
            self.echo(chunk)
            return
        out = getattr(sys.stdout, "buffer", None)
        if out is not None:
            sys.stdout.flush()
            out.write(chunk)
            out.flush()
        else:
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()


class _RaisingParser(argparse.ArgumentParser):
    """argparse that reports a bad option as an InputError instead of exiting."""

    source = "options"

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise InputError(f"{self.prog}: {self.source}: {message}")


#: the files Zephyr's west flash takes on its command line (--hex-file, --bin-file, --elf-file)
COMMON_FILE_TYPES = ("hex", "bin", "elf")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Options every runner takes, given before or after '--' (Zephyr's common runner options)."""
    group = parser.add_argument_group("common to all runners")
    group.add_argument("--elf-file", "--elf", dest="elf_file", metavar="FILE",
                       help="write this ELF instead of the build's")
    group.add_argument("--hex-file", metavar="FILE", help="write this Intel HEX file instead of the build's")
    group.add_argument("--bin-file", metavar="FILE",
                       help="write this raw binary instead of the build's (at the ELF's load address)")
    group.add_argument("--erase", action="store_true",
                       help="erase the whole flash before writing (runners that can)")
    group.add_argument("-i", "--dev-id", dest="dev_id", metavar="ID",
                       help="as west flash -i: the probe or DFU device to use (Zephyr's runners take it after '--')")


def common_options_help() -> str:
    parser = _RaisingParser(prog="west flash", add_help=False, allow_abbrev=False)
    add_common_options(parser)
    return _option_list(parser)


def _option_list(parser: argparse.ArgumentParser) -> str:
    # Drop argparse's "usage:" paragraph; only the option list is useful here.
    text = parser.format_help()
    body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    return body.strip()


@dataclass
class ToolResult:
    returncode: int
    output: str  # the last part of stdout+stderr, for diagnosis

    def last_line(self, pattern: str) -> str | None:
        """The last output line matching the regular expression ``pattern``."""
        found = None
        for line in re.split(r"[\r\n]+", self.output):
            if re.search(pattern, line):
                found = line.strip()
        return found


class Runner(ABC):
    name: ClassVar[str]
    program: ClassVar[str]  # the executable looked up on PATH
    install_hint: ClassVar[str]  # the command that installs it, e.g. "apt install dfu-util"
    summary: ClassVar[str] = ""
    # What the runner can do, as Zephyr's RunnerCaps: "flash", and for GDB servers
    # "debug", "debugserver", "attach" (runners/gdb.py).
    commands: ClassVar[frozenset[str]] = frozenset({"flash"})
    # Image formats the runner writes, the first one by default (--hex-file etc. pick
    # another); and whether it can erase the whole flash first (--erase).
    file_types: ClassVar[tuple[str, ...]] = ("elf",)
    erase: ClassVar[bool] = False
    # What -i/--dev-id selects for this runner (empty: nothing).
    dev_id: ClassVar[str] = ""

    def __init__(self, ctx: FlashContext, options: argparse.Namespace) -> None:
        self.ctx = ctx
        self.options = options

    # ---------------------------------------------------------------- options

    @classmethod
    def add_options(cls, parser: argparse.ArgumentParser) -> None:
        """Add this runner's own options (names must not clash with west flash's)."""

    @classmethod
    def option_parser(cls) -> _RaisingParser:
        parser = _RaisingParser(prog=f"west flash -r {cls.name}", add_help=False, allow_abbrev=False)
        cls.add_options(parser)
        add_common_options(parser)
        return parser

    @classmethod
    def capabilities(cls) -> str:
        """One line in the shape of Zephyr's RunnerCaps, for `west flash -H`."""
        return (f"commands={sorted(cls.commands)}, dev_id={'yes (' + cls.dev_id + ')' if cls.dev_id else 'no'}, "
                f"erase={'yes' if cls.erase else 'no'}, files={list(cls.file_types)}")

    def image(self) -> tuple[str, Path]:
        """(format, path) of what to write: a --hex-file/--bin-file/--elf-file this runner can
        write (in its order of preference), else the build's output of its first format."""
        given = {kind: Path(getattr(self.options, f"{kind}_file")) for kind in COMMON_FILE_TYPES
                 if getattr(self.options, f"{kind}_file", None)}
        if given:
            usable = [kind for kind in self.file_types if kind in given]
            if not usable:
                raise InputError(f"runner '{self.name}' cannot write {' or '.join(given)} files (it writes "
                                 f"{', '.join(self.file_types)}); drop "
                                 f"{', '.join(f'--{kind}-file' for kind in given)}")
            kind = usable[0]
            path = given[kind]
        else:
            kind = self.file_types[0]
            path = self.ctx.build.output(kind)
        if not path.is_file():
            raise InputError(f"{path}: no such file" + ("" if given else " (run 'west build' first)"))
        return kind, path

    def load_address(self) -> int:
        """Where a raw binary goes: the build ELF's first load address (after mboot in an
        mboot build), else the start of the board's flash."""
        elf = self.ctx.build.elf if self.ctx.build.has_output("elf") else None
        if elf is not None and elf.is_file():
            ranges = dfuse_from_elf(elf)
            if ranges:
                return ranges[0][0]
        return self.ctx.flash_region().start

    def check_erase(self) -> None:
        if getattr(self.options, "erase", False) and not self.erase:
            able = sorted(name for name, cls in runner_classes().items() if cls.erase)
            raise InputError(f"runner '{self.name}' cannot erase the flash (--erase; runners that can: "
                             f"{', '.join(able)})")

    @classmethod
    def parse_options(cls, from_yaml: Sequence[str], from_command_line: Sequence[str]) -> argparse.Namespace:
        """Options from runners.yaml, then the command line on top (the last one wins)."""
        parser = cls.option_parser()
        parser.source = "runners.yaml args"
        ns = parser.parse_args(list(from_yaml))
        parser.source = "command line"
        return parser.parse_args(list(from_command_line), namespace=ns)

    @classmethod
    def create(cls, ctx: FlashContext, from_yaml: Sequence[str] = (), from_command_line: Sequence[str] = ()) -> "Runner":
        options = cls.parse_options(from_yaml, from_command_line)
        if options.dev_id:
            ctx.serial = options.dev_id
        return cls(ctx, options)

    @classmethod
    def options_help(cls) -> str:
        """The runner's own options (the common ones are in ``common_options_help``)."""
        parser = _RaisingParser(prog=f"west flash -r {cls.name}", add_help=False, allow_abbrev=False)
        cls.add_options(parser)
        return _option_list(parser)

    # -------------------------------------------------------------- execution

    @abstractmethod
    def flash(self) -> None:
        """Write the build to the board; raise an H7Error on any failure."""

    def debug(self, command: str) -> None:
        """Run ``command`` (debug, debugserver, attach); only GDB-server runners can."""
        able = sorted(name for name, cls in runner_classes().items() if command in cls.commands)
        raise InputError(f"runner '{self.name}' cannot {command} (runners that can: {', '.join(able)})")

    def require(self, program: str | None = None, hint: str | None = None) -> str:
        """The full path of ``program`` on PATH, or ToolNotFound naming its package."""
        program = program or self.program
        found = shutil.which(program)
        if found is None:
            raise ToolNotFound(program, hint or self.install_hint)
        return found

    def run_tool(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> ToolResult:
        """Run ``argv``, passing its output through as it comes (progress included)."""
        argv = [str(a) for a in argv]
        # Handlers go in before the child starts, so no signal can fall between the two.
        with _PassSignalsOn((signal.SIGINT, signal.SIGTERM)) as signals:
            try:
                proc = signals.attach(subprocess.Popen(argv, stdout=subprocess.PIPE,
                                                       stderr=subprocess.STDOUT, env=env))
            except FileNotFoundError:
                raise ToolNotFound(argv[0], self.install_hint) from None
            except PermissionError:
                raise FlashFailed(f"{argv[0]}: not executable") from None
            tail = bytearray()
            assert proc.stdout is not None
            while True:
                chunk = proc.stdout.read1(4096)  # type: ignore[attr-defined]
                if not chunk:
                    break
                try:
                    self.ctx.write_output(chunk)
                except OSError:   # our own stdout went away: keep draining the tool regardless
                    pass
                tail += chunk
                if len(tail) > _TAIL_BYTES:
                    del tail[:-_TAIL_BYTES]
            rc = proc.wait()
        if signals.received:
            raise Interrupted(Path(argv[0]).name, signals.received[0], rc)
        return ToolResult(rc, tail.decode(errors="replace"))

    def run_foreground(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> int:
        """Run ``argv`` on this terminal (stdin included) and return its exit status."""
        argv = [str(a) for a in argv]
        try:
            proc = subprocess.Popen(argv, env=env)
        except FileNotFoundError:
            raise ToolNotFound(argv[0], self.install_hint) from None

        # A SIGTERM meant for `west flash` must reach the child too, or it would outlive us.
        # SIGINT is not passed on: the child shares this terminal and gets Ctrl-C itself
        # (GDB uses it to halt the target, so a second one would be wrong).
        with _PassSignalsOn((signal.SIGTERM,)) as signals:
            signals.attach(proc)
            while True:
                try:
                    return proc.wait()
                except KeyboardInterrupt:
                    # The child got the same SIGINT and ends on its own; wait for its status.
                    continue

    def check_verify(self, result: ToolResult, what: str) -> None:
        """Raise VerifyMismatch if the tool's output reports a failed verification."""
        line = result.last_line(r"(?i)verif\w* fail|verify mismatch|contents differ")
        if line:
            detail = result.last_line(r"(?i)diff \d+ address|mismatch at|was 0x[0-9a-f]+ instead")
            extra = f" ({detail})" if detail else ""
            raise VerifyMismatch(f"{self.program}: flash verify mismatch after writing {what}{extra}")
