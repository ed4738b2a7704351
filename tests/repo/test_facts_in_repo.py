"""Hardware facts are cited from the repository, never from notes outside it.

Code comments, the devicetree and the docs cite docs/hardware.md (a section
anchor and the public source's key). A citation of the team's private fact
sheet (its path, its "A.1"-style section numbers, its "[K-...]" keys) cannot
be followed by someone who clones the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

OUTSIDE_CITATION = re.compile(
    r"\.\./shared|shared/docs"                      # a path outside the repository
    r"|hardware[- ]facts?\s+[A-I]\b"                # "hardware facts F.1", "hardware-facts E.2"
    r"|fact sheet"
    r"|\bfacts [A-I]\b"                             # "facts F.3", "facts E"
    r"|\[K-[A-Z]"                                   # "[K-CMSIS]"
    r"|(?<![\w.#/])[A-I]\.\d{1,2}(?![\w.])"         # bare section numbers: "B.3", "(E.6)"
)


def tracked_files(root: Path) -> list[Path]:
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True)
    return [root / name for name in out.stdout.decode().split("\0") if name]


def outside_citations(root: Path, files) -> list[str]:
    hits = []
    for path in files:
        rel = path.relative_to(root)
        if rel.parts[:2] == ("tests", "repo") or not path.is_file():
            continue                                # this rule's own examples
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue                                # binary files cite nothing
        for n, line in enumerate(text.splitlines(), 1):
            m = OUTSIDE_CITATION.search(line)
            if m:
                hits.append(f"{rel}:{n}: {m.group(0)!r}")
    return hits


def test_no_tracked_file_cites_notes_outside_the_repository():
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    files = tracked_files(REPO)
    assert len(files) > 50
    hits = outside_citations(REPO, files)
    assert not hits, "cite docs/hardware.md instead:\n" + "\n".join(hits)


@pytest.mark.parametrize("line, found", [
    ("/* 64 KiB, CD_ITCMRAM_BASE [K-CMSIS] */", True),
    ("see ../shared/docs/hardware-facts.md", True),
    ("/* start rule (fact sheet B.10) */", True),
    ("| board files (facts F.1/F.2) |", True),
    ("tPU [E.4, E.6]", True),
    ("SYSTEM_PAGE = 0x08FFF000  # (hardware-facts A.1)", True),
    ("/* start rule (docs/hardware.md#octospi-registers) */", False),
    ("MicroPython v1.28.0, ES0478 2.7.8, DDI0489F §5.9.2", False),
    ("the hardware facts the code relies on", False),
])
def test_the_rule_tells_outside_citations_apart(tmp_path, line, found):
    (tmp_path / "docs").mkdir()
    f = tmp_path / "docs" / "x.md"
    f.write_text(line + "\n")
    assert bool(outside_citations(tmp_path, [f])) == found
