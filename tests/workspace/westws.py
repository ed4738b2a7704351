"""Helpers for tests: a throw-away west workspace made with `west init -l` around a copy of this repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(".git", "build", "build-*", "__pycache__", ".pytest_cache",
                              "*.egg-info")


def run_west(ws: Path, *args, check=False, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "west", *map(str, args)], cwd=ws,
                          capture_output=True, text=True, check=check, **kw)


@pytest.fixture(scope="session")
def west_workspace(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("ws")
    manifest = ws / "h7psram"
    shutil.copytree(REPO, manifest, ignore=SKIP)
    git = ["git", "-C", str(manifest), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "copy"], check=True)
    res = run_west(ws, "init", "-l", manifest)
    assert res.returncode == 0, res.stderr
    return ws
