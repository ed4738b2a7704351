"""Writing a generated file (linker script, C header, build config) for make to pick up.

An unchanged file is left alone, so make does not rebuild for nothing; a changed one is written
beside the target and renamed over it, so an interrupted write never leaves half a file that a
later build would take as up to date.
"""

from __future__ import annotations

import os
from pathlib import Path

from h7psram.errors import InputError


def write_if_changed(path: Path, text: str) -> bool:
    """True when ``path`` was (re)written; InputError naming the file when it cannot be."""
    try:
        if path.read_text() == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass     # missing or unreadable: write it, and let the write say what is wrong
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as err:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise InputError(f"{path}: cannot write: {err.strerror}") from None
    return True
