"""Fixtures of the build tests: the repository, and the west workspace when there is one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from h7psram import build  # noqa: E402
from h7psram.errors import InputError  # noqa: E402


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def workspace() -> build.Workspace:
    """MicroPython + stm32lib of the west workspace (H7PSRAM_WORKSPACE or `west topdir`)."""
    try:
        return build.locate_workspace(REPO)
    except InputError as err:
        pytest.skip(f"no workspace with MicroPython: {err}")
