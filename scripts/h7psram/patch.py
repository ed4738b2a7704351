"""Patches to west projects: ``patches.yml`` validation, all-or-nothing apply and clean.

The format follows Zephyr's ``west patch``: a top-level ``patches:`` list whose entries
name a patch file (relative to the patches directory), its SHA-256, the west project it
changes (``module``) and who wrote it and why. Only ``git apply`` is used, so a module's
git history and index are never touched; only its working tree changes.

Guarantees this module gives its callers:

* nothing is written before every selected patch file exists, matches its checksum and
  has been checked with ``git apply --check`` against its module's current tree;
* a module whose working tree conflicts with a patch is not written at all, and the
  error names the module, the patch and the file that conflicts;
* when writing fails half-way (another process changed a tree between the check and the
  write), what was already written is reversed, so the trees end as they started;
* ``clean`` reverses only our own patches, so unrelated local edits survive;
* every path a patch names (old and new names, renames and copies) must resolve inside
  its module's tree with symlinks followed, or the patch is refused before any verb
  touches anything;
* apply and clean are journaled: before a module is written, the files the patches touch
  are copied into a journal in the module's git directory, and the journals are dropped
  only when every module is written. A run that is killed half-way leaves its journals
  behind, and the next apply, clean or clean --force first puts those files back, so the
  trees end as they started (``list`` reports the interrupted run and changes nothing).

Library functions take a mapping ``module name -> working tree path`` so they are usable
and testable without a west workspace; the ``west patch`` command builds that mapping from
the manifest.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from h7psram import yaml_input
from h7psram.errors import CheckFailed, InputError

# Patch states reported by ``list`` and used to plan apply / clean.
APPLIED = "applied"
NOT_APPLIED = "not applied"
CONFLICTS = "conflicts"
BAD_CHECKSUM = "bad checksum"   # list only: apply and clean refuse such a patch outright

_REQUIRED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "path": str,
    "sha256sum": str,
    "module": str,
    "author": str,
    "email": str,
    "date": (str, _dt.date),
}
# Optional fields of Zephyr's schema that mean something without a custom apply command.
# "apply-command", "checkout-command" and "clean-command" are deliberately absent: this
# tool always uses git apply, and an entry asking for something else must not be ignored.
_OPTIONAL_FIELDS: dict[str, type | tuple[type, ...] | None] = {
    "upstreamable": bool,
    "merge-pr": str,
    "issue": str,
    "merge-status": bool,
    "merge-commit": str,
    "merge-date": (str, _dt.date),
    "comments": str,
    "custom": None,  # free-form by definition
}
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_SHA1_RE = re.compile(r"^[0-9a-f]{40}$")
_URL_RE = re.compile(r"^https?://")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class PatchEntry:
    """One validated entry of ``patches.yml``."""

    index: int                # position in the ``patches:`` list, for messages
    path: str                 # as written, relative to the patches directory
    file: Path                # absolute path of the patch file
    sha256sum: str
    module: str               # west project name
    author: str
    email: str
    date: _dt.date
    upstreamable: bool = True
    merge_pr: str | None = None
    issue: str | None = None
    comments: str | None = None


@dataclass
class PatchSet:
    """A validated ``patches.yml`` and where its patch files live."""

    yml: Path
    base: Path
    entries: list[PatchEntry] = field(default_factory=list)

    def select(self, modules: Iterable[str] | None) -> list[PatchEntry]:
        """Entries for the given modules (all when ``modules`` is empty or None)."""
        wanted = set(modules or ())
        return [e for e in self.entries if not wanted or e.module in wanted]


@dataclass(frozen=True)
class PatchStatus:
    entry: PatchEntry
    state: str                # APPLIED | NOT_APPLIED | CONFLICTS
    detail: str = ""          # for CONFLICTS: what git apply objected to


@dataclass
class Outcome:
    """What apply or clean did, per module, in manifest order of the patches."""

    changed: dict[str, list[PatchEntry]] = field(default_factory=dict)
    skipped: list[PatchEntry] = field(default_factory=list)
    # (module, "apply" | "clean") for each run found interrupted and rolled back first
    recovered: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- loading


def load_patch_set(yml: Path | str, base: Path | str | None = None) -> PatchSet:
    """Read and validate ``patches.yml``; ``base`` defaults to the file's directory.

    Raises InputError naming the file, the entry index and the field for every problem of
    form. Patch files are checked for existence here; checksums in verify_checksums().
    """
    yml = Path(yml)
    # Absolute, because git runs with -C <module> and would read a relative path from there.
    base = (Path(base) if base is not None else yml.parent).absolute()
    name = _display(yml)
    try:
        doc = yaml_input.load(yml, name=name, missing="file not found")
    except yaml_input.BadYaml as err:
        where = f"line {err.line} column {err.column}: " if err.line else ""
        raise InputError(f"{name}: malformed YAML: {where}{err.problem}") from None

    if not isinstance(doc, dict) or "patches" not in doc:
        raise InputError(f"{name}: expected a mapping with a 'patches:' list at the top level")
    unknown = sorted(set(doc) - {"patches"})
    if unknown:
        raise InputError(f"{name}: unsupported top-level key '{unknown[0]}' "
                         "(only 'patches' is used; patches are applied with git apply)")
    raw = doc["patches"]
    if raw is None:  # "patches:" with nothing under it
        raw = []
    if not isinstance(raw, list):
        raise InputError(f"{name}: 'patches' must be a list, got {type(raw).__name__}")

    entries: list[PatchEntry] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        entry = _parse_entry(name, base, index, item)
        if entry.path in seen:
            raise InputError(f"{name}: patches[{index}]: path '{entry.path}' is already "
                             f"listed as patches[{seen[entry.path]}]")
        seen[entry.path] = index
        entries.append(entry)
    return PatchSet(yml=yml, base=base, entries=entries)


def _parse_entry(name: str, base: Path, index: int, item: Any) -> PatchEntry:
    where = f"{name}: patches[{index}]"
    if not isinstance(item, dict):
        raise InputError(f"{where}: expected a mapping, got {type(item).__name__}")
    for key, kind in _REQUIRED_FIELDS.items():
        if key not in item or item[key] is None or item[key] == "":
            raise InputError(f"{where}: missing field '{key}'")
        if not isinstance(item[key], kind):
            raise InputError(f"{where}: field '{key}' must be {_kind_name(kind)}")
    for key, value in item.items():
        if key in _REQUIRED_FIELDS:
            continue
        if key not in _OPTIONAL_FIELDS:
            raise InputError(f"{where}: unknown field '{key}'")
        kind = _OPTIONAL_FIELDS[key]
        if kind is not None and value is not None and not isinstance(value, kind):
            raise InputError(f"{where}: field '{key}' must be {_kind_name(kind)}")

    rel = item["path"]
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or "\\" in rel:
        raise InputError(f"{where}: field 'path' must be relative to the patches "
                         f"directory without '..': '{rel}'")
    file = base / pure
    try:
        found = file.is_file()
    except OSError as err:  # e.g. a name longer than the file system allows
        raise InputError(f"{where}: field 'path': {err.strerror}: '{rel[:80]}'") from None
    if not found:
        raise InputError(f"{where}: field 'path': patch file {_display(file)} not found")

    sha = item["sha256sum"]
    if not _SHA256_RE.match(sha):
        raise InputError(f"{where}: field 'sha256sum' must be 64 lowercase hex digits, "
                         f"got '{sha}'")
    if not _EMAIL_RE.match(item["email"]):
        raise InputError(f"{where}: field 'email' is not an e-mail address: '{item['email']}'")
    date = _parse_date(where, "date", item["date"])
    if item.get("merge-date") is not None:
        _parse_date(where, "merge-date", item["merge-date"])
    for key in ("merge-pr", "issue"):
        if item.get(key) is not None and not _URL_RE.match(item[key]):
            raise InputError(f"{where}: field '{key}' must be an http(s) URL")
    if item.get("merge-commit") is not None and not _SHA1_RE.match(item["merge-commit"]):
        raise InputError(f"{where}: field 'merge-commit' must be 40 lowercase hex digits")

    upstreamable = item.get("upstreamable")
    return PatchEntry(
        index=index, path=rel, file=file, sha256sum=sha, module=item["module"],
        author=item["author"], email=item["email"], date=date,
        upstreamable=True if upstreamable is None else upstreamable,
        merge_pr=item.get("merge-pr"), issue=item.get("issue"), comments=item.get("comments"),
    )


def _parse_date(where: str, key: str, value: str | _dt.date) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{where}: field '{key}' must be a date YYYY-MM-DD, "
                         f"got '{value}'") from None


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    words = {str: "a string", bool: "true or false", _dt.date: "a date YYYY-MM-DD"}
    return " or ".join(words.get(k, k.__name__) for k in kinds)


def _display(path: Path) -> str:
    """A path for messages: relative to the current directory when that is shorter."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return rel if not rel.startswith("..") else str(path)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checksum_problems(patch_set: PatchSet,
                      entries: Sequence[PatchEntry]) -> dict[int, str]:
    """entry index -> what is wrong with its file's SHA-256 (nothing for a good one)."""
    name = _display(patch_set.yml)
    problems: dict[int, str] = {}
    for e in entries:
        try:
            actual = sha256_of(e.file)
        except OSError as err:
            raise InputError(f"{name}: patches[{e.index}]: cannot read {_display(e.file)}: "
                             f"{err.strerror}") from None
        if actual != e.sha256sum:
            problems[e.index] = (f"{name}: patches[{e.index}]: sha256sum mismatch for "
                                 f"{e.path}: listed {e.sha256sum}, file has {actual}")
    return problems


