"""Argument handling and the run behind ``west hwtest`` (also ``python -m h7psram.twister.hwtest``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Optional, Sequence

from h7psram.errors import H7Error, InputError
from h7psram.twister import suite_runner, testcase
from h7psram.twister.config import DEVICE_TYPES, load_hardware_map

DEFAULT_PLATFORM = "devebox_h7a3"
WORKSPACE = Path(__file__).resolve().parents[3]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-T", "--testsuite-root", type=Path, default=WORKSPACE / "tests" / "suites",
                        help="where to look for testcase.yaml files (default: tests/suites)")
    parser.add_argument("-p", "--platform", help="board to test (default: the build's board)")
    parser.add_argument("-t", "--tag", action="append", default=[], help="run only tests with this tag (repeatable)")
    parser.add_argument("-e", "--exclude-tag", action="append", default=[], help="skip tests with this tag")
    parser.add_argument("-s", "--test", action="append", default=[], metavar="ID",
                        help="run only this test id (repeatable)")
    parser.add_argument("-O", "--outdir", type=Path, default=Path("hwtest-out"),
                        help="per-test pytest logs and JUnit XML (default: hwtest-out)")
    parser.add_argument("--timeout-multiplier", type=float, default=1.0, help="scale every test's timeout")
    parser.add_argument("--list", action="store_true", help="list the selected tests and exit")
    dev = parser.add_argument_group("device (passed to pytest)")
    dev.add_argument("--device-type", choices=DEVICE_TYPES, default="sim")
    dev.add_argument("--device-serial", metavar="PATH")
    dev.add_argument("--device-serial-baud", metavar="N", type=int)
    dev.add_argument("-d", "--build-dir", type=Path, help="MicroPython build directory")
    dev.add_argument("--flash-before", action="store_true")
    dev.add_argument("--no-flash", action="store_true")
    dev.add_argument("--runner", metavar="NAME")
    dev.add_argument("--dev-id", metavar="ID")
    dev.add_argument("--hardware-map", type=Path, metavar="FILE")
    dev.add_argument("--base-timeout", type=float, metavar="S")
    dev.add_argument("--device-reset", choices=("auto", "none", "repl"))


def device_args(args: argparse.Namespace, platform: str) -> list[str]:
    argv = [f"--device-type={args.device_type}", f"--platform={platform}"]
    for option, value in (("--device-serial", args.device_serial), ("--device-serial-baud", args.device_serial_baud),
                          ("--build-dir", args.build_dir and args.build_dir.resolve()), ("--runner", args.runner),
                          ("--dev-id", args.dev_id), ("--base-timeout", args.base_timeout),
                          ("--device-reset", args.device_reset),
                          ("--hardware-map", args.hardware_map and args.hardware_map.resolve())):
        if value is not None:
            argv.append(f"{option}={value}")
    if args.flash_before:
        argv.append("--flash-before")
    if args.no_flash:
        argv.append("--no-flash")
    return argv


def choose_platform(args: argparse.Namespace) -> str:
    if args.platform:
        return str(args.platform)
    if args.build_dir is not None:
        from h7psram import buildinfo

        return buildinfo.read_build_info(args.build_dir).board
    if args.hardware_map is not None:
        for entry in load_hardware_map(args.hardware_map):
            if entry.connected:
                return entry.platform
    return DEFAULT_PLATFORM


def select(args: argparse.Namespace, platform: str) -> list[tuple[testcase.TestCase, Optional[str]]]:
    cases = testcase.discover(args.testsuite_root)
    known = {case.id for case in cases}
    for wanted in args.test:
        if wanted not in known:
            raise InputError(f"{args.testsuite_root}: no test with id '{wanted}'")
    chosen = []
    for case in cases:
        if args.test and case.id not in args.test:
            continue
        chosen.append((case, case.filter_reason(platform, args.tag, args.exclude_tag)))
    return chosen


def run(args: argparse.Namespace, extra_pytest_args: Sequence[str] = (),
        info: Callable[[str], None] = print) -> int:
    if args.hardware_map is not None:
        load_hardware_map(args.hardware_map)  # a bad map is one error here, not one per test
    platform = choose_platform(args)
    chosen = select(args, platform)
    if args.list:
        for case, reason in chosen:
            info(f"{case.id:<28} {case.suite_dir}" + (f"  (filtered: {reason})" if reason else ""))
        return 0
    if all(reason is not None for _, reason in chosen):
        info(f"no test selected for platform {platform}")
    results = suite_runner.run_all(chosen, device_args(args, platform), args.outdir,
                                   args.timeout_multiplier, extra_pytest_args, progress=info)
    info("")
    info(suite_runner.summary_table(results, platform))
    for result in results:
        if result.status in suite_runner.FAILING and result.log is not None:
            info(f"{result.case.id}: see {result.log}")
    return 1 if any(r.status in suite_runner.FAILING for r in results) else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="hwtest", description="run the testcase.yaml suites")
    add_arguments(parser)
    args, extra = parser.parse_known_args(argv)
    extra = extra[1:] if extra[:1] == ["--"] else extra
    try:
        return run(args, extra)
    except H7Error as err:
        print(f"hwtest: error: {err}")
        return err.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
