"""`west build`: configure and build the MicroPython firmware for a board, Zephyr style."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
from pathlib import Path
from typing import Optional

from west.commands import WestCommand

from h7psram import build
from h7psram.errors import as_h7, H7Error, USER_ERRORS

DESCRIPTION = """\
Build MicroPython for one of this workspace's boards. The first run
configures BUILD_DIR with CMake (the board and the app are remembered in its
CMakeCache.txt); later runs rebuild only what changed. CMake runs
MicroPython's own make for ports/stm32 with BOARD_DIR=boards/<board>, the
stm32lib of this workspace, and everything written below BUILD_DIR; the
linker script and board header are generated from the devicetree.

The linked ELF is checked with memcheck (heap in PSRAM, stack and data in
internal RAM) before firmware.elf/.bin/.hex/.dfu, build_info.yml and
runners.yaml are put in BUILD_DIR; a failed build or a failed check leaves
the previous firmware there.

-p auto (default) starts afresh when the board or app differs from the
build directory's; -p always starts afresh; -p never refuses such a change.
Starting afresh empties only a directory west build made (it holds
.h7psram-build-dir), never one holding the source tree or the workspace,
and keeps firmware.*, build_info.yml and runners.yaml until a new build
replaces them.
-t run builds, then runs the firmware on the board simulator.
Arguments after -- go to cmake's configure step (e.g. -DH7PSRAM_HEAP=single),
after any --cmake-opt ones; either makes cmake run again.

The board, as in Zephyr: -b, else the one BUILD_DIR was configured for, else
the BOARD environment variable, else 'west config build.board'.
-o OPT goes to MicroPython's make (-o V=1, -o DEBUG=1, -o USER_C_MODULES=DIR;
a relative USER_C_MODULES or FROZEN_MANIFEST is taken from the current
directory); -j N sets its parallel jobs. MicroPython's make does not notice a
changed DEBUG= or USER_C_MODULES=: build such a change with -p.
-n prints the commands and runs nothing.

