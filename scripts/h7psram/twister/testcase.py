"""``testcase.yaml`` files in twister's format, and the platform/tag filter over them.

A suite directory holds a ``testcase.yaml`` and its pytest files::

    common:                       # merged into every test below (lists are joined)
      harness: pytest
      tags: [psram]
      platform_allow: [devebox_h7a3, weact_mini_h7a3]
    tests:
      psram.boot:
        harness_config:
          pytest_root: ["test_boot.py"]      # relative to the suite directory
          pytest_args: ["-k", "banner"]
          pytest_dut_scope: module
        timeout: 120

Only the pytest harness is run here. Unknown keys are reported (twister would reject them too),
so a misspelt ``platform_allow`` cannot silently widen a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from h7psram import yaml_input
from h7psram.errors import InputError

FILE_NAME = "testcase.yaml"
DEFAULT_TIMEOUT_S = 60.0   # twister's default per test

_LIST_KEYS = ("platform_allow", "platform_exclude", "integration_platforms", "tags")
_KEYS = set(_LIST_KEYS) | {"harness", "harness_config", "timeout", "skip", "slow"}
_HARNESS_CONFIG_KEYS = {"pytest_root", "pytest_args", "pytest_dut_scope"}
_SCOPES = ("function", "class", "module", "package", "session")


@dataclass(frozen=True)
class TestCase:
    id: str
    source: Path                       # the testcase.yaml it came from
    harness: str
    pytest_root: tuple[str, ...]
    pytest_args: tuple[str, ...]
    pytest_dut_scope: Optional[str]
    platform_allow: tuple[str, ...]
    platform_exclude: tuple[str, ...]
    tags: tuple[str, ...]
    timeout: float
    skip: bool = False

    __test__ = False  # not a pytest test class, despite the name

    @property
    def suite_dir(self) -> Path:
        return self.source.parent

    def roots(self) -> list[str]:
        """The pytest paths (and node ids) to run, as paths from the current directory."""
        return [str(self.suite_dir / root) for root in self.pytest_root]

    def filter_reason(self, platform: str, tags: Iterable[str] = (), exclude_tags: Iterable[str] = ()) -> Optional[str]:
        """Why this test does not run on ``platform`` with these tag filters (None: it runs)."""
        if self.skip:
            return "skip: true"
        if self.harness != "pytest":
            return f"harness '{self.harness}' is not run by this tool"
        if self.platform_allow and platform not in self.platform_allow:
            return f"platform {platform} not in platform_allow"
        if platform in self.platform_exclude:
            return f"platform {platform} in platform_exclude"
        wanted = set(tags)
        if wanted and not wanted & set(self.tags):
            return f"no tag of {', '.join(sorted(wanted))}"
        excluded = set(exclude_tags) & set(self.tags)
        if excluded:
            return f"excluded tag {', '.join(sorted(excluded))}"
        return None


def _words(value: Any, where: str, key: str) -> tuple[str, ...]:
    # twister accepts both a YAML list and a space-separated string for these
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InputError(f"{where}: '{key}' must be a list of names or a space-separated string")


def _merge(common: dict[str, Any], test: dict[str, Any]) -> dict[str, Any]:
    merged = dict(common)
    for key, value in test.items():
        if key in _LIST_KEYS and key in common:
            merged[key] = list(_words(common[key], "", key)) + list(_words(value, "", key))
        elif key == "harness_config" and isinstance(common.get(key), dict) and isinstance(value, dict):
            merged[key] = {**common[key], **value}
        else:
            merged[key] = value
    return merged


def _check_keys(data: dict[str, Any], where: str) -> None:
    for key in data:
        if key not in _KEYS:
            raise InputError(f"{where}: unknown key '{key}'")


def _test_case(test_id: str, data: dict[str, Any], path: Path) -> TestCase:
    where = f"{path}: test '{test_id}'"
    harness = data.get("harness", "")
    if not isinstance(harness, str) or not harness:
        raise InputError(f"{where}: 'harness' is required (use 'pytest')")
    config = data.get("harness_config") or {}
    if not isinstance(config, dict):
        raise InputError(f"{where}: 'harness_config' must be a mapping")
    unknown = sorted(set(config) - _HARNESS_CONFIG_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown harness_config key '{unknown[0]}'")
    roots = _words(config.get("pytest_root", ["."]), where, "pytest_root")
    for root in roots:
        file_part = root.split("::", 1)[0]
        if not (path.parent / file_part).exists():
            raise InputError(f"{where}: pytest_root '{root}' does not exist in {path.parent}")
    args = config.get("pytest_args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise InputError(f"{where}: 'pytest_args' must be a list of strings")
    scope = config.get("pytest_dut_scope")
    if scope is not None and scope not in _SCOPES:
        raise InputError(f"{where}: pytest_dut_scope must be one of {', '.join(_SCOPES)}")
    timeout = data.get("timeout", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise InputError(f"{where}: 'timeout' must be a positive number of seconds")
    skip = data.get("skip", False)
    if not isinstance(skip, bool):
        raise InputError(f"{where}: 'skip' must be true or false")
    return TestCase(
        id=test_id, source=path, harness=harness, pytest_root=roots, pytest_args=tuple(args),
        pytest_dut_scope=scope,
        platform_allow=_words(data.get("platform_allow"), where, "platform_allow"),
        platform_exclude=_words(data.get("platform_exclude"), where, "platform_exclude"),
        tags=_words(data.get("tags"), where, "tags"), timeout=float(timeout), skip=skip,
    )


def load_testcases(path: Path) -> list[TestCase]:
    data = yaml_input.load(path)
    if not isinstance(data, dict) or not isinstance(data.get("tests"), dict) or not data["tests"]:
        raise InputError(f"{path}: needs a 'tests:' mapping of test ids")
    extra = sorted(set(data) - {"tests", "common"})
    if extra:
        raise InputError(f"{path}: unknown top-level key '{extra[0]}' (expected 'common' and 'tests')")
    common = data.get("common") or {}
    if not isinstance(common, dict):
        raise InputError(f"{path}: 'common' must be a mapping")
    _check_keys(common, f"{path}: common")
    cases = []
    for test_id, test in data["tests"].items():
        if not isinstance(test_id, str) or not test_id:
            raise InputError(f"{path}: test ids must be non-empty strings")
        test = test or {}
        if not isinstance(test, dict):
            raise InputError(f"{path}: test '{test_id}' must be a mapping")
        _check_keys(test, f"{path}: test '{test_id}'")
        cases.append(_test_case(test_id, _merge(common, test), path))
    return cases


def discover(root: Path) -> list[TestCase]:
    """Every test of every ``testcase.yaml`` under ``root``; ids must be unique."""
    if not root.is_dir():
        raise InputError(f"{root}: test suite root is not a directory")
    cases: list[TestCase] = []
    seen: dict[str, Path] = {}
    for path in sorted(root.rglob(FILE_NAME)):
        for case in load_testcases(path):
            if case.id in seen:
                raise InputError(f"{path}: test id '{case.id}' already used in {seen[case.id]}")
            seen[case.id] = path
            cases.append(case)
    if not cases:
        raise InputError(f"{root}: no {FILE_NAME} found")
    return cases
