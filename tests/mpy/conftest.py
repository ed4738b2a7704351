"""Fixtures of the MicroPython-on-simulator tests: firmware builds of both boards (once per
session, kept between sessions, see firmware_builds.py) and simulators on real pseudo-terminals.

Everything here needs the west workspace with MicroPython; without it the tests skip with one
line saying why."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import firmware_builds as fb  # noqa: E402
from repl_session import BOOT_TIMEOUT, Repl  # noqa: E402
from h7psram.sim.process import SimProcess  # noqa: E402

PROMPT = r">>> $"


@pytest.fixture(scope="session")
def mpy_workspace():
    ws, why = fb.workspace_or_reason()
    if ws is None:
        pytest.skip(why)
    return ws


@pytest.fixture(scope="session")
def build_dir(mpy_workspace) -> Callable[[str], Path]:
    """build_dir(board) -> the board's build directory, built on first use in this session."""
    done: dict[str, Path | Exception] = {}

    def get(board: str) -> Path:
        if board not in done:
            try:
                done[board] = fb.build_board(board, mpy_workspace)
            except (fb.BuildFailed, fb.InputError) as err:
                done[board] = err
        result = done[board]
        if isinstance(result, Exception):
            pytest.fail(str(result), pytrace=False)
        return result

    return get


def start_sim(board: str, elf: Path, faults: tuple[str, ...] = ()) -> tuple[SimProcess, str]:
    sim = SimProcess(board, elf, faults=faults).start()
    try:
        log = sim.wait_for(r">>> ", BOOT_TIMEOUT)
    except (TimeoutError, RuntimeError):
        sim.stop()
        raise
    return sim, log


@pytest.fixture(scope="module", params=fb.BOARDS)
def board_repl(request, build_dir) -> Iterator[tuple[str, Path, Repl]]:
    """(board, build directory, Repl) of a freshly booted simulator, once per board and module."""
    board = request.param
    bdir = build_dir(board)
    sim, log = start_sim(board, bdir / "firmware.elf")
    try:
        yield board, bdir, Repl(sim, log)
    finally:
        sim.stop()
