"""Reading a YAML file the user wrote, with the one-line errors the commands print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from h7psram.errors import InputError


def load(path: Path) -> Any:
    """The parsed document; InputError naming the file when it is missing, unreadable or not YAML."""
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: not found") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read: {err.strerror}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{where}") from None
