"""`west mpytest`: MicroPython's run-tests.py against the simulated board.

The skip list, the test selection and the wiring are checked offline; the run itself needs the
workspace's MicroPython (marked `micropython`): a handful of upstream tests (one needing
unittest, one needing the UART jumper of the target-wiring file, one on the skip list) plus two
of our own next to them, one that must fail and one that checks ticks_us never runs backwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from h7psram import mpytest
from h7psram.errors import InputError

REPO = Path(__file__).resolve().parents[2]


def test_the_skip_list_has_one_line_reason_for_each_test():
    skips = mpytest.load_skips()
    assert skips, "the skip list is empty: then it should go"
    for test, reason in skips.items():
        assert re.fullmatch(r"[a-z_]+/[\w.]+\.py", test), test
        assert len(reason) > 20 and "\n" not in reason, (test, reason)


@pytest.mark.parametrize("text, problem", [
    ("skips: [a.py]\n", "expected a mapping"),
    ("skips:\n  basics/x.txt: why\n", "relative to MicroPython's tests/"),
    ("skips:\n  /abs/x.py: why\n", "relative to MicroPython's tests/"),
    ("skips:\n  basics/x.py: ''\n", "one non-empty line"),
    ("skips:\n  basics/x.py: |\n    two\n    lines\n", "one non-empty line"),
    ("skips: {basics/x.py: [\n", "not valid YAML (line"),
])
def test_a_bad_skip_list_is_one_line_naming_the_file(tmp_path, text, problem):
    bad = tmp_path / "skips.yaml"
    bad.write_text(text)
    with pytest.raises(InputError) as err:
        mpytest.load_skips(bad)
    assert str(err.value).startswith(f"{bad}: ") and problem in str(err.value)
    assert err.value.exit_code == 2


@pytest.fixture
def tests_dir(tmp_path) -> Path:
    for name in ("basics/a.py", "basics/b.py", "extmod/c.py", "extmod/d.py", "misc/e.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("print(1)\n")
    return tmp_path


def test_directories_run_whole_and_files_are_grouped_by_directory(tests_dir):
    skips = {"extmod/c.py": "reason", "misc/e.py": "reason"}
    groups = mpytest.plan(tests_dir, ["basics/a.py", "extmod", "basics/b.py", "misc/e.py"], skips)
    assert [(g.name, g.whole, g.files, g.skipped) for g in groups] == [
        ("basics", False, ["basics/a.py", "basics/b.py"], []),
        ("extmod", True, [], ["extmod/c.py"]),
        ("misc", False, [], ["misc/e.py"]),
    ]
    # a directory run leaves its skips out through run-tests.py's own exclude filter
    assert mpytest.exclude_args(groups[1]) == ["-e", r"^extmod/c\.py$"]
    assert mpytest.plan(tests_dir, ["misc/e.py"], skips, run_skipped=True)[0].files == ["misc/e.py"]


def test_slow_tests_leave_their_directory_run_and_run_alone(tests_dir):
    groups = mpytest.plan(tests_dir, ["extmod", "basics/a.py", "basics/b.py"], {"extmod/c.py": "reason"},
                          slow=["extmod/d.py", "basics/b.py", "misc/e.py"])
    assert [(g.name, g.files, g.skipped, g.slow) for g in groups] == [
        ("extmod", [], ["extmod/c.py"], ["extmod/d.py"]),
        ("basics", ["basics/a.py"], [], ["basics/b.py"]),
    ]
    assert mpytest.exclude_args(groups[0]) == ["-e", r"^extmod/c\.py$", "-e", r"^extmod/d\.py$"]
    assert mpytest.exclude_args(groups[1]) == []          # named files: the slow one is not among them
    slow = mpytest.load_slow()
    assert all(0 < seconds <= 3600 and len(reason) > 20 for seconds, reason in slow.values()), slow
    assert not set(slow) & set(mpytest.load_skips())


@pytest.mark.parametrize("text, problem", [
    ("slow: [a.py]\n", "expected a mapping 'slow:'"),
    ("slow:\n  basics/x.py: {seconds: 0, reason: long enough}\n", "'seconds' must be"),
    ("slow:\n  basics/x.py: {seconds: yes, reason: long enough}\n", "'seconds' must be"),
    ("slow:\n  basics/x.py: {seconds: 30}\n", "one non-empty line"),
    ("slow:\n  basics/x: {seconds: 30, reason: why}\n", "relative to MicroPython's tests/"),
])
def test_a_bad_slow_entry_is_one_line_naming_the_file(tmp_path, text, problem):
    bad = tmp_path / "skips.yaml"
    bad.write_text("skips: {}\n" + text)
    with pytest.raises(InputError) as err:
        mpytest.load_slow(bad)
    assert str(err.value).startswith(f"{bad}: ") and problem in str(err.value)


@pytest.mark.parametrize("item, problem", [("nosuch", "no such test directory or file"),
                                           ("basics/a.txt", "no such test directory or file")])
def test_an_unknown_test_is_unusable_input(tests_dir, item, problem):
    with pytest.raises(InputError, match=problem):
        mpytest.plan(tests_dir, [item], {})


def test_the_boards_wiring_files_ask_for_a_uart_jumper_the_simulator_can_make():
    from h7psram.sim.usart import usart_name

    for board in ("devebox_h7a3", "weact_mini_h7a3"):
        wiring = mpytest.target_wiring_file(board)
        assert wiring is not None, board
        namespace: dict = {}
        exec(wiring.read_text(), namespace)           # what run-tests.py sends to the board
        assert namespace["uart_loopback_args"] == (2,) and namespace["uart_loopback_kwargs"] == {}
        assert [usart_name(u) for u in mpytest.wiring_loopbacks(wiring)] == ["USART2"]


def test_without_a_workspace_west_mpytest_says_why_in_one_line(tmp_path):
    from west_workspace import make_workspace

    ws = make_workspace(tmp_path / "ws")
    env = {k: v for k, v in os.environ.items() if k != "H7PSRAM_WORKSPACE"}   # this workspace only
    r = subprocess.run([sys.executable, "-m", "west", "mpytest", "--list"], cwd=ws,
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "run 'west update'" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "west", "mpytest", "-d", str(tmp_path / "nobuild")], cwd=ws,
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and "build_info.yml" in r.stderr and "Traceback" not in r.stderr, r.stderr


TICKS = """\
import time
back = 0
prev = time.ticks_us()
for i in range(20000):
    t = time.ticks_us()
    if time.ticks_diff(t, prev) < 0:
        back += 1
    prev = t