Exit status: 0 built, 1 memcheck found a broken placement or the build
failed, 2 unusable input (unknown board, missing workspace)."""


class Build(WestCommand):
    def __init__(self) -> None:
        super().__init__("build", "build MicroPython firmware for a board", DESCRIPTION,
                         accepts_unknown_args=False)

    def do_add_parser(self, parser_adder):  # type: ignore[no-untyped-def]
        parser = parser_adder.add_parser(self.name, help=self.help, description=self.description,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("-b", "--board",
                            help="board (default: the one BUILD_DIR was built for, else $BOARD, else "
                                 "'west config build.board')")
        parser.add_argument("-d", "--build-dir", default=build.DEFAULT_BUILD_DIR,
                            help="build directory (default: build)")
        parser.add_argument("-p", "--pristine", nargs="?", const="always", default="auto",
                            choices=build.PRISTINE_MODES,
                            help="start from an empty build directory: auto (default), always "
                                 "(also plain -p), never")
        parser.add_argument("-t", "--target",
                            help="CMake target to build instead of the firmware (run: the "
                                 "simulator)")
        group = parser.add_argument_group("cmake and build tool (Zephyr's spellings)")
        group.add_argument("-c", "--cmake", action="store_true",
                           help="run cmake's configure step even when nothing asks for it")
        group.add_argument("--cmake-opt", action="append", default=[], metavar="OPT",
                           help="option for cmake's configure step, before those after -- (repeatable; "
                                "implies -c)")
        group.add_argument("--cmake-only", action="store_true",
                           help="run cmake's configure step only (implies -c)")
        group.add_argument("-o", "--build-opt", action="append", default=[], metavar="OPT",
                           help="option for MicroPython's make: -o V=1, -o DEBUG=1, -o USER_C_MODULES=DIR "
                                "(repeatable)")
        group.add_argument("-j", "--jobs", type=int, metavar="N",
                           help="parallel jobs of MicroPython's make (default: the directory's "
                                "H7PSRAM_JOBS, 2)")
        group.add_argument("-n", "--just-print", "--dry-run", "--recon", dest="dry_run", action="store_true",
                           help="print the commands; run nothing")
        parser.add_argument("app", nargs="?", help="application directory (default: app/)")
        parser.add_argument("cmake_opts", nargs="*", metavar="-- CMAKE_OPT",
                            help="extra arguments for cmake's configure step, after --")
        return parser

    def do_run(self, args, unknown_args):  # type: ignore[no-untyped-def]
        build_dir = Path(args.build_dir).resolve()
        cmake_opts = list(args.cmake_opts)
        if args.app and args.app.startswith("-"):
            # `west build -b B -- -DX=1`: argparse hands the first word after -- to APP
            cmake_opts.insert(0, args.app)
            args.app = None
        cmake_opts = list(args.cmake_opt) + cmake_opts
        app = Path(args.app) if args.app else None
        try:
            plan = build.plan_build(build_dir, args.board, app, args.pristine,
                                    extra_cmake_args=cmake_opts, fallback_board=self._default_board(),
                                    force_cmake=args.cmake or args.cmake_only)
            env = build.build_opts_env(args.build_opt, args.jobs)
            # Every check that can fail runs before anything is deleted.
            ws = self._workspace(args.dry_run) if plan.configure and not _names_sources(cmake_opts) else None
            build.cmake_executable()
            steps = []
            if plan.configure:
                steps.append((f"configuring {build_dir} for {plan.board}", "configure",
                              build.configure_command(build_dir, plan.board, plan.app, ws, cmake_opts)))
            if not args.cmake_only:
                steps.append((f"building {args.target or 'firmware'} for {plan.board} in {build_dir}", "build",
                              build.build_command(build_dir, args.target)))
            if args.dry_run:
                self._print_plan(build_dir, plan.pristine, steps, env)
                return
            if plan.pristine:
                self.inf(f"-- west build: making {build_dir} pristine (the last good firmware "
                         f"stays until the new one is built)")
                build.make_pristine(build_dir)
            build.mark_build_dir(build_dir)
            for banner, step, cmd in steps:
                self.banner(banner)
                self._run(cmd, step, env if step == "build" else {})
        except USER_ERRORS as caught:
            err = as_h7(caught)
            self.die(str(err), exit_code=err.exit_code)

    def _workspace(self, dry_run: bool) -> Optional[build.Workspace]:
        try:
            # the workspace west runs in, not the one the installed package sits in
            return build.locate_workspace(Path(self.manifest.topdir))
        except H7Error as err:
            if not dry_run:
                raise
            # what is printed is still the command; cmake would look for the workspace itself
            self.inf(f"# {err}")
            return None

    def _default_board(self) -> Optional[str]:
        """Zephyr's fallbacks after -b and the build directory's board: $BOARD, build.board."""
        if os.environ.get("BOARD"):
            return os.environ["BOARD"]
        try:
            return self.config.get("build.board")
        except Exception:  # no workspace configuration to read (west run outside a workspace)
            return None

    def _print_plan(self, build_dir: Path, pristine: bool, steps: list, env: dict[str, str]) -> None:
        if pristine:
            self.inf(f"# west build would make {build_dir} pristine first")
        for _banner, step, cmd in steps:
            prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in env.items()) if step == "build" else ""
            self.inf(prefix + shlex.join(cmd))

    def _run(self, cmd: list[str], step: str, env: dict[str, str]) -> None:
        rc = subprocess.call(cmd, env={**os.environ, **env} if env else None)
        if rc:
            self.die(f"{step} step failed (exit {rc}); any previous firmware in the build "
                     f"directory was left in place", exit_code=1)


def _names_sources(cmake_opts: list[str]) -> bool:
    """-DMICROPY_DIR= and -DSTM32LIB_DIR= both given: no workspace lookup is needed."""
    return all(any(opt.startswith(f"-D{name}=") or opt.startswith(f"-D{name}:") for opt in cmake_opts)
               for name in ("MICROPY_DIR", "STM32LIB_DIR"))
