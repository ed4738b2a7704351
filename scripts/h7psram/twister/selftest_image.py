"""The bare-metal self-test as a device image: built, and made flashable with ``west flash``.

``build_selftest`` leaves ``selftest.elf``/``.bin``; adding ``build_info.yml``, a DfuSe file and
``runners.yaml`` makes its output directory a build directory like ``west build``'s, so the
hardware adapter flashes it the same way as MicroPython.
"""

from __future__ import annotations

from pathlib import Path

from h7psram.selftest_build import build_selftest
from h7psram.twister.device import DeviceImage

#: every run of the self-test ends with one of these lines (docs/selftest.md): a pass with the
#: bandwidth line after `spiram memtest pass`
SELFTEST_LAST_LINE = (r"^(spiram bandwidth read|spiram \w+ fail, address|spiram not found|spiram wrong id"
                      r"|spiram init fail|selftest clock fail)")
SELFTEST_FIRST_LINE = r"^psram selftest "
#: the full 8 MiB memtest is quick on the chip, but takes tens of seconds in the simulator
SELFTEST_BOOT_TIMEOUT_S = 300.0


def selftest_image(board: str, out_dir: Path) -> DeviceImage:
    from h7psram import boards, buildinfo, dfuse
    elf = build_selftest(board, out_dir)
    dfu = elf.with_suffix(".dfu")
    dfuse.write_dfuse(dfu, dfuse.dfuse_from_elf(elf))
    outputs = {"elf": elf.name, "dfu": dfu.name}
    if elf.with_suffix(".bin").is_file():
        outputs["bin"] = elf.with_suffix(".bin").name
    build_dir = elf.parent
    buildinfo.write_build_info(buildinfo.BuildInfo(board=board, app="app/selftest",
                                                   build_dir=build_dir, outputs=outputs))
    buildinfo.write_runners_yaml(build_dir, buildinfo.default_runners_config(boards.load_board(board)))
    return DeviceImage(board=board, elf=elf, build_dir=build_dir, kind="selftest",
                       boot_start=SELFTEST_FIRST_LINE, boot_done=SELFTEST_LAST_LINE,
                       boot_timeout=SELFTEST_BOOT_TIMEOUT_S)


def unflashed_selftest(board: str) -> DeviceImage:
    """The self-test already on a board (``--no-flash``): nothing to build."""
    return DeviceImage(board=board, kind="selftest", boot_start=SELFTEST_FIRST_LINE,
                       boot_done=SELFTEST_LAST_LINE, boot_timeout=SELFTEST_BOOT_TIMEOUT_S)
