"""MicroPython's own test suite (tests/run-tests.py of the workspace's checkout) on a board.

`west mpytest` is the command. The board is the simulator running a build's
firmware (on a pseudo-terminal, with the jumpers of the board's
target-wiring file put in by the simulator) or a real board on a serial
port. Each test directory (or the files named in one directory) is one
run of run-tests.py, so every directory gets its own counts and time.

Before the first run the device must be able to `import unittest` (some
upstream tests are unittest modules): when it cannot, the package is copied
from the workspace's micropython-lib into the first `.../lib` folder on the
device's `sys.path`, which is what `mpremote mip install unittest` does with
a network. The firmware itself stays as built.

Tests that cannot pass on these boards are left out by the skip list,
`tests/mpy/upstream-skips.yaml`: test path -> the one-line reason.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from . import yaml_input
from .errors import InputError

REPO = Path(__file__).resolve().parents[2]
SKIP_FILE = REPO / "tests" / "mpy" / "upstream-skips.yaml"
DEFAULT_DIRS = ("basics", "micropython", "float", "extmod", "stress", "misc")
#: seconds one test may take; run-tests.py's own default (30) is for real boards, the
#: simulator runs a few times slower than the chip and shares the machine
DEFAULT_TEST_TIMEOUT = 120.0
BOOT_TIMEOUT = 120.0


# --- what to run --------------------------------------------------------------------------------


def load_skips(path: Path = SKIP_FILE) -> dict[str, str]:
    """Test path (relative to MicroPython's tests/) -> reason, from the skip list."""
    data = yaml_input.load(path)
    skips = (data or {}).get("skips") if isinstance(data, dict) else None
    if not isinstance(skips, dict):
        raise InputError(f"{path}: expected a mapping 'skips:' of test path -> reason")
    return {test: _reason(path, test, reason, "a skip") for test, reason in skips.items()}


def _reason(path: Path, test: object, reason: object, what: str) -> str:
    """The entry's reason on one line, after checking that `test` names a test file."""
    if not isinstance(test, str) or not test.endswith(".py") or test.startswith("/"):
        raise InputError(f"{path}: {test!r}: {what} names a test file relative to MicroPython's tests/")
    if not isinstance(reason, str) or not reason.strip() or "\n" in reason.strip():
        raise InputError(f"{path}: {test}: the reason must be one non-empty line")
    return " ".join(reason.split())


def load_slow(path: Path = SKIP_FILE) -> dict[str, tuple[float, str]]:
    """Test path -> (seconds, reason) for the tests that run alone with a longer timeout."""
    data = yaml_input.load(path)
    slow = (data or {}).get("slow", {}) if isinstance(data, dict) else {}
    if not isinstance(slow, dict):
        raise InputError(f"{path}: expected a mapping 'slow:' of test path -> seconds and reason")
    out: dict[str, tuple[float, str]] = {}
    for test, entry in slow.items():
        entry = entry if isinstance(entry, dict) else {}
        reason = _reason(path, test, entry.get("reason"), "a slow test")
        seconds = entry.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 3600:
            raise InputError(f"{path}: {test}: 'seconds' must be a number of seconds, 1..3600")
        out[test] = (float(seconds), reason)
    return out


@dataclass
class Group:
    """One run of run-tests.py: a whole directory, or named files of one directory."""

    name: str                                   # the directory, relative to tests/ when inside it
    whole: bool                                 # every test of the directory
    files: list[str] = field(default_factory=list)     # else these
    skipped: list[str] = field(default_factory=list)   # skip-list tests it leaves out
    slow: list[str] = field(default_factory=list)      # run alone afterwards, with a longer timeout


def plan(tests_dir: Path, selection: Sequence[str], skips: dict[str, str],
         run_skipped: bool = False, slow: Iterable[str] = ()) -> list[Group]:
    """Groups to run for the directories and files the user named (default: DEFAULT_DIRS)."""
    groups = _plan(tests_dir, selection, skips, run_skipped)
    slow = set(slow)
    for group in groups:
        if group.whole:
            group.slow = sorted(t for t in slow if t.rsplit("/", 1)[0] == group.name and t not in group.skipped)
        else:
            group.slow = [t for t in group.files if t in slow]
            group.files = [t for t in group.files if t not in slow]
    return groups


def _plan(tests_dir: Path, selection: Sequence[str], skips: dict[str, str],
          run_skipped: bool) -> list[Group]:
    groups: dict[str, Group] = {}
    for item in selection or DEFAULT_DIRS:
        path = Path(item) if Path(item).is_absolute() else tests_dir / item
        if not path.exists():
            raise InputError(f"{item}: no such test directory or file in {tests_dir}")
        rel = _relative(path, tests_dir)
        if path.is_dir():
            group = groups.setdefault(rel, Group(rel, whole=True))
            group.whole, group.files = True, []
            group.skipped = [] if run_skipped else sorted(
                t for t in skips if t.rsplit("/", 1)[0] == rel)
        elif path.suffix == ".py" and path.is_file():
            group = groups.setdefault(_relative(path.parent, tests_dir),
                                      Group(_relative(path.parent, tests_dir), whole=False))
            if group.whole:
                continue                          # the directory run has it
            if rel in skips and not run_skipped:
                if rel not in group.skipped:
                    group.skipped.append(rel)
            elif rel not in group.files:
                group.files.append(rel)
        else:
            raise InputError(f"{item}: not a test directory or a .py test file")
    return list(groups.values())


def _relative(path: Path, tests_dir: Path) -> str:
    try:
        return path.resolve().relative_to(tests_dir.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def exclude_args(group: Group) -> list[str]:
    """run-tests.py filters that leave the group's skip-list tests out of a directory run."""
    args: list[str] = []
    for test in group.skipped + (group.slow if group.whole else []):
        args += ["-e", "^" + re.escape(test) + "$"]
    return args


def target_wiring_file(board: Optional[str]) -> Optional[Path]:
    """The board's target-wiring file (MicroPython's format), if it has one."""
    if not board:
        return None
    path = REPO / "boards" / board / "target_wiring.py"
    return path if path.is_file() else None


def wiring_loopbacks(path: Optional[Path]) -> list[str]:
    """Simulator UARTs to loop back: the jumper the wiring file asks for (`uart_loopback_args`)."""
    import ast

    if path is None:
        return []
    for node in ast.parse(path.read_text(), str(path)).body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "uart_loopback_args"):
            try:
                args = ast.literal_eval(node.value)
            except ValueError:
                raise InputError(f"{path}: uart_loopback_args must be a literal tuple") from None
            if args:
                return [str(args[0])]
    return []


# --- the device ------------------------------------------------------------------------------------


class SimulatedBoard:
    """The simulator on a pty, booted to its prompt; the port is then free for run-tests.py."""

    def __init__(self, board: str, images: Sequence[str], loopbacks: Sequence[str]) -> None:
        from .sim.process import SimProcess

        extra: list[str] = []
        for uart in loopbacks:
            extra += ["--uart-loopback", uart]
        self.proc = SimProcess(board, images[-1], extra_args=extra + list(images[:-1]))

    def start(self, boot_timeout: float = BOOT_TIMEOUT) -> str:
        proc = self.proc
        proc.start()                             # opening the port powers the board up
        try:
            proc.wait_for(r">>> ", timeout=boot_timeout)
        except (TimeoutError, RuntimeError) as err:
            self.stop()
            raise DeviceFailed(f"the simulated board did not reach its prompt: {err}") from None
        assert proc.serial is not None and proc.pty_path is not None
        proc.serial.close()                      # the simulator runs on; run-tests.py opens the port
        proc.serial = None
        return proc.pty_path

    def died(self) -> Optional[str]:
        """None while the simulator runs, else its exit status and the end of its stderr."""
        proc = self.proc.proc
        if proc is None or proc.poll() is None:
            return None
        tail = "\n".join(self.proc.stderr().strip().splitlines()[-15:])
        return f"the simulator exited with status {proc.returncode}" + (f":\n{tail}" if tail else "")

    def stop(self) -> None:
        self.proc.stop()


class DeviceFailed(Exception):
    """The board (or the simulator) could not be used; the message says why."""


def _pyboard(micropython: Path):
    tools = str(micropython / "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    import pyboard  # MicroPython's own serial REPL client, as run-tests.py uses it

    return pyboard


def ensure_unittest(port: str, micropython: Path, say: Callable[[str], None]) -> None:
    """Copy micropython-lib's unittest onto the device when it cannot import one."""
    source = micropython / "lib" / "micropython-lib" / "python-stdlib" / "unittest" / "unittest"
    pyboard = _pyboard(micropython)
    try:
        pyb = pyboard.Pyboard(port, 115200)
    except pyboard.PyboardError as err:
        raise DeviceFailed(f"{port}: cannot open the device ({err})") from None
    try:
        pyb.enter_raw_repl(soft_reset=False)
        found = pyb.exec_("try:\n import unittest\n print(1)\nexcept ImportError:\n print(0)")
        if found.strip() == b"1":
            return
        if not (source / "__init__.py").is_file():
            raise DeviceFailed(f"{source}: micropython-lib's unittest is missing; run 'west update'")
        libs = pyb.exec_("import sys\nprint(' '.join(p for p in sys.path if p.endswith('/lib')))")
        lib = (libs.decode().split() or ["/lib"])[0]
        target = f"{lib}/unittest"
        for folder in (lib, target):
            if not pyb.fs_exists(folder):
                pyb.fs_mkdir(folder)
        for py in sorted(source.glob("*.py")):
            pyb.fs_put(str(py), f"{target}/{py.name}", chunk_size=2048)
        say(f"mpytest: copied unittest from {source.relative_to(micropython)} to {target} on the device")
        pyb.exit_raw_repl()
    except pyboard.PyboardError as err:
        raise DeviceFailed(f"{port}: installing unittest failed ({err})") from None
    finally:
        pyb.close()


# --- running -----------------------------------------------------------------------------------------


@dataclass
class GroupResult:
    name: str
    passed: int = 0
    skipped: int = 0                       # skipped by run-tests.py (the test printed SKIP ...)
    listed: int = 0                        # left out by the skip list
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    result_dir: Optional[Path] = None
    error: str = ""                        # run-tests.py ended without results

    def add(self, other: "GroupResult") -> None:
        """Count a run of some of the group's tests (the slow ones) in the group."""
        self.passed += other.passed
        self.skipped += other.skipped
        self.failed += other.failed
        self.seconds += other.seconds
        if other.error:
            self.error = "; ".join(e for e in (self.error, other.error) if e)

    def line(self) -> str:
        listed = f" + {self.listed} on the skip list" if self.listed else ""
        return (f"{self.name}: {self.passed} passed, {self.skipped} skipped{listed}, "
                f"{len(self.failed)} failed in {self.seconds:.0f} s")


def run_group(group: Group, port: str, tests_dir: Path, result_dir: Path,
              target_wiring: Optional[Path], test_timeout: float,
              out: Callable[[str], None]) -> GroupResult:
    """One run of run-tests.py over the port, its output passed on line by line."""
    result = GroupResult(group.name, listed=len(group.skipped), result_dir=result_dir)
    if not group.whole and not group.files:
        return result                           # everything named is on the skip list or slow
    cmd = [sys.executable, "run-tests.py", "-t", f"port:{port}", "-r", str(result_dir)]
    if target_wiring is not None:
        cmd += ["--target-wiring", str(target_wiring)]
    cmd += exclude_args(group)
    cmd += ["-d", group.name] if group.whole else group.files   # -d takes the rest of the line
    env = dict(os.environ, MICROPY_TEST_TIMEOUT=str(test_timeout))
    results_file = result_dir / "_results.json"
    if results_file.exists():
        results_file.unlink()                   # never count an earlier run's results
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=tests_dir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    assert proc.stdout is not None
    tail: list[str] = []
    try:
        for line in proc.stdout:
            out(line.rstrip("\n"))
            tail = (tail + [line.rstrip("\n")])[-5:]
        rc = proc.wait()
    finally:
        if proc.poll() is None:                 # interrupted: run-tests.py goes too
            proc.terminate()
            proc.wait()
        proc.stdout.close()
    result.seconds = time.monotonic() - t0
    try:
        records = json.loads(results_file.read_text())["results"]
    except (OSError, ValueError, KeyError, TypeError):
        result.error = f"run-tests.py exited with {rc} without results: " + " | ".join(tail)
        return result
    for test, outcome, *_ in records:
        if outcome == "pass":
            result.passed += 1
        elif outcome == "skip":
            result.skipped += 1
        elif outcome == "fail":
            result.failed.append(test)
    if rc != 0 and not result.failed:
        result.error = f"run-tests.py exited with {rc}: " + " | ".join(tail)
    return result


@dataclass
class Options:
    selection: Sequence[str] = ()
    board: Optional[str] = None
    images: Sequence[str] = ()            # firmware for the simulator (mboot first)
    device: Optional[str] = None          # a real board's serial port instead of the simulator
    result_root: Path = Path("mpytest-results")
    test_timeout: float = DEFAULT_TEST_TIMEOUT
    run_skipped: bool = False
    list_only: bool = False


def run(opts: Options, micropython: Path, out: Callable[[str], None] = print) -> int:
    """0: nothing failed; 1: a test failed or the device died. InputError for unusable input."""
    tests_dir = micropython / "tests"
    if not (tests_dir / "run-tests.py").is_file():
        raise InputError(f"{tests_dir}: MicroPython's run-tests.py is missing; run 'west update'")
    skips = load_skips()
    slow = load_slow()
    groups = plan(tests_dir, opts.selection, skips, opts.run_skipped, slow)
    for group in groups:
        for test in group.skipped:
            out(f"mpytest: skip {test}: {skips[test]}")
        for test in group.slow:
            out(f"mpytest: slow {test}: runs alone, up to {slow[test][0]:.0f} s: {slow[test][1]}")
    if opts.list_only:
        for group in groups:
            what = "all tests" if group.whole else " ".join(group.files + group.slow) or "nothing"
            out(f"mpytest: {group.name}: {what}")
        return 0
    wiring = target_wiring_file(opts.board)
    sim = None
    # A time bound (CI's `timeout`) sends SIGTERM: leave through the clean-up below, so the
    # simulator and run-tests.py do not outlive this command.
    previous = signal.signal(signal.SIGTERM, _terminated)
    started = time.monotonic()
    results: list[GroupResult] = []
    died = ""
    try:
        if opts.device:
            port = opts.device
            out(f"mpytest: device {port}" + (f" ({opts.board})" if opts.board else ""))
        else:
            if not opts.board or not opts.images:
                raise InputError("mpytest: the simulator needs a board and its firmware (a build directory)")
            loopbacks = wiring_loopbacks(wiring)
            sim = SimulatedBoard(opts.board, opts.images, loopbacks)
            out(f"mpytest: booting {opts.board} on the simulator"
                + (f" (UART loopback: {', '.join(loopbacks)})" if loopbacks else ""))
            port = sim.start()
            out(f"mpytest: simulator ready on {port} after {time.monotonic() - started:.0f} s")
        ensure_unittest(port, micropython, out)
        for group in groups:
            out(f"mpytest: {group.name} ...")
            result_dir = Path(opts.result_root) / group.name.replace("/", "_").strip("_")
            result_dir.mkdir(parents=True, exist_ok=True)
            result = run_group(group, port, tests_dir, result_dir.resolve(), wiring,
                               opts.test_timeout, out)
            for test in group.slow:
                if sim is not None and sim.died():
                    break
                alone = Group(group.name, whole=False, files=[test])
                slow_dir = result_dir / Path(test).stem
                slow_dir.mkdir(exist_ok=True)
                result.add(run_group(alone, port, tests_dir, slow_dir.resolve(), wiring,
                                     max(opts.test_timeout, slow[test][0]), out))
            results.append(result)
            out(f"mpytest: {result.line()}")
            if sim is not None:
                died = sim.died() or ""
                if died:
                    break
    except DeviceFailed as err:
        died = str(err)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if sim is not None:
            sim.stop()
    return report(results, died, time.monotonic() - started, out)


def _terminated(signum, frame) -> None:
    raise SystemExit(128 + signum)


def report(results: Iterable[GroupResult], died: str, seconds: float,
           out: Callable[[str], None]) -> int:
    results = list(results)
    failed = [t for r in results for t in r.failed]
    errors = [f"{r.name}: {r.error}" for r in results if r.error]
    out("mpytest: summary")
    for r in results:
        out(f"mpytest:   {r.line()}")
    out(f"mpytest:   total: {sum(r.passed for r in results)} passed, "
        f"{sum(r.skipped for r in results)} skipped + {sum(r.listed for r in results)} on the skip list, "
        f"{len(failed)} failed in {seconds:.0f} s")
    for r in results:
        if r.failed:
            out(f"mpytest: failed in {r.name}: {' '.join(r.failed)} (diffs: run-tests.py "
                f"--print-failures -r {r.result_dir}, from MicroPython's tests/)")
    for line in errors:
        out(f"mpytest: error: {line}")
    if died:
        out(f"mpytest: error: {died}")
    return 1 if failed or errors or died else 0
