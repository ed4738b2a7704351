"""west patch never reaches outside its module, and an interrupted apply is undone.

Issue 12 items 1, 3, 6 (long name in patches.yml) and 7 (relative patch base).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from h7psram import patch as patchlib
from h7psram.errors import InputError

from patch_repos import Patches, Repo, git

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def add_raw_patch(patches: Patches, module: str, name: str, text: str) -> None:
    """A hand-written patch file and its entry (git diff cannot make hostile ones)."""
    f = patches.dir / module / name
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text)
    patches.entries.append({
        "path": f"{module}/{name}", "sha256sum": hashlib.sha256(f.read_bytes()).hexdigest(),
        "module": module, "author": "Patch Test", "email": "patch-test@example.org",
        "date": "2026-01-31"})
    patches.save()


def new_file_patch(rel: str) -> str:
    return (f"diff --git a/{rel} b/{rel}\nnew file mode 100644\n--- /dev/null\n"
            f"+++ b/{rel}\n@@ -0,0 +1 @@\n+planted\n")


def every_verb_refuses(patches: Patches, upstream: Repo, victim: Path) -> None:
    modules = {"upstream": upstream.path}
    patch_set = patchlib.load_patch_set(patches.yml)
    before = upstream.snapshot()
    verbs = [lambda: patchlib.restore_pinned(patch_set, modules, {}),
             lambda: patchlib.apply_patches(patch_set, modules),
             lambda: patchlib.clean_patches(patch_set, modules),
             lambda: patchlib.patch_states(patch_set, modules)]
    for verb in verbs:
        with pytest.raises(InputError, match="outside module 'upstream'"):
            verb()
        assert victim.read_text() == "precious\n", "a file outside the module was touched"
        assert upstream.snapshot() == before


def test_path_with_dotdot_is_refused_by_every_verb(patches: Patches, upstream: Repo,
                                                   tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    rel = os.path.relpath(victim, upstream.path)  # ../../victim.txt
    add_raw_patch(patches, "upstream", "0001-escape.patch", new_file_patch(rel))
    every_verb_refuses(patches, upstream, victim)


def test_path_through_symlink_is_refused_by_every_verb(patches: Patches, upstream: Repo,
                                                       tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("precious\n")
    (upstream.path / "port" / "ext").symlink_to(outside)
    git(upstream.path, "add", "port/ext")
    git(upstream.path, "commit", "-q", "-m", "a symlink that leaves the tree")
    add_raw_patch(patches, "upstream", "0001-via-link.patch",
                  new_file_patch("port/ext/victim.txt"))
    every_verb_refuses(patches, upstream, victim)


def test_relative_patch_base(two_patches_dir: tuple[Patches, Repo], tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    patches, upstream = two_patches_dir
    monkeypatch.chdir(tmp_path)
    patch_set = patchlib.load_patch_set(Path("patches/patches.yml"), Path("patches"))
    done = patchlib.apply_patches(patch_set, {"upstream": upstream.path})
    assert len(done.changed["upstream"]) == 1
    assert "patched" in upstream.read("main.c")


@pytest.fixture
def two_patches_dir(patches: Patches, upstream: Repo) -> tuple[Patches, Repo]:
    patches.make(upstream, "upstream", "0001-main.patch",
                 {"main.c": upstream.read("main.c").replace("line 3\n", "line 3 patched\n")})
    return patches, upstream


def test_long_patch_name_is_an_input_error(patches: Patches) -> None:
    patches.entries.append({
        "path": "x" * 300 + ".patch", "sha256sum": "0" * 64, "module": "upstream",
        "author": "A", "email": "a@example.org", "date": "2026-01-31"})
    patches.save()
    with pytest.raises(InputError, match=r"patches\[0\]: field 'path': File name too long"):
        patchlib.load_patch_set(patches.yml)


# --------------------------------------------------------------------------- interrupts

N_FILES = 1500
_APPLY = """
import sys
from pathlib import Path
from h7psram import patch as patchlib
from h7psram.errors import H7Error
try:
    patchlib.apply_patches(patchlib.load_patch_set(Path(sys.argv[1])),
                           {"big": Path(sys.argv[2])})
except H7Error as err:
    print(err, file=sys.stderr)
    sys.exit(err.exit_code)
