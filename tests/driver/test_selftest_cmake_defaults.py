"""The self-test build works with the two plain commands the README shows."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_configure_without_a_toolchain_option_picks_arm_gcc(tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed (apt install gcc-arm-none-eabi)")
    cmake = [sys.executable, "-m", "cmake"] if shutil.which("cmake") is None else ["cmake"]
    res = subprocess.run([*cmake, "-S", str(REPO / "app" / "selftest"), "-B", str(tmp_path),
                          "-DBOARD=weact_mini_h7a3", f"-DPYTHON={sys.executable}"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    # CMake records the compiler it settled on in CMakeFiles/<version>/CMakeCCompiler.cmake.
    recorded = [line for f in tmp_path.glob("CMakeFiles/*/CMakeCCompiler.cmake")
                for line in f.read_text().splitlines() if line.startswith("set(CMAKE_C_COMPILER ")]
    assert len(recorded) == 1 and recorded[0].rstrip('")').endswith("arm-none-eabi-gcc"), recorded
