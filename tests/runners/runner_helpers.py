"""Build a runner the way `west flash` does, with its messages and output collected."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from h7psram import buildinfo
from h7psram.runners.core import FlashContext, Runner


@dataclass
class Harness:
    runner: Runner
    infos: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    output: bytearray = field(default_factory=bytearray)


def make_runner(cls: type[Runner], build_dir: Path, board: Any, *, serial: str | None = None,
                cmdline: Sequence[str] = (), tool_args: Sequence[str] = ()) -> Harness:
    info = buildinfo.read_build_info(build_dir)
    config = buildinfo.read_runners_yaml(build_dir)
    h = Harness(runner=None)  # type: ignore[arg-type]
    ctx = FlashContext(build=info, board=board, serial=serial, tool_args=list(tool_args),
                       info=h.infos.append, warn=h.warnings.append, echo=h.output.extend)
    h.runner = cls.create(ctx, config.args_for(cls.name), list(cmdline))
    return h
