"""Host build of the driver's pure C files (psram_timing.c, psram_memtest.c)
and their ctypes signatures, shared by the driver tests."""
from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[2]
DRIVER = REPO / "drivers" / "psram"
BOARDS = ("devebox_h7a3", "weact_mini_h7a3")


class MemtestResult(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_uint32),
        ("width", ctypes.c_uint32),
        ("address", ctypes.c_size_t),   # uintptr_t
        ("offset", ctypes.c_size_t),
        ("written", ctypes.c_uint32),
        ("read", ctypes.c_uint32),
        ("tests_run", ctypes.c_uint32),
    ]


SYNC_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p, ctypes.c_size_t)
U32P = ctypes.POINTER(ctypes.c_uint32)

def build_host_lib(out: Path) -> Optional[ctypes.CDLL]:
    """Compile and load the library; None when there is no host compiler."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        return None
    subprocess.run(
        [gcc, "-std=gnu99", "-Wall", "-Wextra", "-Werror", "-O1", "-fPIC", "-shared",
         "-o", str(out), str(DRIVER / "psram_timing.c"), str(DRIVER / "psram_memtest.c")],
        check=True, capture_output=True, text=True)
    lib = ctypes.CDLL(str(out))
    u32 = ctypes.c_uint32
    lib.psram_timing_clk_hz.argtypes = [u32, u32]
    lib.psram_timing_clk_hz.restype = u32
    for name in ("psram_timing_prescaler", "psram_timing_refresh", "psram_timing_csht"):
        getattr(lib, name).argtypes = [u32, u32, U32P]
        getattr(lib, name).restype = ctypes.c_int
    for name in ("psram_timing_log2", "psram_timing_mpu_rasr_window", "psram_timing_mpu_rasr_guard"):
        getattr(lib, name).argtypes = [u32, U32P]
        getattr(lib, name).restype = ctypes.c_int
    lib.psram_timing_mpu_rbar.argtypes = [u32, u32]
    lib.psram_timing_mpu_rbar.restype = u32
    lib.psram_timing_delay_loops.argtypes = [u32, u32]
    lib.psram_timing_delay_loops.restype = u32
    lib.psram_timing_bus_limit.argtypes = [u32]
    lib.psram_timing_bus_limit.restype = u32
    lib.psram_timing_bytes_per_s.argtypes = [u32, u32, u32]
    lib.psram_timing_bytes_per_s.restype = u32
    lib.psram_memtest_run.argtypes = [ctypes.c_void_p, ctypes.c_size_t, u32, SYNC_FN,
                                      ctypes.c_void_p, ctypes.POINTER(MemtestResult)]
    lib.psram_memtest_run.restype = u32
    lib.psram_memtest_name.argtypes = [u32]
    lib.psram_memtest_name.restype = ctypes.c_char_p
    return lib


def call_out(fn, *args) -> tuple[int, int]:
    """Call a `status f(..., uint32_t *out)` function: (status, out)."""
    out = ctypes.c_uint32(0xDEADBEEF)
    status = fn(*args, ctypes.byref(out))
    return status, out.value


