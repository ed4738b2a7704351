"""Build the bare-metal PSRAM self-test image (app/selftest) with CMake.

Used by the driver tests and the simulator tests; ``extra_defines`` builds the
deliberately broken variants (``PSRAM_TEST_NO_DQS``, ``PSRAM_TEST_NO_CSBOUND``,
``PSRAM_TEST_NO_REFRESH``, ``PSRAM_TEST_NO_TCEN``, ``PSRAM_TEST_SHORT_CSHT``) or
a slowed clock (``PSRAM_PRESCALER_OVERRIDE=N``).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Optional

from h7psram.errors import CheckFailed, InputError

REPO_ROOT = Path(__file__).resolve().parents[2]
SELFTEST_DIR = REPO_ROOT / "app" / "selftest"
TOOLCHAIN_FILE = SELFTEST_DIR / "cmake" / "arm-none-eabi.cmake"
FAULT_VARIANTS = ("PSRAM_TEST_NO_DQS", "PSRAM_TEST_NO_CSBOUND", "PSRAM_TEST_NO_REFRESH",
                  "PSRAM_TEST_NO_TCEN", "PSRAM_TEST_SHORT_CSHT")
_DEFINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(=[A-Za-z0-9_x]+)?$")


def _last_lines(text: str, n: int = 1) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    return " | ".join((errors or lines)[:n]) if lines else "(no output)"


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT / "scripts"), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CheckFailed(f"{SELFTEST_DIR / 'CMakeLists.txt'}: {what} failed: "
                          f"{_last_lines(proc.stdout + proc.stderr)}")


def build_selftest(board: str, out_dir: Path | str, extra_defines: Iterable[str] = (), *,
                   header: Optional[Path] = None, linker_script: Optional[Path] = None) -> Path:
    """Configure and build the self-test for ``board`` in ``out_dir``.

    Returns the path of ``selftest.elf`` (``selftest.bin`` lies next to it).
    ``header``/``linker_script`` replace the generator's psram_board.h and
    linker script.  Raises InputError for unusable arguments, CheckFailed when
    the configure or build step fails (the message quotes the first error).
    """
    if not re.fullmatch(r"[a-z0-9_]+", board or ""):
        raise InputError(f"{SELFTEST_DIR}: board name {board!r} is not a board identifier")
    defines = [str(d) for d in extra_defines]
    for d in defines:
        if not _DEFINE.match(d):
            raise InputError(f"{SELFTEST_DIR}: compile definition {d!r} is not NAME or NAME=VALUE")
    for path in (header, linker_script):
        if path is not None and not Path(path).is_file():
            raise InputError(f"{path}: file not found")
    cmake = shutil.which("cmake")
    if cmake is None:
        raise InputError(f"{SELFTEST_DIR / 'CMakeLists.txt'}: cmake not found on PATH")
    if shutil.which("arm-none-eabi-gcc") is None:
        raise InputError(f"{TOOLCHAIN_FILE}: arm-none-eabi-gcc not found on PATH")

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    cfg = [cmake, "-S", str(SELFTEST_DIR), "-B", str(out), f"-DBOARD={board}",
           f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN_FILE}", f"-DPYTHON={sys.executable}",
           f"-DSELFTEST_DEFINES={';'.join(defines)}",
           f"-DPSRAM_BOARD_HEADER={Path(header).resolve() if header else ''}",
           f"-DSELFTEST_LINKER_SCRIPT={Path(linker_script).resolve() if linker_script else ''}"]
    _run(cfg, out, "cmake configure")
    _run([cmake, "--build", str(out), "-j", "1"], out, "build")
    elf = out / "selftest.elf"
    if not elf.is_file():
        raise CheckFailed(f"{elf}: the build finished but wrote no ELF")
    return elf
