"""Everything `west build` knows, as importable functions.

The build is driven by the top-level CMakeLists.txt (configured once per build
directory, board remembered in CMakeCache.txt); CMake in turn runs MicroPython's
own make for ``ports/stm32`` with ``BOARD_DIR=`` pointing at ``boards/<board>``.
This module holds the pieces around that:

* which boards exist (a board needs both a devicetree and a board folder);
* where the workspace's MicroPython and stm32lib are (west manifest, or an
  explicit directory);
* Zephyr-style ``-p auto|always|never`` decisions for a build directory;
* the cmake command lines;
* the steps CMake calls back into (``python -m h7psram.build ...``): writing
  the generated build configuration header, and ``finish``, which checks the
  linked ELF with memcheck and only then moves the outputs into place, so a
  failed build leaves the last good firmware where it was.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from h7psram.errors import as_h7, CheckFailed, InputError, USER_ERRORS
from h7psram.generated_file import write_if_changed

# Outputs that `west build` promises at the top of the build directory.
FIRMWARE_OUTPUTS = ("firmware.elf", "firmware.bin", "firmware.hex", "firmware.dfu")
MBOOT_OUTPUTS = ("mboot.elf", "mboot.dfu")
MBOOT_SUBDIR = "mboot"
# MicroPython's make writes into this sub-directory of the build directory.
MPY_SUBDIR = "mpy"
GENERATED_SUBDIR = "generated"
HEAP_MODES = ("split", "single")
PRISTINE_MODES = ("auto", "always", "never")
DEFAULT_BUILD_DIR = "build"
# Written into a build directory when `west build` makes it; -p empties only marked directories.
BUILD_MARKER = ".h7psram-build-dir"
BUILD_INFO = "build_info.yml"
# What `finish` read and wrote last time, and its report (see _finish_signature).
FINISH_STAMP = ".h7psram-finished"
KEPT_OUTPUTS = FIRMWARE_OUTPUTS + MBOOT_OUTPUTS + (BUILD_INFO, "runners.yaml")
ENV_WORKSPACE = "H7PSRAM_WORKSPACE"


def repo_root() -> Path:
    """The repository this package lives in (scripts/h7psram/build.py -> repo)."""
    return Path(__file__).resolve().parents[2]


# --- boards ------------------------------------------------------------------------------------


def board_folders(repo: Optional[Path] = None) -> list[str]:
    """Names of the MicroPython board folders under boards/ (those with an mpconfigboard.h)."""
    root = (repo or repo_root()) / "boards"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "mpconfigboard.h").is_file())


def known_boards(repo: Optional[Path] = None) -> list[str]:
    """Boards that can be built: a board folder that also has a devicetree description."""
    folders = board_folders(repo)
    try:
        from h7psram import boards as dts_boards
    except ImportError:
        # The devicetree layer is optional for listing; the build itself needs it.
        return folders
    described = set(dts_boards.known_boards())
    return [b for b in folders if b in described]


def check_board(name: Optional[str], repo: Optional[Path] = None) -> str:
    """Return the board name if it can be built, else raise InputError listing the known ones."""
    known = known_boards(repo)
    if not name:
        raise InputError(f"no board given (use -b BOARD, set BOARD, or 'west config build.board BOARD'); "
                         f"known boards: {', '.join(known) or 'none'}")
    if name not in known:
        raise InputError(f"unknown board '{name}'; known boards: {', '.join(known) or 'none'}")
    return name


# --- workspace ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workspace:
    topdir: Path
    micropython: Path
    stm32lib: Path


def locate_workspace(start: Optional[Path] = None, topdir: Optional[str] = None) -> Workspace:
    """Find MicroPython and stm32lib through the west manifest of the workspace.

    ``topdir`` (or the environment variable H7PSRAM_WORKSPACE) names the
    workspace explicitly; otherwise it is the west workspace containing
    ``start`` (default: this repository).
    """
    from west.manifest import Manifest
    from west.util import WestNotFound, west_topdir

    explicit = topdir or os.environ.get(ENV_WORKSPACE)
    if explicit:
        top = Path(explicit)
        if not (top / ".west").is_dir():
            raise InputError(f"{top}: not a west workspace (no .west directory)")
    else:
        try:
            top = Path(west_topdir(start=str(start or repo_root()), fall_back=False))
        except WestNotFound:
            raise InputError(f"{start or repo_root()}: not inside a west workspace; run "
                             f"'west init -l' and 'west update', or set {ENV_WORKSPACE}") from None
    try:
        manifest = Manifest.from_topdir(topdir=str(top))
        mpy, hal = manifest.get_projects(["micropython", "stm32lib"])
    except Exception as err:  # west raises several unrelated types here
        raise InputError(f"{top}: cannot read the west manifest ({err})") from None
    ws = Workspace(top, Path(mpy.abspath), Path(hal.abspath))
    if not (ws.micropython / "ports" / "stm32" / "Makefile").is_file():
        raise InputError(f"{ws.micropython}: MicroPython checkout missing; run 'west update'")
    if not (ws.stm32lib / "STM32H7xx_HAL_Driver").is_dir():
        raise InputError(f"{ws.stm32lib}: stm32lib (STM32 HAL) missing; run 'west update'")
    return ws


# --- build directory state ---------------------------------------------------------------------


def read_cmake_cache(build_dir: Path) -> dict[str, str]:
    """KEY -> value of a CMakeCache.txt ({} when there is none)."""
    cache = build_dir / "CMakeCache.txt"
    if not cache.is_file():
        return {}
    entries: dict[str, str] = {}
    for line in cache.read_text(errors="replace").splitlines():
        if not line or line.startswith(("#", "//")) or "=" not in line:
            continue
        key_type, value = line.split("=", 1)
        entries[key_type.split(":", 1)[0]] = value
    return entries


@dataclass(frozen=True)
class BuildPlan:
    board: str
    app: Path
    pristine: bool       # wipe the build directory first
    configure: bool      # run the cmake configure step


def plan_build(build_dir: Path, board: Optional[str], app: Optional[Path], pristine: str,
               repo: Optional[Path] = None, extra_cmake_args: Sequence[str] = (),
               fallback_board: Optional[str] = None, force_cmake: bool = False) -> BuildPlan:
    """Decide what `west build` has to do with this build directory.

    The board is Zephyr's: -b, else the one the directory was configured for, else
    ``fallback_board`` (the caller's BOARD environment variable, then build.board config).
    ``force_cmake`` (-c, --cmake-only) runs the configure step even when nothing asks for it.

    -p always empties a build directory; -p auto empties it when the board or
    the app differs from what it was configured for; -p never refuses such a
    change instead (Zephyr's semantics). Only a directory that `west build`
    made (it holds BUILD_MARKER) is ever emptied, and never one that holds
    the source tree or the workspace: a stray CMakeCache.txt is not enough.
    """
    if pristine not in PRISTINE_MODES:
        raise InputError(f"-p {pristine}: must be one of {', '.join(PRISTINE_MODES)}")
    cache = read_cmake_cache(build_dir)
    is_build = bool(cache)
    if build_dir.exists() and not build_dir.is_dir():
        raise InputError(f"{build_dir}: exists and is not a directory")
    if build_dir.is_dir() and not is_build and any(build_dir.iterdir()):
        raise InputError(f"{build_dir}: not empty and not a build directory (no CMakeCache.txt); "
                         f"choose another -d")
    cached_board = cache.get("BOARD") or None
    cached_app = Path(cache["APP"]) if cache.get("APP") else None

    board = check_board(board or cached_board or fallback_board, repo)
    if app is None:
        app = cached_app or (repo or repo_root()) / "app"
    app = app.resolve()
    if not app.is_dir():
        raise InputError(f"{app}: application directory not found")

    changed = is_build and (board != cached_board or (cached_app is not None and app != cached_app))
    if pristine == "always":
        wipe = is_build
    elif pristine == "auto":
        wipe = changed
    else:
        if changed:
            raise InputError(f"{build_dir}: configured for board {cached_board} app {cached_app}, "
                             f"not {board} {app}; use -p auto or another -d")
        wipe = False
    if wipe:
        check_can_empty(build_dir, repo, extra_protected=(app,))
    # A directory configured before the workspace was complete has no MicroPython
    # path cached; configure again so a later `west update` is picked up.
    configure = (wipe or not is_build or bool(extra_cmake_args) or force_cmake
                 or not cache.get("MICROPY_DIR"))
    return BuildPlan(board=board, app=app, pristine=wipe, configure=configure)


def _protected_dirs(repo: Optional[Path]) -> list[Path]:
    """Directories a build directory may never contain: the source tree and the workspace."""
    dirs = [(repo or repo_root()).resolve()]
    explicit = os.environ.get(ENV_WORKSPACE)
    if explicit:
        dirs.append(Path(explicit).resolve())
    try:
        from west.util import WestNotFound, west_topdir

        dirs.append(Path(west_topdir(start=str(dirs[0]), fall_back=False)).resolve())
    except (ImportError, WestNotFound):
        pass
    return dirs


def check_can_empty(build_dir: Path, repo: Optional[Path] = None,
                    extra_protected: Sequence[Path] = ()) -> None:
    """Raise InputError unless build_dir is one `west build` made and holds nothing of value."""
    resolved = build_dir.resolve()
    if not (resolved / BUILD_MARKER).is_file():
        raise InputError(f"{build_dir}: refusing to empty it, `west build` did not make it (no "
                         f"{BUILD_MARKER}); delete it yourself or choose another -d")
    for keep in [*_protected_dirs(repo), *(Path(p).resolve() for p in extra_protected)]:
        if keep == resolved or resolved in keep.parents:
            raise InputError(f"{build_dir}: refusing to empty it, it holds {keep}")
    for name in (".git", ".west"):
        if (resolved / name).exists():
            raise InputError(f"{build_dir}: refusing to empty it, it holds {name}")


def mark_build_dir(build_dir: Path) -> None:
    """Create build_dir (or adopt an empty one) and mark it as made by `west build`.

    Only marked directories are ever emptied by -p; an existing directory that
    already has contents is left unmarked (plan_build refuses it unless it is
    an older build, which then simply cannot be made pristine).
    """
    if build_dir.is_dir() and any(build_dir.iterdir()):
        return
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / BUILD_MARKER).write_text(
        "This directory was made by `west build` (h7psram); `west build -p` may empty it.\n")


def make_pristine(build_dir: Path, repo: Optional[Path] = None) -> None:
    """Empty a build directory `west build` made, keeping the last good firmware.

    The installed outputs (firmware.*, mboot.*, build_info.yml, runners.yaml)
    stay until a new build replaces them, so a build that then fails leaves a
    flashable firmware with its matching description. Symlinks are removed,
    never followed.
    """
    check_can_empty(build_dir, repo)
    keep = {BUILD_MARKER, *KEPT_OUTPUTS}
    for entry in build_dir.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


# --- cmake command lines -----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def cmake_executable() -> str:
    """The cmake from the PyPI package when installed, else the one on PATH."""
    # Importing the wheel's package lists every file of its distribution (0.2 s of a no-op
    # build); its binary sits at a fixed place inside the package.
    spec = importlib.util.find_spec("cmake")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        exe = Path(folder) / "data" / "bin" / "cmake"
        if exe.is_file():
            return str(exe)
    try:
        import cmake  # the PyPI wheel, laid out otherwise

        exe = Path(cmake.CMAKE_BIN_DIR) / "cmake"
        if exe.is_file():
            return str(exe)
    except ImportError:
        pass
    found = shutil.which("cmake")
    if not found:
        raise InputError("cmake not found: pip install cmake")
    return found


def configure_command(build_dir: Path, board: str, app: Path, ws: Optional[Workspace],
                      extra: Sequence[str] = (), repo: Optional[Path] = None) -> list[str]:
    cmd = [cmake_executable(), "-S", str(repo or repo_root()), "-B", str(build_dir),
           "-G", "Unix Makefiles", f"-DBOARD={board}", f"-DAPP={app}",
           f"-DPython3_EXECUTABLE={sys.executable}"]
    if ws is not None:
        cmd += [f"-DMICROPY_DIR={ws.micropython}", f"-DSTM32LIB_DIR={ws.stm32lib}"]
    return cmd + list(extra)


def build_command(build_dir: Path, target: Optional[str] = None) -> list[str]:
    cmd = [cmake_executable(), "--build", str(build_dir)]
    if target:
        cmd += ["--target", target]
    return cmd


#: `west build -o OPT` and `-j N` reach MicroPython's make through this variable of the build
#: step's environment (CMake fixes the make command line at configure time)
ENV_BUILD_OPTS = "H7PSRAM_BUILD_OPTS"
#: make variables that name a path: made absolute, since make runs in ports/stm32
_PATH_VARIABLES = ("USER_C_MODULES", "FROZEN_MANIFEST")


def build_opts_env(opts: Sequence[str], jobs: Optional[int] = None,
                   cwd: Optional[Path] = None) -> dict[str, str]:
    """The environment entry that carries -o options (and -j) to MicroPython's make."""
    words = []
    for opt in opts:
        name, eq, value = opt.partition("=")
        if eq and name in _PATH_VARIABLES and value and not Path(value).is_absolute():
            value = str((cwd or Path.cwd()) / value)
        words.append(f"{name}={value}" if eq else opt)
    if jobs is not None:
        if jobs < 1:
            raise InputError(f"-j {jobs}: must be at least 1")
        words.append(f"-j{jobs}")
    return {ENV_BUILD_OPTS: shlex.join(words)} if words else {}


def make_with_build_opts(argv: Sequence[str]) -> int:
    """Run MicroPython's make with the -o options of this `west build` appended (a later -jN
    wins over CMake's); CMake's own make flags are not passed down."""
    try:
        extra = shlex.split(os.environ.get(ENV_BUILD_OPTS, ""))
    except ValueError as err:
        raise InputError(f"{ENV_BUILD_OPTS}: {err}") from None
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    if extra:
        print(f"-- h7psram: make options from west build -o: {shlex.join(extra)}", flush=True)
    return subprocess.call([*argv, *extra], env=env)


# --- steps CMake calls back into ---------------------------------------------------------------


def build_config_header(board: str, heap: str, mboot_app: Optional[int] = None) -> str:
    """Build options that C code needs; a change here recompiles everything that includes it.

    ``mboot_app``: the application's address behind mboot, which the board
    header compares with what make gave the compiler (boards/common/h7psram_common.h).
    """
    if heap not in HEAP_MODES:
        raise InputError(f"H7PSRAM_HEAP={heap}: must be one of {', '.join(HEAP_MODES)}")
    split = 1 if heap == "split" else 0
    text = ("/* Generated by h7psram.build for this build directory; do not edit. */\n"
            "#pragma once\n"
            f"#define H7PSRAM_BUILD_BOARD \"{board}\"\n"
            f"#define H7PSRAM_HEAP_SPLIT {split}\n")
    if mboot_app is not None:
        text += f"#define H7PSRAM_MBOOT_APP_ADDR 0x{mboot_app:08x}\n"
    return text


def flash_make_fragment(flash_base: int) -> str:
    """Where the internal flash starts, for make: TEXT0_ADDR of a build without mboot and
    mboot's own TEXT0_ADDR (boards/common/h7psram_board.mk)."""
    return ("# Generated by h7psram.build from the devicetree; do not edit.\n"
            f"H7PSRAM_FLASH_BASE := 0x{flash_base:08x}\n")


def mboot_make_fragment(app_addr: int) -> str:
    """TEXT0_ADDR for both makes of an mboot build: MicroPython links and sets VTOR there,
    mboot jumps there. One generated value, so the two cannot disagree."""
    return ("# Generated by h7psram.build from h7psram.mboot; do not edit.\n"
            f"TEXT0_ADDR := 0x{app_addr:08x}\n")


def write_build_info(build_dir: Path, board: str, app: Path, outputs: Sequence[str] = (),
                     mboot: bool = False) -> Path:
    """build_info.yml: board, app, the outputs present (names relative to build_dir) and,
    for an mboot build, the flash and RAM layout mboot and the application share."""
    from h7psram import boards, buildinfo, mboot as mboot_layout

    def key(name: str) -> str:           # firmware.dfu -> dfu, mboot.dfu -> mboot_dfu
        stem, ext = name.rsplit(".", 1)
        return ext if stem == "firmware" else f"{stem}_{ext}"

    info = buildinfo.BuildInfo(board=board, app=str(app), build_dir=build_dir,
                               outputs={"elf": "firmware.elf", **{key(n): n for n in outputs}})
    if mboot:
        info.mboot = mboot_layout.layout(boards.load_board(board)).as_dict()
    return buildinfo.write_build_info(info)


def write_runners(build_dir: Path, board: str) -> Path:
    from h7psram import boards, buildinfo

    return buildinfo.write_runners_yaml(build_dir,
                                        buildinfo.default_runners_config(boards.load_board(board)))


def generate(board: str, heap: str, gen_dir: Path, mboot: bool = False) -> list[Path]:
    """Devicetree outputs for one board into gen_dir: linker script, C header, build options,
    the flash base for make.

    With ``mboot`` the application is linked after mboot's sectors and mboot's
    own MEMORY block is written too. Each file is rewritten only when its text
    changes, so an unchanged devicetree costs MicroPython's make nothing.
    """
    from h7psram import boards, mboot as mboot_layout
    from h7psram.dts import linker, gen

    check_board(board)
    desc = boards.load_board(board)
    lay = mboot_layout.layout(desc) if mboot else None
    offset = lay.flash_size if lay else 0
    files = {
        gen_dir / "h7psram_build_config.h": build_config_header(board, heap, lay.app_addr if lay else None),
        gen_dir / "h7psram_board.ld": linker.linker_script(desc, "micropython", heap, app_offset=offset),
        gen_dir / "psram_board.h": gen.generate("header", board),
        gen_dir / "h7psram_flash.mk": flash_make_fragment(desc.region("flash0").start),
    }
    if mboot:
        files[gen_dir / "h7psram_mboot.ld"] = mboot_layout.linker_memory(desc)
        files[gen_dir / "h7psram_mboot.mk"] = mboot_make_fragment(lay.app_addr)
    gen_dir.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        write_if_changed(path, text)
    return list(files)


def run_memcheck(elf: Path, board: str, mboot_elf: Optional[Path] = None) -> str:
    """Check the ELF's placement; returns the report text, raises CheckFailed when a rule breaks."""
    from h7psram import boards, memcheck

    report = memcheck.check_elf(elf, boards.load_board(board), mboot_elf)
    text = report.format_text()
    if not report.ok:
        raise CheckFailed(f"{elf}: memcheck failed, firmware not installed:\n{text}")
    return text


def _same_file_contents(a: Path, b: Path) -> bool:
    return b.is_file() and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def _replace_from(src: Path, dst: Path) -> None:
    """Copy src over dst so that dst is either the old or the new file, never half of one.

    An unchanged output keeps its timestamp, so what depends on it (flash
    runners, test fixtures) does not see a new firmware after a no-op build.
    """
    if _same_file_contents(src, dst):
        return
    tmp = dst.with_name("." + dst.name + ".new")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _write_dfu(elf: Path, dst: Path) -> None:
    """firmware.dfu (DfuSe) from the ELF's load image, for the ST ROM bootloader or mboot."""
    from h7psram import dfuse

    tmp = dst.with_name("." + dst.name + ".new")
    dfuse.write_dfuse(tmp, dfuse.dfuse_from_elf(elf))
    if _same_file_contents(tmp, dst):
        tmp.unlink()
    else:
        os.replace(tmp, dst)


def _finish_signature(build_dir: Path, board: str, app: Path, mboot: bool) -> Optional[str]:
    """What `finish` read and wrote, as it is now: the linked ELF(s) and the make outputs, the
    installed outputs, the board's devicetree (contents) and this package's code. Equal to
    the one saved by the last `finish` when nothing of it changed since; None when the
    devicetree cannot be read (`finish` then runs and reports it)."""
    from h7psram import board_cache, boards

    tree = board_cache.tree_key(boards.dts_dir() / f"{board}.dts", Path(boards.__file__))
    if tree is None:
        return None
    files = [build_dir / MPY_SUBDIR / n for n in FIRMWARE_OUTPUTS[:3]]
    files += [build_dir / n for n in (*FIRMWARE_OUTPUTS, BUILD_INFO, "runners.yaml")]
    if mboot:
        files += [build_dir / MBOOT_SUBDIR / "firmware.elf", *(build_dir / n for n in MBOOT_OUTPUTS)]
    files += sorted(Path(__file__).parent.glob("*.py"))
    lines = [f"board {board}", f"app {app}", f"mboot {int(mboot)}", f"devicetree {tree}"]
    for f in files:
        try:
            st = f.stat()
            lines.append(f"{f} {st.st_size} {st.st_mtime_ns} {st.st_ino}")
        except OSError:
            lines.append(f"{f} absent")
    return "\n".join(lines) + "\n"


def finish(build_dir: Path, board: str, app: Path, out=sys.stdout, mboot: bool = False) -> None:
    """Post-link step: memcheck the fresh ELF(s), then move all outputs into place.

    Skipped when nothing it reads or writes changed since it last ran (a no-op build: make
    relinked nothing); the memcheck report of that run is printed again."""
    stamp = build_dir / FINISH_STAMP
    before = _finish_signature(build_dir, board, app, mboot)
    try:
        saved = stamp.read_text()
    except OSError:
        saved = ""
    signature, _, report = saved.partition("\n\n")
    if before is not None and signature + "\n" == before:
        out.write(report)
        return
    stamp.unlink(missing_ok=True)
    text = _finish(build_dir, board, app, mboot)
    out.write(text)
    after = _finish_signature(build_dir, board, app, mboot)
    if after is not None:
        write_if_changed(stamp, after + "\n" + text)


def _finish(build_dir: Path, board: str, app: Path, mboot: bool) -> str:
    mpy = build_dir / MPY_SUBDIR
    elf = mpy / "firmware.elf"
    for name in ("firmware.elf", "firmware.bin", "firmware.hex"):
        if not (mpy / name).is_file():
            raise InputError(f"{mpy / name}: missing after MicroPython's make")
    mboot_elf = build_dir / MBOOT_SUBDIR / "firmware.elf"
    if mboot and not mboot_elf.is_file():
        raise InputError(f"{mboot_elf}: missing after mboot's make")
    text = run_memcheck(elf, board, mboot_elf if mboot else None) + "\n"
    for name in ("firmware.elf", "firmware.bin", "firmware.hex"):
        _replace_from(mpy / name, build_dir / name)
    _write_dfu(build_dir / "firmware.elf", build_dir / "firmware.dfu")
    outputs = FIRMWARE_OUTPUTS
    if mboot:
        _replace_from(mboot_elf, build_dir / "mboot.elf")
        _write_dfu(build_dir / "mboot.elf", build_dir / "mboot.dfu")
        outputs = FIRMWARE_OUTPUTS + MBOOT_OUTPUTS
    else:
        for name in MBOOT_OUTPUTS:       # left from an earlier mboot build of this directory
            (build_dir / name).unlink(missing_ok=True)
    write_build_info(build_dir, board, app, outputs, mboot=mboot)
    write_runners(build_dir, board)
    return text + f"{board}: {', '.join(outputs)}, build_info.yml, runners.yaml in {build_dir}\n"


def check_patches(micropython: Path, patches_yml: Path) -> None:
    """One line and exit 1 when MicroPython lacks a patch of ours (mboot does not build without it)."""
    from h7psram import patch

    patch_set = patch.load_patch_set(patches_yml)
    states = patch.patch_states(patch_set, {"micropython": micropython}, ["micropython"])
    missing = [st.entry.path for st in states if st.state != patch.APPLIED]
    if missing:
        raise CheckFailed(f"{micropython}: mboot for these boards needs patch {', '.join(missing)}, "
                          f"which is not applied: run 'west patch apply'")


def configure_step(build_dir: Path, board: str, app: Path, heap: str,
                   workspace_start: Optional[Path]) -> None:
    """CMake's configure-time checks and build_info.yml; with ``workspace_start`` the
    workspace's MicroPython and stm32lib on stdout as ``MPY;HAL``, or why not on stderr (a
    warning: the directory is configured and the build says why it cannot run)."""
    check_board(board)
    if not (app / "manifest.py").is_file():
        raise InputError(f"{app}/manifest.py: not found (APP must hold a MicroPython manifest.py)")
    build_config_header(board, heap)  # validates the heap mode
    # A kept firmware keeps the build_info.yml that describes it until `finish` installs the new one.
    if not (build_dir / "firmware.elf").is_file():
        write_build_info(build_dir, board, app)
    if workspace_start is not None:
        try:
            ws = locate_workspace(workspace_start)
        except USER_ERRORS as caught:
            print(f"error: {as_h7(caught)}", file=sys.stderr)
            return
        print(f"{ws.micropython};{ws.stm32lib}")


# --- `python -m h7psram.build` (called by CMakeLists.txt) --------------------------------------


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m h7psram.build")
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("generate", help="linker script and headers from the devicetree")
    p.add_argument("--board", required=True)
    p.add_argument("--heap", default="split")
    p.add_argument("--gen-dir", required=True, type=Path)
    p.add_argument("--mboot", action="store_true", help="link the application after mboot")
    p = sub.add_parser("finish", help="memcheck the linked ELF and install the outputs")
    p.add_argument("--build-dir", required=True, type=Path)
    p.add_argument("--board", required=True)
    p.add_argument("--app", required=True, type=Path)
    p.add_argument("--mboot", action="store_true", help="also install mboot.elf/.dfu and check the pair")
    # The two steps CMakeLists.txt runs through one Python process each:
    p = sub.add_parser("configure", help="check-board, the app's manifest, config and (with "
                                         "--workspace-start) workspace, in one process")
    p.add_argument("--build-dir", required=True, type=Path)
    p.add_argument("--board", required=True)
    p.add_argument("--app", required=True, type=Path)
    p.add_argument("--heap", default="split")
    p.add_argument("--workspace-start", type=Path,
                   help="also print MICROPY_DIR;STM32LIB_DIR (not finding them is a warning on stderr)")
    p = sub.add_parser("firmware", help=f"run make with ${ENV_BUILD_OPTS} appended (west build -o), "
                                        f"then finish")
    p.add_argument("--build-dir", required=True, type=Path)
    p.add_argument("--board", required=True)
    p.add_argument("--app", required=True, type=Path)
    p.add_argument("--mboot", action="store_true")
    p.add_argument("make_argv", nargs=argparse.REMAINDER)
    p = sub.add_parser("check-patches", help="fail in one line when MicroPython lacks our patches")
    p.add_argument("--micropython", required=True, type=Path)
    p.add_argument("--patches", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        if args.step == "generate":
            generate(args.board, args.heap, args.gen_dir, args.mboot)
        elif args.step == "finish":
            finish(args.build_dir, args.board, args.app, mboot=args.mboot)
        elif args.step == "check-patches":
            check_patches(args.micropython, args.patches)
        elif args.step == "configure":
            configure_step(args.build_dir, args.board, args.app, args.heap, args.workspace_start)
        elif args.step == "firmware":
            status = make_with_build_opts(args.make_argv)
            if status:
                return status
            finish(args.build_dir, args.board, args.app, mboot=args.mboot)
    except USER_ERRORS as caught:
        err = as_h7(caught)
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
