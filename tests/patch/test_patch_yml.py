"""patches.yml validation: every problem is one InputError naming file, entry and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from h7psram import patch as patchlib
from h7psram.errors import InputError

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_error(yml: Path) -> InputError:
    with pytest.raises(InputError) as exc:
        patchlib.load_patch_set(yml)
    err = exc.value
    assert err.exit_code == 2
    assert "\n" not in str(err)
    assert "patches.yml" in str(err)
    return err


def test_empty_list_and_empty_key_load(tmp_path: Path) -> None:
    yml = tmp_path / "patches.yml"
    yml.write_text("patches: []\n")
    assert patchlib.load_patch_set(yml).entries == []
    yml.write_text("patches:\n")
    assert patchlib.load_patch_set(yml).entries == []


def test_repository_patches_yml_is_valid() -> None:
    # Guards the real file: any entry added later must validate and match its checksum.
    patch_set = patchlib.load_patch_set(REPO_ROOT / "patches" / "patches.yml")
    patchlib.verify_checksums(patch_set, patch_set.entries)
    assert all(e.module == "micropython" for e in patch_set.entries)


def test_valid_entry_fields(patches, upstream) -> None:
    patches.make(upstream, "upstream", "0001-a.patch", {"main.c": "x\n"})
    patches.entries[0]["merge-pr"] = "https://github.com/micropython/micropython/pull/1"
    patches.save()
    (entry,) = patchlib.load_patch_set(patches.yml).entries
    assert entry.path == "upstream/0001-a.patch"
    assert entry.file == patches.dir / "upstream" / "0001-a.patch"
    assert entry.module == "upstream" and entry.upstreamable is False
    assert str(entry.date) == "2026-01-31"
    assert entry.merge_pr.endswith("/pull/1")


def test_malformed_yaml(tmp_path: Path) -> None:
    yml = tmp_path / "patches.yml"
    yml.write_text("patches:\n  - path: a.patch\n    sha256sum: [unclosed\n")
    err = load_error(yml)
    assert "malformed YAML" in str(err) and "line " in str(err)


def test_missing_patches_yml(tmp_path: Path) -> None:
    assert "file not found" in str(load_error(tmp_path / "patches.yml"))


def test_no_patches_key(tmp_path: Path) -> None:
    yml = tmp_path / "patches.yml"
    yml.write_text("- path: a.patch\n")
    assert "'patches:' list" in str(load_error(yml))


def test_missing_patch_file(patches, upstream) -> None:
    patches.make(upstream, "upstream", "0001-a.patch", {"main.c": "x\n"})
    (patches.dir / "upstream" / "0001-a.patch").unlink()
    err = load_error(patches.yml)
    assert "patches[0]: field 'path': patch file" in str(err)
    assert "0001-a.patch not found" in str(err)


def test_bad_sha256_format(patches, upstream) -> None:
    patches.make(upstream, "upstream", "0001-a.patch", {"main.c": "x\n"})
    patches.entries[0]["sha256sum"] = "ABC123"
    patches.save()
    err = load_error(patches.yml)
    assert "patches[0]: field 'sha256sum' must be 64 lowercase hex digits" in str(err)


def test_sha256_mismatch_stops_apply_before_any_write(patches, upstream) -> None:
    patches.make(upstream, "upstream", "0001-a.patch", {"main.c": "x\n"})
    patches.make(upstream, "upstream", "0002-b.patch", {"docs/readme.txt": "y\n"})
    with open(patches.dir / "upstream" / "0002-b.patch", "a") as f:
        f.write("\n")  # still a valid patch, but not the one that was reviewed
    patch_set = patchlib.load_patch_set(patches.yml)
    before = upstream.snapshot()
    with pytest.raises(InputError) as exc:
        patchlib.apply_patches(patch_set, {"upstream": upstream.path})
    assert exc.value.exit_code == 2
    assert "patches[1]: sha256sum mismatch for upstream/0002-b.patch" in str(exc.value)
    assert upstream.snapshot() == before


@pytest.mark.parametrize("field", ["path", "sha256sum", "module", "author", "email", "date"])
def test_missing_field(patches, upstream, field: str) -> None:
    patches.make(upstream, "upstream", "0001-a.patch", {"main.c": "x\n"})
    patches.make(upstream, "upstream", "0002-b.patch", {"main.c": "y\n"})
    del patches.entries[1][field]
    patches.save()
    assert f"patches[1]: missing field '{field}'" in str(load_error(patches.yml))


@pytest.mark.parametrize("field, value, expect", [
    ("date", "31.01.2026", "field 'date' must be a date YYYY-MM-DD"),
    ("email", "nobody", "field 'email' is not an e-mail address"),
    ("upstreamable", "maybe", "field 'upstreamable' must be true or false"),
    ("issue", "github.com/x", "field 'issue' must be an http(s) URL"),
    ("apply-command", "patch -p1", "unknown field 'apply-command'"),
    ("path", "../outside.patch", "field 'path' must be relative"),
    ("module", 3, "field 'module' must be a string"),
])
def test_bad_field(patches, upstream, field: str, value, expect: str) -> None:
    patches.make(upstream, "upstream", "0001-a.patch", {"main.c": "x\n"})
    patches.entries[0][field] = value
    patches.save()
    assert f"patches[0]: {expect}" in str(load_error(patches.yml))


def test_same_patch_listed_twice(patches, upstream) -> None:
    patches.make(upstream, "upstream", "0001-a.patch", {"main.c": "x\n"})
    patches.entries.append(dict(patches.entries[0]))
    patches.save()
    assert "patches[1]: path 'upstream/0001-a.patch' is already listed as patches[0]" in str(
        load_error(patches.yml))


def test_unknown_module(patches, upstream) -> None:
    patches.make(upstream, "upstream", "0001-a.patch", {"main.c": "x\n"})
    patch_set = patchlib.load_patch_set(patches.yml)
    with pytest.raises(InputError, match=r"patches\[0\]: module 'upstream' is not a project"):
        patchlib.apply_patches(patch_set, {"micropython": upstream.path})
    with pytest.raises(InputError, match=r"module 'nosuch' given with -m"):
        patchlib.patch_states(patch_set, {"upstream": upstream.path}, ["nosuch"])


def test_module_not_checked_out(patches, upstream, tmp_path: Path) -> None:
    patches.make(upstream, "upstream", "0001-a.patch", {"main.c": "x\n"})
    patch_set = patchlib.load_patch_set(patches.yml)
    with pytest.raises(InputError, match="is not checked out at .*west update"):
        patchlib.apply_patches(patch_set, {"upstream": tmp_path / "absent"})
    with pytest.raises(InputError, match="is not the top of a git repository"):
        patchlib.apply_patches(patch_set, {"upstream": upstream.path / "port"})


def test_patch_file_git_cannot_read(patches, upstream) -> None:
    patches.make(upstream, "upstream", "0001-a.patch", {"main.c": "x\n"})
    f = patches.dir / "upstream" / "0001-a.patch"
    f.write_text("this is not a diff\n")
    patches.entries[0]["sha256sum"] = patchlib.sha256_of(f)
    patches.save()
    patch_set = patchlib.load_patch_set(patches.yml)
    with pytest.raises(InputError, match=r"patches\[0\]: upstream/0001-a.patch is not a patch "
                                         r"git apply can read"):
        patchlib.apply_patches(patch_set, {"upstream": upstream.path})
