"""A throw-away west workspace around a copy of this repository, and running west in it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_SKIP = shutil.ignore_patterns(".git", "build", "build-*", "__pycache__", ".pytest_cache", "*.egg-info",
                               "hwtest-out")


def make_workspace(ws: Path) -> Path:
    """`west init -l` around a copy of this repository (minus .git and build output)."""
    manifest = ws / "manifest"
    shutil.copytree(REPO, manifest, ignore=_SKIP)
    git = ["git", "-C", str(manifest), "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "copy"], check=True)
    res = subprocess.run([sys.executable, "-m", "west", "init", "-l", str(manifest)], cwd=ws,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    return ws


def west(ws: Path, *args: str, path: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=path)
    env.pop("ZEPHYR_BASE", None)
    return subprocess.run([sys.executable, "-m", "west", *args], cwd=ws, env=env,
                          capture_output=True, text=True, timeout=120)
