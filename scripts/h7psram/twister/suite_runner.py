"""Run the selected testcase.yaml tests, one pytest process each, and tabulate the outcome.

This is the library behind ``west hwtest`` (a small ``west twister``): each test runs as
``python -m pytest <pytest_root...> <device options> <pytest_args>`` with the test's
``timeout``; pytest's JUnit XML gives the counts, its output goes to ``OUTDIR/<id>/pytest.log``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from h7psram.sim_launch import package_env
from h7psram.twister.testcase import TestCase

#: statuses that make the whole run fail
FAILING = ("failed", "error", "timeout")


@dataclass
class CaseResult:
    case: TestCase
    status: str                  # passed | failed | error | timeout | skipped | filtered
    reason: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    log: Optional[Path] = None


def pytest_command(case: TestCase, device_args: Sequence[str], junit: Path) -> list[str]:
    argv = [sys.executable, "-m", "pytest", *case.roots(), "-q", "-rs", "-p", "no:cacheprovider",
            f"--junitxml={junit}"]
    if case.pytest_dut_scope:
        argv.append(f"--dut-scope={case.pytest_dut_scope}")
    return argv + list(device_args) + list(case.pytest_args)


def _junit_counts(path: Path) -> dict[str, int]:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return counts
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    for suite in suites:
        for key in counts:
            counts[key] += int(suite.get(key, "0"))
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts


def _skip_reasons(path: Path) -> str:
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return ""
    reasons = sorted({(node.get("message") or "").strip() for node in root.iter("skipped")} - {""})
    return "; ".join(reason.removeprefix("Skipped: ") for reason in reasons)


def run_case(case: TestCase, device_args: Sequence[str], outdir: Path, timeout_multiplier: float = 1.0,
             extra_args: Sequence[str] = ()) -> CaseResult:
    case_dir = outdir / case.id
    case_dir.mkdir(parents=True, exist_ok=True)
    junit = case_dir / "report.xml"
    log = case_dir / "pytest.log"
    junit.unlink(missing_ok=True)
    argv = pytest_command(case, list(device_args) + list(extra_args), junit)
    limit = case.timeout * timeout_multiplier
    start = time.monotonic()
    with log.open("wb") as out:
        out.write(("$ " + " ".join(argv) + "\n").encode())
        out.flush()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=package_env(), start_new_session=True)
        try:
            status = proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            # the whole process group: pytest and the simulator it started
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            return CaseResult(case, "timeout", f"no result within {limit:.0f} s",
                              _junit_counts(junit), time.monotonic() - start, log)
    seconds = time.monotonic() - start
    counts = _junit_counts(junit)
    if status == 5:
        return CaseResult(case, "error", "pytest collected no tests", counts, seconds, log)
    if status not in (0, 1):
        return CaseResult(case, "error", f"pytest exited with status {status}", counts, seconds, log)
    if counts["failures"] or counts["errors"] or status == 1:
        return CaseResult(case, "failed", f"{counts['failures']} failed, {counts['errors']} errors",
                          counts, seconds, log)
    if counts["tests"] and counts["skipped"] == counts["tests"]:
        return CaseResult(case, "skipped", _skip_reasons(junit), counts, seconds, log)
    return CaseResult(case, "passed", "", counts, seconds, log)


def run_all(cases: Sequence[tuple[TestCase, Optional[str]]], device_args: Sequence[str], outdir: Path,
            timeout_multiplier: float = 1.0, extra_args: Sequence[str] = (),
            progress: Callable[[str], None] = print) -> list[CaseResult]:
    """Run the cases whose filter reason is None; the others are reported as filtered."""
    results = []
    selected = [case for case, reason in cases if reason is None]
    number = 0
    for case, reason in cases:
        if reason is not None:
            results.append(CaseResult(case, "filtered", reason))
            continue
        number += 1
        result = run_case(case, device_args, outdir, timeout_multiplier, extra_args)
        results.append(result)
        progress(f"{number}/{len(selected)} {case.id:<28} {result.status.upper():<8} ({result.seconds:.1f} s)"
                 + (f" {result.reason}" if result.reason and result.status != "passed" else ""))
    return results


def summary_table(results: Sequence[CaseResult], platform: str) -> str:
    headers = ("test", "platform", "status", "pass", "fail", "skip", "time", "note")
    rows = []
    for result in results:
        counts = result.counts
        rows.append((
            result.case.id, platform, result.status,
            str(counts.get("passed", "")) if counts else "-",
            str(counts.get("failures", 0) + counts.get("errors", 0)) if counts else "-",
            str(counts.get("skipped", "")) if counts else "-",
            f"{result.seconds:.1f}s" if result.status != "filtered" else "-",
            result.reason if result.status != "passed" else "",
        ))
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    text = [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]
    totals: dict[str, int] = {}
    for result in results:
        totals[result.status] = totals.get(result.status, 0) + 1
    text.append("")
    text.append(f"{len(results)} tests: " + ", ".join(f"{n} {s}" for s, n in sorted(totals.items())))
    return "\n".join(text)
