"""`west patch` through a real west workspace built in a temporary directory."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from patch_repos import MAIN_C, Patches, Repo, git

REPO_ROOT = Path(__file__).resolve().parents[2]
PATCHED_MAIN = MAIN_C.replace("line 3\n", "line 3 patched\n")

pytestmark = pytest.mark.skipif(shutil.which("west") is None, reason="west is not installed")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """ws/manifest (a copy of this repository's manifest and commands) + 'micropython'."""
    upstream = Repo(tmp_path / "upstream" / "micropython",
                    {"main.c": MAIN_C, "docs/readme.txt": "upstream readme\n"})
    ws = tmp_path / "ws"
    manifest_repo = ws / "manifest"
    manifest_repo.mkdir(parents=True)

    # The real manifest, with its MicroPython project pointed at the throw-away repo.
    west_yml = yaml.safe_load((REPO_ROOT / "west.yml").read_text())
    (mpy,) = [p for p in west_yml["manifest"]["projects"] if p["name"] == "micropython"]
    for key in ("remote", "submodules"):
        mpy.pop(key, None)
    mpy["url"] = upstream.path.as_uri()
    mpy["revision"] = upstream.pinned
    west_yml["manifest"]["projects"] = [mpy]
    west_yml["manifest"].pop("remotes", None)
    (manifest_repo / "west.yml").write_text(yaml.safe_dump(west_yml, sort_keys=False))
    assert west_yml["manifest"]["self"]["west-commands"] == "scripts/west-commands.yml"

    # Only this repository's 'patch' entry, so other commands' files are not needed.
    commands = yaml.safe_load((REPO_ROOT / "scripts" / "west-commands.yml").read_text())
    ours = [c for c in commands["west-commands"]
            if any(cmd["name"] == "patch" for cmd in c["commands"])]
    assert len(ours) == 1, "scripts/west-commands.yml must declare 'patch' once"
    shutil.copytree(REPO_ROOT / "scripts" / "h7psram", manifest_repo / "scripts" / "h7psram",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (manifest_repo / "scripts" / "west-commands.yml").write_text(
        yaml.safe_dump({"west-commands": ours}, sort_keys=False))

    patches = Patches(manifest_repo)
    patches.make(upstream, "micropython", "0001-main.patch", {"main.c": PATCHED_MAIN})
    patches.make(upstream, "micropython", "0002-hook.patch", {"port/hook.c": "hook\n"})
    git(manifest_repo, "init", "-q", "-b", "main")
    git(manifest_repo, "add", "-A")
    git(manifest_repo, "commit", "-q", "-m", "manifest")

    monkeypatch.setenv("WEST_CONFIG_GLOBAL", str(tmp_path / "westconfig"))
    monkeypatch.delenv("ZEPHYR_BASE", raising=False)
    monkeypatch.delenv("PYTHONPATH", raising=False)  # the command must find its package
    run_west(ws, "init", "-l", "manifest")
    run_west(ws, "update")
    return ws, patches


def run_west(ws: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(["west", *args], cwd=ws, capture_output=True, text=True,
                         env=os.environ.copy(), timeout=120)
    assert res.returncode == expect, (args, res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    return res


def test_west_patch_apply_list_clean(workspace) -> None:
    ws, patches = workspace
    mpy = ws / "modules" / "micropython"
    assert (mpy / "main.c").read_text() == MAIN_C

    listing = run_west(ws, "patch", "list").stdout
    assert "STATE" in listing
    assert listing.count("not applied") == 2 and "micropython/0001-main.patch" in listing

    out = run_west(ws, "patch", "apply").stdout
    assert "micropython: applied micropython/0001-main.patch" in out
    assert "applied 2, already applied 0" in out
    assert (mpy / "main.c").read_text() == PATCHED_MAIN
    assert (mpy / "port" / "hook.c").read_text() == "hook\n"

    out = run_west(ws, "patch", "apply", "-m", "micropython", "--roll-back").stdout
    assert "applied 0, already applied 2" in out
    assert run_west(ws, "patch", "list").stdout.count("applied") == 2

    out = run_west(ws, "patch", "clean").stdout
    assert "reversed 2, not applied 0" in out
    assert git(mpy, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(mpy, "rev-parse", "HEAD") == git(mpy, "rev-parse", "manifest-rev")

    # The state the repository starts in: no patches at all.
    patches.yml.write_text("patches: []\n")
    assert "no patches" in run_west(ws, "patch", "apply").stdout
    assert "no patches" in run_west(ws, "patch", "list").stdout


def test_west_patch_conflict_leaves_module_untouched(workspace) -> None:
    ws, _ = workspace
    mpy = ws / "modules" / "micropython"
    (mpy / "main.c").write_text(MAIN_C.replace("line 3\n", "line 3 local\n"))
    res = run_west(ws, "patch", "apply", expect=1)
    assert "module 'micropython'" in res.stderr
    assert "micropython/0001-main.patch conflicts at main.c" in res.stderr
    assert git(mpy, "status", "--porcelain", "--untracked-files=all") == " M main.c\n"
    # list reports the conflict and exits 1 (it used to exit 0)
    listed = run_west(ws, "patch", "list", expect=1)
    assert "conflicts" in listed.stdout
    assert "1 of 2 patches conflict or have a wrong sha256sum" in listed.stderr


def test_west_patch_force_clean(workspace) -> None:
    ws, _ = workspace
    mpy = ws / "modules" / "micropython"
    run_west(ws, "patch", "apply")
    (mpy / "main.c").write_text(PATCHED_MAIN + "my line\n")  # overlaps nothing, survives
    (mpy / "port" / "hook.c").write_text("hook edited\n")    # overlaps: clean refuses
    (mpy / "docs" / "readme.txt").write_text("my notes\n")
    res = run_west(ws, "patch", "clean", expect=1)
    assert "0002-hook.patch conflicts at port/hook.c" in res.stderr
    assert "'west patch clean --force'" in res.stderr
    run_west(ws, "patch", "clean", "--force")
    assert (mpy / "main.c").read_text() == MAIN_C
    assert git(mpy, "status", "--porcelain", "--untracked-files=all") == " M docs/readme.txt\n"


def test_west_patch_bad_input_exit_2(workspace) -> None:
    ws, patches = workspace
    res = run_west(ws, "patch", "apply", "-m", "nosuch", expect=2)
    assert "module 'nosuch' given with -m is not a project" in res.stderr

    patch_file = patches.dir / "micropython" / "0002-hook.patch"
    patch_file.write_text(patch_file.read_text() + "\n")
    res = run_west(ws, "patch", "apply", expect=2)
    assert "patches.yml: patches[1]: sha256sum mismatch" in res.stderr
    assert git(ws / "modules" / "micropython", "status", "--porcelain") == ""

    patches.yml.write_text("patches: [\n")
    res = run_west(ws, "patch", "list", expect=2)
    assert "patches.yml: malformed YAML" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
