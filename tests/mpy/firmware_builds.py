"""Firmware builds for the MicroPython-on-simulator tests and benchmarks.

One build directory per board, kept between sessions (a clean build of
MicroPython takes minutes on two cores; an unchanged one is re-checked in
seconds). The build goes through the same library `west build` uses
(`h7psram.build`): plan, configure with CMake when needed, then build, which
runs MicroPython's make with -j2 (the H7PSRAM_JOBS default).

    python tests/mpy/firmware_builds.py [BOARD ...]     # build ahead of a test run
    python tests/mpy/firmware_builds.py --mboot [BOARD ...]   # mboot + MicroPython (patched workspace)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "scripts") not in sys.path:
    sys.path.insert(0, str(REPO / "scripts"))

from h7psram import build  # noqa: E402
from h7psram.errors import InputError  # noqa: E402

BOARDS = ("devebox_h7a3", "weact_mini_h7a3")
ENV_BUILD_ROOT = "H7PSRAM_MPY_BUILD_ROOT"
DEFAULT_BUILD_ROOT = REPO / ".pytest_cache" / "h7psram-mpy-builds"


class BuildFailed(Exception):
    """The firmware did not build; the message ends with the tail of the build output."""


def build_root() -> Path:
    return Path(os.environ.get(ENV_BUILD_ROOT) or DEFAULT_BUILD_ROOT)


def workspace_or_reason() -> tuple[build.Workspace | None, str]:
    """The west workspace with MicroPython, or None and one line saying why there is none."""
    try:
        return build.locate_workspace(REPO), ""
    except InputError as err:
        return None, f"no workspace with MicroPython ({err})"


def mboot_or_reason(ws: build.Workspace) -> str:
    """'' when this workspace's MicroPython can build mboot, else one line saying why not."""
    from h7psram.errors import H7Error

    try:
        build.check_patches(ws.micropython, REPO / "patches" / "patches.yml")
    except H7Error as err:
        return str(err)
    return ""


def build_board(board: str, ws: build.Workspace, root: Path | None = None, mboot: bool = False) -> Path:
    """Build (or bring up to date) the firmware of one board; returns its build directory.

    ``mboot``: the -DH7PSRAM_MBOOT=ON build (mboot + MicroPython linked after it), in
    ``<board>-mboot``; it needs the workspace's MicroPython patched (``mboot_or_reason``).
    """
    bdir = (root or build_root()) / (f"{board}-mboot" if mboot else board)
    bdir.parent.mkdir(parents=True, exist_ok=True)
    extra = ["-DH7PSRAM_MBOOT=ON"] if mboot else []
    plan = build.plan_build(bdir, board, None, "auto", extra_cmake_args=extra)
    if plan.pristine:
        build.make_pristine(bdir)
    build.mark_build_dir(bdir)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "scripts"), env.get("PYTHONPATH")]))
    steps = [build.build_command(bdir)]
    if plan.configure or not (bdir / "CMakeCache.txt").is_file():
        steps.insert(0, build.configure_command(bdir, board, plan.app, ws, extra))
    for cmd in steps:
        r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            tail = "\n".join((r.stdout + r.stderr).splitlines()[-30:])
            raise BuildFailed(f"{board}: '{' '.join(cmd[:3])} ...' failed with {r.returncode}:\n{tail}")
    outputs = ["firmware.elf", "build_info.yml"] + (["mboot.elf"] if mboot else [])
    if not all((bdir / name).is_file() for name in outputs):
        raise BuildFailed(f"{bdir}: build finished without {', '.join(outputs)}")
    return bdir


def main(argv: list[str]) -> int:
    mboot = "--mboot" in argv
    boards = [a for a in argv if a != "--mboot"] or list(BOARDS)
    ws, why = workspace_or_reason()
    if ws is None:
        print(f"firmware_builds: {why}", file=sys.stderr)
        return 2
    if mboot and (why := mboot_or_reason(ws)):
        print(f"firmware_builds: {why}", file=sys.stderr)
        return 1
    for board in boards:
        try:
            print(build_board(board, ws, mboot=mboot))
        except (BuildFailed, InputError) as err:
            print(f"firmware_builds: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
