"""Reading a YAML file the user wrote, with the one-line errors the commands print.

Every YAML input (build_info.yml, runners.yaml, patches.yml, a hardware map, testcase.yaml, the
MicroPython skip list) is read here: missing, unreadable and malformed files are told apart in
one place, and a caller that words its own error (a hint, its established phrasing) catches
``BadYaml`` and uses its line, column and problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from h7psram.errors import InputError


class BadYaml(InputError):
    """The file was read and is not YAML; ``line`` and ``column`` count from 1 (0 when unknown)."""

    def __init__(self, name: str, err: yaml.YAMLError) -> None:
        mark = getattr(err, "problem_mark", None)
        self.line = mark.line + 1 if mark is not None else 0
        self.column = mark.column + 1 if mark is not None else 0
        self.problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        super().__init__(f"{name}: not valid YAML ({where}{self.problem})")


def load(path: Path, *, name: str | None = None, missing: str = "not found") -> Any:
    """The parsed document; InputError naming the file (``name``, else the path) when it is
    missing (the problem is ``missing``), unreadable or not YAML (``BadYaml``)."""
    name = str(path) if name is None else name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{name}: {missing}") from None
    except OSError as err:
        raise InputError(f"{name}: cannot read: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{name}: cannot read: {err}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise BadYaml(name, err) from None
