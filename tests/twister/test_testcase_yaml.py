"""testcase.yaml reading and filtering, the hardware map, and the hwtest summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from h7psram.errors import InputError
from h7psram.twister import hwtest, suite_runner, testcase
from h7psram.twister.config import DeviceConfig, load_hardware_map

SUITES = Path(__file__).resolve().parents[1] / "suites"


def _suite(tmp_path: Path, name: str, yaml_text: str, tests: dict[str, str] | None = None) -> Path:
    suite = tmp_path / name
    suite.mkdir(parents=True)
    (suite / "testcase.yaml").write_text(yaml_text)
    for file_name, body in (tests or {"test_x.py": "def test_x():\n    pass\n"}).items():
        (suite / file_name).write_text(body)
    return suite / "testcase.yaml"


def test_the_workspace_suites_are_valid_twister_files() -> None:
    cases = testcase.discover(SUITES)
    ids = {case.id for case in cases}
    assert {"psram.selftest", "mpy.boot", "mpy.heap", "mpy.psram_module", "mpy.fallback.absent"} <= ids
    for case in cases:
        assert case.harness == "pytest"
        assert set(case.platform_allow) == {"devebox_h7a3", "weact_mini_h7a3"}
        assert case.timeout > 0 and case.tags


def test_common_is_merged_and_lists_are_joined(tmp_path: Path) -> None:
    path = _suite(tmp_path, "s", """
common:
  harness: pytest
  tags: a b
  platform_allow: [devebox_h7a3]
  harness_config: {pytest_args: ["-x"]}
tests:
  s.one:
    tags: [c]
    harness_config: {pytest_root: ["test_x.py::test_x"], pytest_dut_scope: function}
    timeout: 12
  s.two:
    platform_exclude: devebox_h7a3
""")
    one, two = testcase.load_testcases(path)
    assert one.tags == ("a", "b", "c") and one.timeout == 12.0
    assert one.pytest_args == ("-x",) and one.pytest_dut_scope == "function"
    assert one.roots() == [str(path.parent / "test_x.py::test_x")]
    assert two.timeout == testcase.DEFAULT_TIMEOUT_S and two.roots() == [str(path.parent / ".")]
    assert one.filter_reason("devebox_h7a3") is None
    assert one.filter_reason("weact_mini_h7a3") == "platform weact_mini_h7a3 not in platform_allow"
    assert two.filter_reason("devebox_h7a3") == "platform devebox_h7a3 in platform_exclude"
    assert one.filter_reason("devebox_h7a3", tags=["c"]) is None
    assert one.filter_reason("devebox_h7a3", tags=["z"]) == "no tag of z"
    assert one.filter_reason("devebox_h7a3", exclude_tags=["b"]) == "excluded tag b"


@pytest.mark.parametrize("text, message", [
    ("tests: [1, 2]\n", "needs a 'tests:' mapping"),
    ("tests:\n  a:\n    harness: pytest\n    platfrom_allow: [x]\n", "test 'a': unknown key 'platfrom_allow'"),
    ("tests:\n  a:\n    tags: x\n", "test 'a': 'harness' is required"),
    ("tests:\n  a:\n    harness: pytest\n    timeout: soon\n", "'timeout' must be a positive number"),
    ("tests:\n  a:\n    harness: pytest\n    harness_config: {pytest_root: [missing.py]}\n",
     "pytest_root 'missing.py' does not exist"),
    ("tests:\n  a:\n    harness: pytest\n    harness_config: {pytest_scope: module}\n",
     "unknown harness_config key 'pytest_scope'"),
    ("tests:\n  a: {harness: pytest\n", "not valid YAML (line"),
    ("common: {}\nextra: 1\ntests: {a: {harness: pytest}}\n", "unknown top-level key 'extra'"),
])
def test_bad_testcase_yaml_is_one_line_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = _suite(tmp_path, "bad", text)
    with pytest.raises(InputError) as failure:
        testcase.load_testcases(path)
    assert str(failure.value).startswith(str(path) + ": ")
    assert message in str(failure.value)
    assert "\n" not in str(failure.value)


def test_duplicate_ids_across_suites(tmp_path: Path) -> None:
    _suite(tmp_path, "a", "tests: {dup: {harness: pytest}}\n")
    _suite(tmp_path, "b", "tests: {dup: {harness: pytest}}\n")
    with pytest.raises(InputError, match="test id 'dup' already used"):
        testcase.discover(tmp_path)


def test_hardware_map_fields_and_selection(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("""
- id: 376E356F3339
  platform: devebox_h7a3
  product: STM32 BOOTLOADER
  runner: dfu-util
  serial: /dev/ttyUSB0
  connected: false