def verify_checksums(patch_set: PatchSet, entries: Sequence[PatchEntry]) -> None:
    """Raise InputError for the first patch file whose SHA-256 is not the listed one."""
    for problem in checksum_problems(patch_set, entries).values():
        raise InputError(problem)


# --------------------------------------------------------------------------- git


def _git(tree: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(["git", "-C", str(tree), *args], input=stdin, capture_output=True,
                         check=False)
    return subprocess.CompletedProcess(res.args, res.returncode,
                                       res.stdout.decode("utf-8", "replace"),
                                       res.stderr.decode("utf-8", "replace"))


def _git_apply(tree: Path, files: Sequence[Path], *, reverse: bool = False,
               check: bool = False) -> subprocess.CompletedProcess[str]:
    # The patches go in as ONE input on stdin. Given several file arguments, git apply
    # checks and writes each file on its own (a later failure leaves earlier files
    # written, and --check judges each against the untouched tree); one input is checked
    # as a whole before anything is written, and a later patch to the same file sees the
    # earlier patch's result. Files are always given in list order: with --reverse git
    # itself undoes them last-first.
    args = ["apply", "--whitespace=nowarn"]
    if reverse:
        args.append("--reverse")
    if check:
        args.append("--check")
    data = b""
    for f in files:
        chunk = f.read_bytes()
        data += chunk if chunk.endswith(b"\n") or not chunk else chunk + b"\n"
    return _git(tree, *args, stdin=data)


_GIT_ERROR_FILE_RES = (
    re.compile(r"^error: patch failed: (?P<file>.+):\d+$"),
    re.compile(r"^error: (?P<file>.+): (?:already exists in working directory|"
               r"does not exist in index|No such file or directory|"
               r"does not match index|patch does not apply)$"),
)


def _conflict_detail(stderr: str) -> str:
    """The file git apply objected to, plus its complaint, in a few words."""
    for line in stderr.splitlines():
        for rx in _GIT_ERROR_FILE_RES:
            m = rx.match(line.strip())
            if m:
                return f"{m.group('file')} ({line.strip()[len('error: '):]})"
    errors = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return errors[0] if errors else "git apply refused the patch"


def check_module_trees(patch_set: PatchSet, entries: Sequence[PatchEntry],
                       modules: Mapping[str, Path]) -> dict[str, Path]:
    """Resolve and check the working tree of every module the entries use.

    Raises InputError when a module is unknown, not checked out, or not the top of a
    git repository (git apply would then silently skip paths outside it).
    """
    name = _display(patch_set.yml)
    trees: dict[str, Path] = {}
    for e in entries:
        if e.module in trees:
            continue
        where = f"{name}: patches[{e.index}]: module '{e.module}'"
        if e.module not in modules:
            raise InputError(f"{where} is not a project of the west manifest")
        tree = Path(modules[e.module]).absolute()
        if not tree.is_dir():
            raise InputError(f"{where} is not checked out at {_display(tree)} "
                             "(run 'west update')")
        top = _git(tree, "rev-parse", "--show-toplevel")
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != tree.resolve():
            raise InputError(f"{where}: {_display(tree)} is not the top of a git repository")
        trees[e.module] = tree
    return trees


def check_readable(patch_set: PatchSet, entries: Sequence[PatchEntry],
                   trees: Mapping[str, Path]) -> None:
    """Raise InputError for a patch file git apply cannot parse at all.

    Without this, a truncated or empty file would only show up as "conflicts".
    """
    name = _display(patch_set.yml)
    for e in entries:
        res = _git(trees[e.module], "apply", "--numstat", str(e.file))
        if res.returncode != 0:
            raise InputError(f"{name}: patches[{e.index}]: {e.path} is not a patch git apply "
                             f"can read: {_conflict_detail(res.stderr)}")
        _check_confined(name, e, trees[e.module])


def _check_confined(name: str, e: PatchEntry, tree: Path) -> None:
    """Refuse a patch naming a path that leaves its module, directly or through a symlink.

    git apply refuses such paths itself, but clean --force acts on the names alone, and
    the journal copies them; so every verb checks them first.
    """
    top = tree.resolve()
    for rel in files_touched(tree, e.file, with_sources=True):
        pure = PurePosixPath(rel)
        inside = not pure.is_absolute() and ".." not in pure.parts
        if inside:
            try:
                inside = (tree / pure).resolve().is_relative_to(top)
            except (OSError, RuntimeError):  # a symlink loop, a name too long
                inside = False
        if not inside:
            raise InputError(f"{name}: patches[{e.index}]: {e.path} names '{rel}', which is "
                             f"outside module '{e.module}' ({_display(tree)}) once symlinks "
                             "are followed; refusing the patch, nothing was changed")


def _by_module(entries: Sequence[PatchEntry]) -> dict[str, list[PatchEntry]]:
    groups: dict[str, list[PatchEntry]] = {}
    for e in entries:
        groups.setdefault(e.module, []).append(e)
    return groups


def _classify_prefix(tree: Path, entries: Sequence[PatchEntry]) -> list[PatchStatus] | None:
    """States when the tree holds the first k patches and none of the rest, else None.

    That is the shape apply and clean leave behind, and patches that build on each other
    can only be judged as such a whole: a later patch may change the context an earlier
    one needs to be reversed.
    """
    n = len(entries)
    for k in range(n, -1, -1):  # most applied first, so nothing is applied twice
        done = [e.file for e in entries[:k]]
        rest = [e.file for e in entries[k:]]
        if done and _git_apply(tree, done, reverse=True, check=True).returncode != 0:
            continue
        if rest and _git_apply(tree, rest, check=True).returncode != 0:
            continue
        return ([PatchStatus(e, APPLIED) for e in entries[:k]]
                + [PatchStatus(e, NOT_APPLIED) for e in entries[k:]])
    return None


def _classify_forward(tree: Path, entries: Sequence[PatchEntry]) -> list[PatchStatus]:
    found = _classify_prefix(tree, entries)
    if found is not None:
        return found
    # Walk in list order and check each patch on top of the earlier ones still to be
    # applied, so a patch that builds on an earlier patch of the same module is judged
    # against the tree it will really meet.
    pending: list[Path] = []
    out: list[PatchStatus] = []
    for e in entries:
        fwd = _git_apply(tree, [*pending, e.file], check=True)
        if fwd.returncode == 0:
            pending.append(e.file)
            out.append(PatchStatus(e, NOT_APPLIED))
        elif _git_apply(tree, [e.file], reverse=True, check=True).returncode == 0:
            out.append(PatchStatus(e, APPLIED))
        else:
            out.append(PatchStatus(e, CONFLICTS, _conflict_detail(fwd.stderr)))
    return out


def _classify_reverse(tree: Path, entries: Sequence[PatchEntry]) -> list[PatchStatus]:
    found = _classify_prefix(tree, entries)
    if found is not None:
        return found
    # Mirror image of _classify_forward: undo from the last patch to the first.
    pending: list[Path] = []
    out: list[PatchStatus] = []
    for e in reversed(entries):
        rev = _git_apply(tree, [e.file, *reversed(pending)], reverse=True, check=True)
        if rev.returncode == 0:
            pending.append(e.file)
            out.append(PatchStatus(e, APPLIED))
        elif _git_apply(tree, [e.file], check=True).returncode == 0:
            out.append(PatchStatus(e, NOT_APPLIED))
        else:
            out.append(PatchStatus(e, CONFLICTS, _conflict_detail(rev.stderr)))
    out.reverse()
    return out


def patch_states(patch_set: PatchSet, modules: Mapping[str, Path],
                 only: Iterable[str] | None = None) -> list[PatchStatus]:
    """State of every selected patch in its module's current working tree."""
    entries = patch_set.select(only)
    _check_selection(patch_set, only, modules)
    trees = check_module_trees(patch_set, entries, modules)
    check_readable(patch_set, entries, trees)
    left = [m for m, t in modules.items() if _journal_dir(Path(t)) is not None
            and _journal_dir(Path(t)).is_dir()]
    if left:
        raise CheckFailed(f"{_display(patch_set.yml)}: an interrupted 'west patch' run left "
                          f"module {', '.join(repr(m) for m in left)} half-written; "
                          "'west patch apply' or 'west patch clean' puts it back first")
    states: dict[int, PatchStatus] = {}
    for module, group in _by_module(entries).items():
        for status in _classify_forward(trees[module], group):
            states[status.entry.index] = status
    for index, problem in checksum_problems(patch_set, entries).items():
        states[index] = PatchStatus(states[index].entry, BAD_CHECKSUM, problem)
    return [states[e.index] for e in entries]


def _check_selection(patch_set: PatchSet, only: Iterable[str] | None,
                     modules: Mapping[str, Path]) -> None:
    for m in only or ():
        if m not in modules:
            raise InputError(f"{_display(patch_set.yml)}: module '{m}' given with -m is not "
                             "a project of the west manifest")


# --------------------------------------------------------------------------- apply / clean

ProgressHook = Callable[[str, Path, list[PatchEntry]], None]


def apply_patches(patch_set: PatchSet, modules: Mapping[str, Path],
                  only: Iterable[str] | None = None, *,
                  on_module_done: ProgressHook | None = None) -> Outcome:
    """Apply every selected patch that is not applied yet, all or nothing.

    ``on_module_done(module, tree, entries)`` is called after each module has been
    written (the command prints progress from it).
    Raises InputError (bad checksum, unknown module) or CheckFailed (a patch conflicts
    with a tree, or a write failed and was rolled back) with nothing changed.
    """
    return _run(patch_set, modules, only, reverse=False, on_module_done=on_module_done)


def clean_patches(patch_set: PatchSet, modules: Mapping[str, Path],
                  only: Iterable[str] | None = None, *,
                  on_module_done: ProgressHook | None = None) -> Outcome:
    """Reverse every selected patch that is applied, all or nothing.

    Only the lines our patches changed are touched, so a user's unrelated edits survive;
    an edit that overlaps a patched hunk makes the reversal conflict (CheckFailed) and
    nothing is changed. restore_pinned() is the forceful alternative.
    """
    return _run(patch_set, modules, only, reverse=True, on_module_done=on_module_done)


def _run(patch_set: PatchSet, modules: Mapping[str, Path], only: Iterable[str] | None, *,
         reverse: bool, on_module_done: ProgressHook | None) -> Outcome:
    entries = patch_set.select(only)
    _check_selection(patch_set, only, modules)
    trees = check_module_trees(patch_set, entries, modules)
    verify_checksums(patch_set, entries)
    check_readable(patch_set, entries, trees)
    recovered = recover_interrupted(modules)

    wanted_state = APPLIED if reverse else NOT_APPLIED
    classify = _classify_reverse if reverse else _classify_forward
    outcome = Outcome(recovered=recovered)
    plan: list[tuple[str, Path, list[PatchEntry]]] = []
    conflicts: list[str] = []
    for module, group in _by_module(entries).items():
        todo: list[PatchEntry] = []
        for status in classify(trees[module], group):
            if status.state == CONFLICTS:
                conflicts.append(f"module '{module}' ({_display(trees[module])}): "
                                 f"{status.entry.path} conflicts at {status.detail}")
            elif status.state == wanted_state:
                todo.append(status.entry)
            else:
                outcome.skipped.append(status.entry)
        if todo:
            plan.append((module, trees[module], todo))
    if conflicts:
        verb = "clean" if reverse else "apply"
        raise CheckFailed(f"{_display(patch_set.yml)}: cannot {verb}, nothing was changed: "
                          + "; ".join(conflicts))

    done: list[tuple[str, Path, list[PatchEntry]]] = []
    journals: list[Path] = []
    try:
        for module, tree, todo in plan:
            paths: list[str] = []
            for e in todo:
                paths.extend(p for p in files_touched(tree, e.file) if p not in paths)
            journals.append(_write_journal(tree, "clean" if reverse else "apply", paths))
            done.append((module, tree, todo))
            res = _git_apply(tree, [e.file for e in todo], reverse=reverse)
            if res.returncode != 0:
                _roll_back(patch_set, done, reverse=reverse, failed=module,
                           why=_conflict_detail(res.stderr))
            outcome.changed[module] = todo
            if on_module_done is not None:
                on_module_done(module, tree, todo)
    except KeyboardInterrupt:
        # Ctrl-C: undo now rather than at the next run (kill -9 leaves that to the journal).
        for _module, tree, _todo in reversed(done):
            _restore_journal(tree)
        raise CheckFailed(f"{_display(patch_set.yml)}: interrupted; rolled back, nothing "
                          "was changed") from None
    # Every module is written: only now may the journals go (one rename each).
    for journal in journals:
        _drop_journal(journal)
    return outcome


def _roll_back(patch_set: PatchSet, done: list[tuple[str, Path, list[PatchEntry]]], *,
               reverse: bool, failed: str, why: str) -> None:
    name = _display(patch_set.yml)
    stuck: list[str] = []
    for module, tree, _todo in reversed(done):
        try:
            _restore_journal(tree)
        except OSError as err:
            stuck.append(f"'{module}' ({err})")
    verb = "cleaning" if reverse else "applying"
    if stuck:
        raise CheckFailed(f"{name}: {verb} module '{failed}' failed at {why}, and rolling "
                          f"back failed for {', '.join(stuck)}: check these trees by hand")
    rolled = ", ".join(f"'{m}'" for m, _, _ in done[:-1]) or "none"
    raise CheckFailed(f"{name}: {verb} module '{failed}' failed at {why} (the tree changed "
                      f"after the check?); rolled back modules already done: {rolled}")


# --------------------------------------------------------------------------- journal
#
# A journal is <module git dir>/h7psram-patch-journal/: "index.json" lists every path the
# run will write with the name of its saved copy under "files/" (None: the path did not
# exist). It is built as ...journal.tmp and renamed into place, so a journal either is
# complete or does not exist; it is removed by renaming it to ...journal.old first.

_JOURNAL = "h7psram-patch-journal"


def _journal_dir(tree: Path) -> Path | None:
    res = _git(tree, "rev-parse", "--absolute-git-dir")
    if res.returncode != 0:
        return None
    return Path(res.stdout.strip()) / _JOURNAL


def _write_journal(tree: Path, verb: str, paths: Sequence[str]) -> Path:
    journal = _journal_dir(tree)
    assert journal is not None  # check_module_trees made sure the tree is a repository
    tmp = journal.with_name(_JOURNAL + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "files").mkdir(parents=True)
    records: list[dict[str, Any]] = []
    new_dirs: list[str] = []
    for n, rel in enumerate(paths):
        target = tree / rel
        rec: dict[str, Any] = {"path": rel, "copy": None, "mode": None, "link": None}
        try:
            st = target.lstat()
        except FileNotFoundError:
            parent = PurePosixPath(rel).parent
            while parent != PurePosixPath(".") and not (tree / parent).exists():
                if str(parent) not in new_dirs:
                    new_dirs.append(str(parent))
                parent = parent.parent
        else:
            if stat.S_ISLNK(st.st_mode):
                rec["link"] = os.readlink(target)
            elif stat.S_ISREG(st.st_mode):
                rec["copy"] = f"{n:06d}"
                rec["mode"] = stat.S_IMODE(st.st_mode)
                shutil.copyfile(target, tmp / "files" / rec["copy"])
        records.append(rec)
    new_dirs.sort(key=lambda d: -len(PurePosixPath(d).parts))
    index = tmp / "index.json"
    with open(index, "w", encoding="utf-8") as f:
        json.dump({"verb": verb, "files": records, "new_dirs": new_dirs}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, journal)
    return journal


def _drop_journal(journal: Path) -> None:
    old = journal.with_name(_JOURNAL + ".old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(journal, old)
    shutil.rmtree(old, ignore_errors=True)


def _restore_journal(tree: Path) -> str | None:
    """Put back every file a journaled run saved; returns its verb, None without a journal.

    Running it again after it was itself interrupted gives the same result.
    """
    journal = _journal_dir(tree)
    if journal is None:
        return None
    for stale in (_JOURNAL + ".tmp", _JOURNAL + ".old"):  # never complete / already done
        shutil.rmtree(journal.with_name(stale), ignore_errors=True)
    if not journal.is_dir():
        return None
    doc = json.loads((journal / "index.json").read_text(encoding="utf-8"))
    for rec in doc["files"]:
        target = tree / rec["path"]
        if target.is_symlink() or target.is_file():
            target.unlink()
        if rec["copy"] is None and rec["link"] is None:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if rec["link"] is not None:
            os.symlink(rec["link"], target)
            continue
        tmp = target.with_name(target.name + ".h7psram-restore")
        shutil.copyfile(journal / "files" / rec["copy"], tmp)
        os.chmod(tmp, rec["mode"])
        os.replace(tmp, target)
    for d in doc["new_dirs"]:
        try:
            (tree / d).rmdir()
        except OSError:
            pass  # not empty (the user put something there) or already gone
    _drop_journal(journal)
    return str(doc["verb"])


def recover_interrupted(modules: Mapping[str, Path]) -> list[tuple[str, str]]:
    """Roll back what an interrupted apply or clean left; returns (module, verb) pairs.

    The journals of one run are dropped only after every module was written, so finding
    any means the whole run is undone.
    """
    undone: list[tuple[str, str]] = []
    for module, tree in modules.items():
        tree = Path(tree)
        if not (tree / ".git").exists():
            continue
        verb = _restore_journal(tree)
        if verb is not None:
            undone.append((module, verb))
    return undone


def files_touched(tree: Path, patch: Path, *, with_sources: bool = False) -> list[str]:
    """Every path a patch writes, including the old name of a renamed file.

    ``with_sources`` adds the files copies are made from, which are only read.
    """
    res = _git(tree, "apply", "--numstat", "-z", str(patch))
    if res.returncode != 0:
        raise InputError(f"{_display(patch)}: git apply cannot parse it: "
                         f"{_conflict_detail(res.stderr)}")
    # Records are "added\tdeleted\tpath"; for a rename git reports only the new name.
    paths = [rec.split("\t", 2)[2] for rec in res.stdout.split("\0") if rec.count("\t") >= 2]
    heads = ("rename from ", "copy from ") if with_sources else ("rename from ",)
    for line in patch.read_text(encoding="utf-8", errors="replace").splitlines():
        for head in heads:
            if line.startswith(head):
                old = _unquote(line[len(head):])
                if old not in paths:
                    paths.append(old)
    return paths


def _unquote(name: str) -> str:
    """Undo git's C-style quoting of unusual path names."""
    if not (name.startswith('"') and name.endswith('"')):
        return name
    raw = codecs.escape_decode(name[1:-1].encode("utf-8"))[0]
    return raw.decode("utf-8", "replace")


def restore_pinned(patch_set: PatchSet, modules: Mapping[str, Path],
                   revisions: Mapping[str, str], only: Iterable[str] | None = None, *,
                   on_module_done: ProgressHook | None = None) -> Outcome:
    """Force every file our patches touch back to the module's pinned revision.

    Files the patches add (absent at that revision) are deleted. Local edits to those
    files are lost; every other file of the module is left alone. ``revisions`` maps a
    module to a git revision (default ``HEAD``).
    """
    entries = patch_set.select(only)
    _check_selection(patch_set, only, modules)
    trees = check_module_trees(patch_set, entries, modules)
    verify_checksums(patch_set, entries)
    check_readable(patch_set, entries, trees)
    outcome = Outcome(recovered=recover_interrupted(modules))
    for module, group in _by_module(entries).items():
        tree = trees[module]
        rev = revisions.get(module, "HEAD")
        if _git(tree, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").returncode:
            raise InputError(f"module '{module}' ({_display(tree)}): revision '{rev}' "
                             "not found (run 'west update')")
        paths: list[str] = []
        for e in group:
            paths.extend(p for p in files_touched(tree, e.file) if p not in paths)
        tracked = [p for p in paths
                   if _git(tree, "cat-file", "-e", f"{rev}:{p}").returncode == 0]
        if tracked:
            res = _git(tree, "checkout", rev, "--", *tracked)
            if res.returncode != 0:
                raise CheckFailed(f"module '{module}' ({_display(tree)}): git checkout "
                                  f"failed: {res.stderr.strip().splitlines()[0]}")
        for p in paths:
            if p not in tracked and ((tree / p).is_file() or (tree / p).is_symlink()):
                (tree / p).unlink()
        outcome.changed[module] = group
        if on_module_done is not None:
            on_module_done(module, tree, group)
    return outcome


__all__ = [
    "APPLIED", "NOT_APPLIED", "CONFLICTS", "PatchEntry", "PatchSet", "PatchStatus",
    "Outcome", "load_patch_set", "verify_checksums", "check_module_trees", "patch_states",
    "apply_patches", "clean_patches", "restore_pinned", "files_touched", "sha256_of",
    "recover_interrupted", "checksum_problems",
]
