"""The session's throw-away west workspace for the memcheck command tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from west_workspace import make_workspace


def run_west(ws: Path, *args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "west", *map(str, args)], cwd=ws,
                          capture_output=True, text=True, **kw)


@pytest.fixture(scope="session")
def west_workspace(tmp_path_factory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("ws"))
