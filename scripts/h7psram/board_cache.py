"""The parsed boards kept on disk between processes, keyed on what they were parsed from.

Parsing a board's devicetree with edtlib (and importing it, with PyYAML for the bindings) is most
of a simulator's start-up, and every process would redo it for the same files. An entry's key is a
hash of the contents of every file the parse reads (the board's .dts, the includes it names, the
bindings), of the code that turns the tree into a Board and of the devicetree library's version, so
an edited file, a new binding or an upgraded library is a different key: an entry is never stale,
only unused. Anything wrong with the cache (no home directory, a read-only disk, a damaged entry)
makes it a miss and the board is parsed as before.

Where: $H7PSRAM_CACHE_DIR, else $XDG_CACHE_HOME/h7psram, else ~/.cache/h7psram (folder boards/).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path
from typing import Any

_FORMAT = b"h7psram board cache 1"
_KEEP = 64                          # entries kept; the oldest go when a new one is written
_INCLUDE = re.compile(rb'^\s*(?:/include/|#include)\s*["<]([^">]+)[">]', re.MULTILINE)


def cache_dir() -> Path | None:
    explicit = os.environ.get("H7PSRAM_CACHE_DIR")
    if explicit:
        return Path(explicit) / "boards"
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.path.expanduser("~"), ".cache"))
    if base.startswith("~"):
        return None                 # no home directory to expand
    return Path(base) / "h7psram" / "boards"


def _tree_files(board_file: Path) -> list[Path] | None:
    """Every file a parse of ``board_file`` reads: the dts files of its folder and what they
    include (recursively, as dtlib resolves them: beside the including file), and the bindings.
    None when an include cannot be found (the parse reports it; nothing is cached)."""
    board_file = board_file.resolve()
    folder = board_file.parent
    pending = sorted(p.resolve() for p in folder.glob("*.dts*"))
    if board_file not in pending:
        pending.append(board_file)
    seen: dict[Path, None] = {}
    while pending:
        f = pending.pop(0)
        if f in seen:
            continue
        seen[f] = None
        try:
            text = f.read_bytes()
        except OSError:
            return None
        for name in _INCLUDE.findall(text):
            target = f.parent / os.fsdecode(name)
            if not target.is_file():
                return None
            pending.append(target.resolve())
    return list(seen) + sorted((folder / "bindings").glob("*.yaml"))


def _library_stamp() -> bytes:
    import importlib.util
    spec = importlib.util.find_spec("devicetree")
    stamp = [sys.version.encode()]
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for name in ("dtlib.py", "edtlib.py"):
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            stamp.append(f"{folder}/{name} {st.st_mtime_ns} {st.st_size}".encode())
    return b"\n".join(stamp)


def tree_key(board_file: Path, reader_source: Path) -> str | None:
    """A digest of everything the Board parsed from ``board_file`` by the code in
    ``reader_source`` depends on; None when a file of the tree cannot be read."""
    files = _tree_files(board_file)
    if files is None:
        return None
    key = hashlib.sha256(_FORMAT)
    try:
        for part in (reader_source, *files):
            data = part.read_bytes()
            key.update(b"\0%s\0%d\0" % (os.fsencode(part), len(data)))
            key.update(data)
    except OSError:
        return None
    key.update(_library_stamp())
    return key.hexdigest()[:32]


def entry_path(board_file: Path, reader_source: Path) -> Path | None:
    """Where that Board is kept, or None when it cannot be kept."""
    folder = cache_dir()
    key = tree_key(board_file, reader_source) if folder is not None else None
    if key is None:
        return None
    return folder / f"{board_file.stem}-{key}.pickle"


def load(entry: Path | None) -> Any | None:
    if entry is None:
        return None
    import pickle  # here, not at the top: a no-op build's up-to-date check only hashes the tree
    try:
        with open(entry, "rb") as f:
            return pickle.load(f)
    except Exception:               # absent, unreadable or damaged: a miss, parsed again
        return None


def store(entry: Path | None, board: Any) -> None:
    if entry is None:
        return
    import pickle
    import tempfile
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(board, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, entry)      # readers see a whole entry or none
        except BaseException:
            os.unlink(tmp)
            raise
        _prune(entry.parent)
    except Exception:               # a cache that cannot be written is only slower
        return


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns)
    for old in entries[:-_KEEP]:
        try:
            old.unlink()
        except OSError:
            pass