- id: 066DFF555051
  platform: devebox_h7a3
  runner: openocd
  serial: /dev/ttyUSB1
  baud: 230400
  connected: true
""")
    entries = load_hardware_map(path)
    assert [e.connected for e in entries] == [False, True]
    config = DeviceConfig(type="hardware", hardware_map=entries, hardware_map_path=path)
    chosen = config.for_platform("devebox_h7a3")
    assert (chosen.serial, chosen.runner, chosen.dev_id, chosen.baud) == ("/dev/ttyUSB1", "openocd", "066DFF555051", 230400)
    # the command line wins over the map
    forced = DeviceConfig(type="hardware", serial="/dev/pts/9", runner="pyocd", hardware_map=entries,
                          hardware_map_path=path).for_platform("devebox_h7a3")
    assert (forced.serial, forced.runner) == ("/dev/pts/9", "pyocd")
    with pytest.raises(InputError, match=r"map.yaml: no connected device for platform 'weact_mini_h7a3'"):
        config.for_platform("weact_mini_h7a3")


@pytest.mark.parametrize("text, message", [
    ("platform: x\n", "a hardware map is a YAML list"),
    ("- platform: devebox_h7a3\n", "device 1: 'serial' is required"),
    ("- {platform: p, serial: s, conected: true}\n", "device 1: unknown field 'conected'"),
    ("- {platform: p, serial: s, connected: yes please}\n", "'connected' must be true or false"),
])
def test_bad_hardware_map(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "hardware-map.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_hardware_map(path)


def _args(root: Path, **overrides: object) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    hwtest.add_arguments(parser)
    args = parser.parse_args(["-T", str(root)])
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


def test_hwtest_runs_each_selected_suite_and_tabulates(tmp_path: Path) -> None:
    root = tmp_path / "suites"
    _suite(root, "good", "tests: {t.good: {harness: pytest, tags: [x]}}\n",
           {"test_good.py": "def test_a():\n    pass\n\ndef test_b():\n    pass\n"})
    _suite(root, "bad", "tests: {t.bad: {harness: pytest, tags: [x]}}\n",
           {"test_bad.py": "def test_fails():\n    assert 1 == 2\n"})
    _suite(root, "other", "tests: {t.other: {harness: pytest, platform_allow: [weact_mini_h7a3]}}\n")
    _suite(root, "slow", "tests: {t.slow: {harness: pytest, timeout: 1, tags: [x]}}\n",
           {"test_slow.py": "import time\n\ndef test_sleeps():\n    time.sleep(30)\n"})
    lines: list[str] = []
    code = hwtest.run(_args(root, outdir=tmp_path / "out", platform="devebox_h7a3"), info=lines.append)
    text = "\n".join(lines)
    assert code == 1
    assert "4 tests: 1 failed, 1 filtered, 1 passed, 1 timeout" in text
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith("t.")}
    assert rows["t.good"][1:6] == ["devebox_h7a3", "passed", "2", "0", "0"]
    assert rows["t.bad"][2:5] == ["failed", "0", "1"]
    assert rows["t.other"][2] == "filtered"
    assert rows["t.slow"][2] == "timeout"
    assert "assert 1 == 2" in (tmp_path / "out" / "t.bad" / "pytest.log").read_text()
    # the device options reach pytest
    assert "--device-type=sim --platform=devebox_h7a3" in (tmp_path / "out" / "t.good" / "pytest.log").read_text()
    # selecting by id and tag, without running anything
    lines.clear()
    assert hwtest.run(_args(root, test=["t.good", "t.bad"], exclude_tag=["x"], list=True), info=lines.append) == 0
    assert [line.split()[0] for line in lines] == ["t.bad", "t.good"]
    assert all("(filtered: excluded tag x)" in line for line in lines)


def test_hwtest_unknown_id_is_an_input_error(tmp_path: Path) -> None:
    _suite(tmp_path, "s", "tests: {t.one: {harness: pytest}}\n")
    with pytest.raises(InputError, match="no test with id 't.two'"):
        hwtest.run(_args(tmp_path, test=["t.two"], list=True))


def test_pytest_command_carries_scope_and_args(tmp_path: Path) -> None:
    path = _suite(tmp_path, "s", "tests: {t: {harness: pytest, harness_config: "
                                 "{pytest_dut_scope: function, pytest_args: ['-k', 'x']}}}\n")
    case = testcase.load_testcases(path)[0]
    argv = suite_runner.pytest_command(case, ["--device-type=hardware"], tmp_path / "r.xml")
    assert argv[:3] == [sys.executable, "-m", "pytest"]
    assert argv[-4:] == ["--dut-scope=function", "--device-type=hardware", "-k", "x"]
