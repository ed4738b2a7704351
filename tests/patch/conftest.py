"""Fixtures for the west patch tests; the helpers live in patch_repos.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from patch_repos import MAIN_C, Patches, Repo


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A fresh machine has no git identity; a user's global config must not leak in.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Patch Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "patch-test@example.org")


@pytest.fixture
def patches(tmp_path: Path) -> Patches:
    return Patches(tmp_path)


@pytest.fixture
def upstream(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "modules" / "upstream",
                {"main.c": MAIN_C, "docs/readme.txt": "upstream readme\n",
                 "port/board.c": "int board(void) { return 0; }\n"})


@pytest.fixture
def hal(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "modules" / "hal", {"hal.h": "#define HAL 1\n"})