print("ticks_us backwards", back)
"""


@pytest.mark.micropython
def test_west_mpytest_runs_upstream_tests_on_the_simulated_board(build_dir, mpy_workspace, tmp_path):
    bdir = build_dir("devebox_h7a3")
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "ticks_monotonic.py").write_text(TICKS)
    (ours / "ticks_monotonic.py.exp").write_text("ticks_us backwards 0\n")
    (ours / "must_fail.py").write_text("print(1)\n")
    (ours / "must_fail.py.exp").write_text("2\n")
    upstream = ["basics/int1.py", "extmod/machine1.py", "extmod/machine_uart_tx.py",
                "extmod/socket_badconstructor.py"]
    cmd = [sys.executable, "-m", "west", "mpytest", "-d", str(bdir), "-r", str(tmp_path / "results"),
           *upstream, str(ours / "ticks_monotonic.py"), str(ours / "must_fail.py")]
    env = {**os.environ, "H7PSRAM_WORKSPACE": str(mpy_workspace.topdir)}
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1200, env=env)
    out = r.stdout
    assert r.returncode == 1, out + r.stderr                  # must_fail.py failed, nothing else
    assert re.search(r"^mpytest: failed in \S+: \S*must_fail\.py \(diffs:", out, re.M), out
    assert "mpytest: skip extmod/socket_badconstructor.py: " in out
    assert re.search(r"^pass +extmod/machine1\.py \(unittest: \d+ ran\)", out, re.M), out   # unittest found
    assert re.search(r"^pass +extmod/machine_uart_tx\.py", out, re.M), out     # timing over the jumper
    assert re.search(r"^mpytest:   basics: 1 passed, 0 skipped, 0 failed", out, re.M), out
    assert re.search(r"^mpytest:   extmod: 2 passed, 0 skipped \+ 1 on the skip list, 0 failed", out, re.M), out
    assert re.search(r"^mpytest:   \S+ours: 1 passed, 0 skipped, 1 failed", out, re.M), out
