"""Fixtures of the devicetree tests."""

import shutil

import pytest

from dts_linking import ARM_GCC


@pytest.fixture(scope="session")
def arm_gcc() -> str:
    path = shutil.which(ARM_GCC)
    if path is None:
        pytest.skip(f"{ARM_GCC} is not installed")
    return path
