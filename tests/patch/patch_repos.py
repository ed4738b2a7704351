"""Throw-away git repositories and patch files for the west patch tests."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import yaml


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True,
                          capture_output=True, text=True).stdout


def write_files(root: Path, files: dict[str, str | None]) -> None:
    """Create, overwrite, or (for None) delete files below ``root``."""
    for rel, text in files.items():
        f = root / rel
        if text is None:
            f.unlink()
        else:
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(text)


class Repo:
    """A small git repository standing in for a west project."""

    def __init__(self, path: Path, files: dict[str, str]) -> None:
        self.path = path
        path.mkdir(parents=True)
        git(path, "init", "-q", "-b", "main")
        self.write(files)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "pinned revision")
        self.pinned = git(path, "rev-parse", "HEAD").strip()

    def write(self, files: dict[str, str | None]) -> None:
        write_files(self.path, files)

    def read(self, rel: str) -> str:
        return (self.path / rel).read_text()

    def snapshot(self) -> tuple[dict[str, bytes], str, str]:
        """Every file's bytes, plus git status and git diff: equal means untouched."""
        files = {str(p.relative_to(self.path)): p.read_bytes()
                 for p in sorted(self.path.rglob("*"))
                 if p.is_file() and ".git" not in p.relative_to(self.path).parts}
        return (files, git(self.path, "status", "--porcelain", "--untracked-files=all"),
                git(self.path, "diff", "HEAD"))

    def status(self) -> str:
        return git(self.path, "status", "--porcelain", "--untracked-files=all")


class Patches:
    """A patches/ directory with patches.yml, and a way to make patches by editing."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "patches"
        self.dir.mkdir()
        self.yml = self.dir / "patches.yml"
        self.entries: list[dict] = []
        self._scratch = root / "scratch"
        self.save()

    def make(self, repo: Repo, module: str, name: str, edits: dict[str, str | None],
             *, on_top_of: list[dict[str, str | None]] = ()) -> dict:
        """Write a patch made with git diff from ``edits`` on the pinned revision.

        ``on_top_of`` lists earlier edits the patch's context already contains, to make
        patches that depend on each other.
        """
        scratch = self._scratch / name
        subprocess.run(["git", "clone", "-q", str(repo.path), str(scratch)], check=True)
        for earlier in on_top_of:
            write_files(scratch, earlier)
        git(scratch, "add", "-A")
        git(scratch, "commit", "-q", "--allow-empty", "-m", "base")
        write_files(scratch, edits)
        git(scratch, "add", "-A")
        diff = git(scratch, "diff", "--cached", "--binary")
        assert diff, "edits made no change"
        rel = f"{module}/{name}"
        f = self.dir / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(diff)
        entry = {
            "path": rel,
            "sha256sum": hashlib.sha256(f.read_bytes()).hexdigest(),
            "module": module,
            "author": "Patch Test",
            "email": "patch-test@example.org",
            "date": "2026-01-31",
            "upstreamable": False,
            "comments": "made by the west patch tests",
        }
        self.entries.append(entry)
        self.save()
        return entry

    def save(self) -> None:
        self.yml.write_text(yaml.safe_dump({"patches": self.entries}, sort_keys=False))


MAIN_C = "".join(f"line {i}\n" for i in range(1, 21))
