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
import os
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
from h7psram.dfuse import flash_of
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
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        # A tool killed by signal N reports -N; shells report that as 128 + N.
        self.exit_code = exit_code if exit_code > 0 else (128 - exit_code if exit_code < 0 else 1)


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
        return parser

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
        return cls(ctx, cls.parse_options(from_yaml, from_command_line))

    @classmethod
    def options_help(cls) -> str:
        text = cls.option_parser().format_help()
        # Drop argparse's "usage:" paragraph; only the option list is useful here.
        body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
        return body.strip()

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
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        except FileNotFoundError:
            raise ToolNotFound(argv[0], self.install_hint) from None
        except PermissionError:
            raise FlashFailed(f"{argv[0]}: not executable") from None
        tail = bytearray()
        assert proc.stdout is not None
        try:
            while True:
                chunk = proc.stdout.read1(4096)  # type: ignore[attr-defined]
                if not chunk:
                    break
                self.ctx.write_output(chunk)
                tail += chunk
                if len(tail) > _TAIL_BYTES:
                    del tail[:-_TAIL_BYTES]
            rc = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            raise ToolFailed(f"{Path(argv[0]).name}: interrupted", 130) from None
        return ToolResult(rc, tail.decode(errors="replace"))

    def run_foreground(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> int:
        """Run ``argv`` on this terminal (stdin included) and return its exit status."""
        argv = [str(a) for a in argv]
        try:
            proc = subprocess.Popen(argv, env=env)
        except FileNotFoundError:
            raise ToolNotFound(argv[0], self.install_hint) from None

        # A SIGTERM meant for `west flash` must reach the child too, or it would outlive us.
        def forward(signum: int, frame: object) -> None:
            proc.send_signal(signum)

        try:
            previous = signal.signal(signal.SIGTERM, forward)
        except ValueError:  # not the main thread: signals stay where they are
            previous = None
        try:
            while True:
                try:
                    return proc.wait()
                except KeyboardInterrupt:
                    # The child got the same SIGINT and ends on its own; wait for its status.
                    continue
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def check_verify(self, result: ToolResult, what: str) -> None:
        """Raise VerifyMismatch if the tool's output reports a failed verification."""
        line = result.last_line(r"(?i)verif\w* fail|verify mismatch|contents differ")
        if line:
            detail = result.last_line(r"(?i)diff \d+ address|mismatch at|was 0x[0-9a-f]+ instead")
            extra = f" ({detail})" if detail else ""
            raise VerifyMismatch(f"{self.program}: flash verify mismatch after writing {what}{extra}")

    def env_with_package_path(self) -> dict[str, str]:
        """The environment with this package importable (for `python -m h7psram...`)."""
        env = dict(os.environ)
        pkg_parent = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH", "")) if p)
        return env
