"""Fixtures of the driver tests: the pure driver C files compiled for the host
and loaded with ctypes."""
from __future__ import annotations

import ctypes

import pytest

from driver_host import build_host_lib


@pytest.fixture(scope="session")
def psramlib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    lib = build_host_lib(tmp_path_factory.mktemp("hostlib") / "libpsram_host.so")
    if lib is None:
        pytest.skip("no host C compiler (gcc) on PATH")
    return lib