"""


@pytest.fixture(scope="module")
def big_patch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A repository of N_FILES files, and a patch that rewrites every one of them."""
    root = tmp_path_factory.mktemp("big")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(root / "gitconfig"),
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@e.org",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@e.org"}
    repo = root / "pristine"
    repo.mkdir()
    run = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, env=env,  # noqa: E731
                                    capture_output=True)
    run("init", "-q", "-b", "main")
    for i in range(N_FILES):
        (repo / f"f{i:05d}.c").write_text("".join(f"int v{i}_{j};\n" for j in range(40)))
    run("add", "-A")
    run("commit", "-q", "-m", "base")
    for i in range(N_FILES):
        (repo / f"f{i:05d}.c").write_text("".join(f"long v{i}_{j};\n" for j in range(40)))
    diff = subprocess.run(["git", "-C", str(repo), "diff"], check=True, env=env,
                          capture_output=True).stdout
    run("checkout", "-q", "--", ".")
    pdir = root / "patches"
    (pdir / "big").mkdir(parents=True)
    (pdir / "big" / "0001-all.patch").write_bytes(diff)
    (pdir / "patches.yml").write_text(yaml.safe_dump({"patches": [{
        "path": "big/0001-all.patch", "sha256sum": hashlib.sha256(diff).hexdigest(),
        "module": "big", "author": "T", "email": "t@e.org", "date": "2026-01-31"}]}))
    return repo, pdir / "patches.yml"


def tree_state(repo: Path) -> str:
    """'pristine', 'patched' or 'mixed (k of N patched)'."""
    names = [repo / f"f{i:05d}.c" for i in range(N_FILES)]
    missing = sum(1 for f in names if not f.exists())
    patched = sum(1 for f in names if f.exists() and f.read_text().startswith("long"))
    if missing:
        return f"mixed ({patched} of {N_FILES} patched, {missing} missing)"
    return {0: "pristine", N_FILES: "patched"}.get(patched, f"mixed ({patched} of {N_FILES})")


def wait_for(pred, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "timed out"


@pytest.mark.parametrize("sig, when", [
    (signal.SIGKILL, "journal written"),
    (signal.SIGKILL, "first file written"),
    (signal.SIGKILL, "middle file written"),
    (signal.SIGINT, "first file written"),
])
def test_interrupted_apply_is_rolled_back(big_patch, tmp_path: Path, sig, when) -> None:
    pristine, yml = big_patch
    repo = tmp_path / "big"
    subprocess.run(["git", "clone", "-q", str(pristine), str(repo)], check=True)
    journal = Path(git(repo, "rev-parse", "--absolute-git-dir").strip()) / \
        "h7psram-patch-journal"

    def written(f: Path) -> bool:
        try:
            return f.read_text().startswith("long")
        except FileNotFoundError:  # git apply replaces a file by removing it first
            return True

    first, middle = repo / "f00000.c", repo / f"f{N_FILES // 2:05d}.c"
    trigger = {"journal written": journal.exists,
               "first file written": lambda: written(first),
               "middle file written": lambda: written(middle)}[when]
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS)}
    proc = subprocess.Popen([sys.executable, "-c", _APPLY, str(yml), str(repo)], env=env,
                            start_new_session=True, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: trigger() or proc.poll() is not None)
        os.killpg(proc.pid, sig)  # the whole group, as Ctrl-C or a kill of the session does
    except ProcessLookupError:
        pass
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    after_kill = tree_state(repo)
    if sig == signal.SIGINT and proc.returncode == 1:
        assert "interrupted; rolled back" in err and after_kill == "pristine"

    # The next run puts the tree back first, then applies all of it.
    patch_set = patchlib.load_patch_set(yml)
    outcome = patchlib.apply_patches(patch_set, {"big": repo})
    assert tree_state(repo) == "patched", f"killed at '{when}' ({after_kill})"
    if after_kill.startswith("mixed"):
        assert outcome.recovered == [("big", "apply")]
    assert not journal.exists()
    patchlib.clean_patches(patch_set, {"big": repo})
    assert tree_state(repo) == "pristine"
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    print(f"{sig.name} at {when}: tree was {after_kill}")


def test_list_reports_a_wrong_checksum(two_patches_dir: tuple[Patches, Repo]) -> None:
    patches, upstream = two_patches_dir
    patches.entries[0]["sha256sum"] = "0" * 64
    patches.save()
    (status,) = patchlib.patch_states(patchlib.load_patch_set(patches.yml),
                                      {"upstream": upstream.path})
    assert status.state == patchlib.BAD_CHECKSUM
    assert "sha256sum mismatch for upstream/0001-main.patch" in status.detail
