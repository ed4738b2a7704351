"""apply / clean on throw-away git repositories: all or nothing, idempotent, user edits safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from h7psram import patch as patchlib
from h7psram.errors import CheckFailed

from patch_repos import MAIN_C, Patches, Repo, git

PATCHED_MAIN = MAIN_C.replace("line 3\n", "line 3 patched\n")
BOARD_HOOK = "void board_hook(void) {}\n"


@pytest.fixture
def two_patches(patches: Patches, upstream: Repo) -> Patches:
    """A modification and a new file, for module 'upstream'."""
    patches.make(upstream, "upstream", "0001-main.patch", {"main.c": PATCHED_MAIN})
    patches.make(upstream, "upstream", "0002-hook.patch", {"port/hook.c": BOARD_HOOK})
    return patches


def states(patches: Patches, modules: dict[str, Path]) -> list[str]:
    return [s.state for s in patchlib.patch_states(patchlib.load_patch_set(patches.yml),
                                                   modules)]


def test_apply_then_clean(two_patches: Patches, upstream: Repo) -> None:
    modules = {"upstream": upstream.path}
    patch_set = patchlib.load_patch_set(two_patches.yml)
    assert states(two_patches, modules) == ["not applied", "not applied"]

    done = patchlib.apply_patches(patch_set, modules)
    assert [e.path for e in done.changed["upstream"]] == [
        "upstream/0001-main.patch", "upstream/0002-hook.patch"]
    assert upstream.read("main.c") == PATCHED_MAIN
    assert upstream.read("port/hook.c") == BOARD_HOOK
    assert upstream.status() == " M main.c\n?? port/hook.c\n"
    assert git(upstream.path, "rev-parse", "HEAD").strip() == upstream.pinned
    assert states(two_patches, modules) == ["applied", "applied"]

    cleaned = patchlib.clean_patches(patch_set, modules)
    assert len(cleaned.changed["upstream"]) == 2
    assert upstream.status() == ""
    assert upstream.read("main.c") == MAIN_C
    assert not (upstream.path / "port" / "hook.c").exists()
    assert states(two_patches, modules) == ["not applied", "not applied"]


def test_apply_is_idempotent(two_patches: Patches, upstream: Repo) -> None:
    modules = {"upstream": upstream.path}
    patch_set = patchlib.load_patch_set(two_patches.yml)
    patchlib.apply_patches(patch_set, modules)
    after_first = upstream.snapshot()
    again = patchlib.apply_patches(patch_set, modules)
    assert again.changed == {}
    assert [e.path for e in again.skipped] == [e["path"] for e in two_patches.entries]
    assert upstream.snapshot() == after_first
    # clean twice: the second has nothing to reverse
    patchlib.clean_patches(patch_set, modules)
    assert patchlib.clean_patches(patch_set, modules).changed == {}
    assert upstream.status() == ""


def test_partly_applied_tree_gets_the_rest(two_patches: Patches, upstream: Repo) -> None:
    upstream.write({"port/hook.c": BOARD_HOOK})  # as if 0002 had been applied by hand
    done = patchlib.apply_patches(patchlib.load_patch_set(two_patches.yml),
                                  {"upstream": upstream.path})
    assert [e.path for e in done.changed["upstream"]] == ["upstream/0001-main.patch"]
    assert [e.path for e in done.skipped] == ["upstream/0002-hook.patch"]
    assert upstream.read("main.c") == PATCHED_MAIN


def test_second_patch_conflicts_nothing_written(patches: Patches, upstream: Repo) -> None:
    patches.make(upstream, "upstream", "0001-main.patch", {"main.c": PATCHED_MAIN})
    # Made against a README this tree does not have, so it cannot apply.
    patches.make(upstream, "upstream", "0002-readme.patch", {"docs/readme.txt": "new\n"},
                 on_top_of=[{"docs/readme.txt": "some other readme\n"}])
    before = upstream.snapshot()
    with pytest.raises(CheckFailed) as exc:
        patchlib.apply_patches(patchlib.load_patch_set(patches.yml),
                               {"upstream": upstream.path})
    msg = str(exc.value)
    assert exc.value.exit_code == 1 and "\n" not in msg
    assert "nothing was changed" in msg
    assert "module 'upstream'" in msg and "upstream/0002-readme.patch conflicts at " \
        "docs/readme.txt" in msg
    assert upstream.snapshot() == before


def test_conflict_in_second_module_leaves_first_untouched(patches: Patches, upstream: Repo,
                                                         hal: Repo) -> None:
    patches.make(upstream, "upstream", "0001-main.patch", {"main.c": PATCHED_MAIN})
    patches.make(hal, "hal", "0001-hal.patch", {"hal.h": "#define HAL 2\n"})
    hal.write({"hal.h": "#define HAL 7 /* local edit */\n"})
    before = (upstream.snapshot(), hal.snapshot())
    with pytest.raises(CheckFailed, match=r"module 'hal' .*hal/0001-hal.patch conflicts at "
                                          r"hal\.h"):
        patchlib.apply_patches(patchlib.load_patch_set(patches.yml),
                               {"upstream": upstream.path, "hal": hal.path})
    assert (upstream.snapshot(), hal.snapshot()) == before


def test_local_conflicting_edit_is_left_alone(two_patches: Patches, upstream: Repo) -> None:
    upstream.write({"main.c": MAIN_C.replace("line 3\n", "line 3 mine\n")})
    before = upstream.snapshot()
    with pytest.raises(CheckFailed) as exc:
        patchlib.apply_patches(patchlib.load_patch_set(two_patches.yml),
                               {"upstream": upstream.path})
    assert "module 'upstream'" in str(exc.value)
    assert "upstream/0001-main.patch conflicts at main.c" in str(exc.value)
    assert upstream.snapshot() == before
    assert states(two_patches, {"upstream": upstream.path})[0] == "conflicts"


def test_unrelated_local_edits_survive_apply_and_clean(two_patches: Patches,
                                                       upstream: Repo) -> None:
    mine = MAIN_C.replace("line 18\n", "line 18 mine\n")
    upstream.write({"main.c": mine, "docs/readme.txt": "my notes\n", "scratch.txt": "x\n"})
    patch_set = patchlib.load_patch_set(two_patches.yml)
    patchlib.apply_patches(patch_set, {"upstream": upstream.path})
    assert upstream.read("main.c") == mine.replace("line 3\n", "line 3 patched\n")
    patchlib.clean_patches(patch_set, {"upstream": upstream.path})
    assert upstream.read("main.c") == mine
    assert upstream.read("docs/readme.txt") == "my notes\n"
    assert upstream.status() == " M docs/readme.txt\n M main.c\n?? scratch.txt\n"


def test_failure_midway_is_rolled_back(patches: Patches, upstream: Repo, hal: Repo) -> None:
    patches.make(upstream, "upstream", "0001-main.patch", {"main.c": PATCHED_MAIN})
    patches.make(upstream, "upstream", "0002-hook.patch", {"port/hook.c": BOARD_HOOK})
    patches.make(hal, "hal", "0001-hal.patch", {"hal.h": "#define HAL 2\n"})
    before = (upstream.snapshot(), hal.snapshot())
    written: list[str] = []

    def race(module: str, tree: Path, entries: list) -> None:
        # Someone edits the HAL after the check passed and before it is written.
        written.append(module)
        hal.write({"hal.h": "#define HAL 9\n"})

    with pytest.raises(CheckFailed) as exc:
        patchlib.apply_patches(patchlib.load_patch_set(patches.yml),
                               {"upstream": upstream.path, "hal": hal.path},
                               on_module_done=race)
    assert written == ["upstream"]
    assert "applying module 'hal' failed at hal.h" in str(exc.value)
    assert "rolled back modules already done: 'upstream'" in str(exc.value)
    assert upstream.snapshot() == before[0]
    assert hal.read("hal.h") == "#define HAL 9\n"


def test_dependent_patches_in_one_module(patches: Patches, upstream: Repo) -> None:
    patches.make(upstream, "upstream", "0001-main.patch", {"main.c": PATCHED_MAIN})
    # 0002's context contains 0001's change, so it only applies on top of it.
    final = PATCHED_MAIN.replace("line 4\n", "line 4 patched too\n")
    patches.make(upstream, "upstream", "0002-main.patch", {"main.c": final},
                 on_top_of=[{"main.c": PATCHED_MAIN}])
    patch_set = patchlib.load_patch_set(patches.yml)
    modules = {"upstream": upstream.path}
    assert states(patches, modules) == ["not applied", "not applied"]
    patchlib.apply_patches(patch_set, modules)
    assert upstream.read("main.c") == final
    assert states(patches, modules) == ["applied", "applied"]
    patchlib.clean_patches(patch_set, modules)
    assert upstream.status() == ""


def test_module_selection(patches: Patches, upstream: Repo, hal: Repo) -> None:
    patches.make(upstream, "upstream", "0001-main.patch", {"main.c": PATCHED_MAIN})
    patches.make(hal, "hal", "0001-hal.patch", {"hal.h": "#define HAL 2\n"})
    modules = {"upstream": upstream.path, "hal": hal.path}
    done = patchlib.apply_patches(patchlib.load_patch_set(patches.yml), modules, ["hal"])
    assert list(done.changed) == ["hal"]
    assert upstream.status() == "" and hal.status() == " M hal.h\n"


def test_clean_refuses_when_user_edited_a_patched_hunk(two_patches: Patches,
                                                       upstream: Repo) -> None:
    patch_set = patchlib.load_patch_set(two_patches.yml)
    modules = {"upstream": upstream.path}
    patchlib.apply_patches(patch_set, modules)
    upstream.write({"main.c": PATCHED_MAIN.replace("line 3 patched", "line 3 patched+mine"),
                    "docs/readme.txt": "my notes\n"})
    before = upstream.snapshot()
    with pytest.raises(CheckFailed, match="cannot clean, nothing was changed: module "
                                          "'upstream' .*0001-main.patch conflicts at main.c"):
        patchlib.clean_patches(patch_set, modules)
    assert upstream.snapshot() == before

    # The forceful way: patched files back to the pinned revision, other edits kept.
    patchlib.restore_pinned(patch_set, modules, {"upstream": upstream.pinned})
    assert upstream.read("main.c") == MAIN_C
    assert not (upstream.path / "port" / "hook.c").exists()
    assert upstream.status() == " M docs/readme.txt\n"


def test_files_touched_lists_renames_and_new_files(patches: Patches, upstream: Repo) -> None:
    patches.make(upstream, "upstream", "0001-mv.patch",
                 {"port/board.c": None, "port/board_h7.c": "int board(void) { return 0; }\n",
                  "new.txt": "n\n"})
    touched = patchlib.files_touched(upstream.path, patches.dir / "upstream" / "0001-mv.patch")
    assert sorted(touched) == ["new.txt", "port/board.c", "port/board_h7.c"]

    patch_set = patchlib.load_patch_set(patches.yml)
    patchlib.apply_patches(patch_set, {"upstream": upstream.path})
    assert not (upstream.path / "port" / "board.c").exists()
    patchlib.restore_pinned(patch_set, {"upstream": upstream.path}, {})
    assert upstream.status() == ""
