"""`west build`: configure and build the MicroPython firmware for a board, Zephyr style."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from west.commands import WestCommand

# West loads this file by path; make the package importable even when the
# workspace's Python package has not been pip-installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from h7psram import build  # noqa: E402
from h7psram.errors import H7Error  # noqa: E402

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
Arguments after -- go to cmake's configure step (e.g. -DH7PSRAM_HEAP=single).

Exit status: 0 built, 1 memcheck found a broken placement or the build
failed, 2 unusable input (unknown board, missing workspace)."""


class Build(WestCommand):
    def __init__(self) -> None:
        super().__init__("build", "build MicroPython firmware for a board", DESCRIPTION,
                         accepts_unknown_args=False)

    def do_add_parser(self, parser_adder):  # type: ignore[no-untyped-def]
        parser = parser_adder.add_parser(self.name, help=self.help, description=self.description,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("-b", "--board", help="board (default: the one BUILD_DIR was built for)")
        parser.add_argument("-d", "--build-dir", default=build.DEFAULT_BUILD_DIR,
                            help="build directory (default: build)")
        parser.add_argument("-p", "--pristine", nargs="?", const="always", default="auto",
                            choices=build.PRISTINE_MODES,
                            help="start from an empty build directory: auto (default), always "
                                 "(also plain -p), never")
        parser.add_argument("-t", "--target",
                            help="CMake target to build instead of the firmware (run: the "
                                 "simulator)")
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
        app = Path(args.app) if args.app else None
        try:
            plan = build.plan_build(build_dir, args.board, app, args.pristine,
                                    extra_cmake_args=cmake_opts)
            # Every check that can fail runs before anything is deleted.
            ws = build.locate_workspace() if plan.configure else None
            build.cmake_executable()
            if plan.pristine:
                self.inf(f"-- west build: making {build_dir} pristine (the last good firmware "
                         f"stays until the new one is built)")
                build.make_pristine(build_dir)
            build.mark_build_dir(build_dir)
            if plan.configure:
                self.banner(f"configuring {build_dir} for {plan.board}")
                self._run(build.configure_command(build_dir, plan.board, plan.app, ws,
                                                  cmake_opts), "configure")
            self.banner(f"building {args.target or 'firmware'} for {plan.board} in {build_dir}")
            self._run(build.build_command(build_dir, args.target), "build")
        except H7Error as err:
            self.die(str(err), exit_code=err.exit_code)

    def _run(self, cmd: list[str], step: str) -> None:
        rc = subprocess.call(cmd)
        if rc:
            self.die(f"{step} step failed (exit {rc}); any previous firmware in the build "
                     f"directory was left in place", exit_code=1)
