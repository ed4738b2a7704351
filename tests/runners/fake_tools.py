"""Fake flash-tool executables for tests.

Each fake is a small Python script named like the tool (``dfu-util``, ``openocd``,
``pyocd``). When run, it appends its arguments to ``<name>.calls.jsonl`` and then
acts on the first rule whose ``when`` arguments all appear on its command line:
wait until the file ``wait_for`` exists (a GDB waits for its server: the fake GDB
waits for the fake server's call log, so a server killed when GDB quits has
recorded its arguments first, however loaded the machine), print ``output``,
copy ``upload`` to the file after ``-U`` (as ``dfu-util -U`` does), and exit
with ``rc``. Without a matching rule it prints nothing and exits 0.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = """#!{python}
import json, shutil, sys, time
from pathlib import Path
here = Path(__file__).resolve().parent
name = Path(sys.argv[0]).name
args = sys.argv[1:]
with open(here / (name + ".calls.jsonl"), "a") as log:
    log.write(json.dumps(args) + "\\n")
rules = json.loads((here / (name + ".rules.json")).read_text()) if (here / (name + ".rules.json")).exists() else []
for rule in rules:
    if all(w in args for w in rule.get("when", [])):
        deadline = time.monotonic() + 60
        while rule.get("wait_for") and not Path(rule["wait_for"]).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        sys.stdout.write(rule.get("output", ""))
        sys.stdout.flush()
        if rule.get("upload") and "-U" in args:
            shutil.copy(rule["upload"], args[args.index("-U") + 1])
        sys.exit(rule.get("rc", 0))
sys.exit(0)
"""


@dataclass
class FakeTools:
    bin_dir: Path

    def __post_init__(self) -> None:
        self.bin_dir.mkdir(parents=True, exist_ok=True)

    def install(self, name: str, *rules: dict) -> Path:
        """Create the fake ``name`` with its rules (first match wins)."""
        exe = self.bin_dir / name
        exe.write_text(_SCRIPT.format(python=sys.executable))
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        (self.bin_dir / f"{name}.rules.json").write_text(json.dumps(list(rules)))
        return exe

    def install_gdb(self, name: str, server: str, **rule: object) -> Path:
        """A fake GDB that waits for the fake GDB server ``server`` to have started."""
        return self.install(name, {"wait_for": str(self.bin_dir / f"{server}.calls.jsonl"), **rule})

    def calls(self, name: str) -> list[list[str]]:
        log = self.bin_dir / f"{name}.calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    @property
    def path_env(self) -> str:
        return str(self.bin_dir) + os.pathsep + os.environ.get("PATH", "")
