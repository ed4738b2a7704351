"""mboot + MicroPython (-DH7PSRAM_MBOOT=ON builds) on the simulator, as a user meets them:

- mboot starts first and jumps to MicroPython, whose REPL works;
- a firmware update without BOOT0: a .dfu.gz copied onto the board's filesystem with
  `mpremote cp`, `fwupdate.update_mpy(...)`, mboot writes it from the filesystem after the
  reset, and the new firmware boots; a .dfu.gz with one flipped byte is refused and the old
  firmware boots again;
- entering mboot with `machine.bootloader()` and with the user key held at reset.

The "new" firmware is the build's own image with its version string changed (same length, so
nothing moves): a second full build would cost minutes for the same test.
USB DFU is not modelled (no USB device model): "mboot is in DFU mode" is seen as the core
staying in mboot's code, reported by the simulator when it stops.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import firmware_builds as fb
from repl_session import BOOT_TIMEOUT, Repl

from h7psram import boards, dfuse, mboot
from h7psram.sim.process import SimProcess

pytestmark = pytest.mark.micropython

TAMP_BKP0R = 0x58004400 + 0x100     # backup register: survives the reset into mboot and back
VTOR = 0xE000ED08
BANNER = r"MicroPython v[^\n]*\n[^\n]*\n>>> "
STATUS = f"s = machine.mem32[{TAMP_BKP0R:#x}]; print(s - (1 << 32) if s >= 1 << 31 else s)"
# mboot.h: MBOOT_ERRNO_DFU_INVALID_HEADER .. _DFU_INVALID_CRC (a bad DfuSe stream), _GUNZIP_FAILED
BROKEN_FILE_ERRORS = set(range(-215, -209)) | {-250}


@pytest.fixture(scope="session")
def mboot_build(mpy_workspace):
    """mboot_build(board) -> build directory of the board's mboot build (built on first use)."""
    why = fb.mboot_or_reason(mpy_workspace)
    if why:
        pytest.skip(f"no mboot build: {why}")
    done: dict[str, Path | Exception] = {}

    def get(board: str) -> Path:
        if board not in done:
            try:
                done[board] = fb.build_board(board, mpy_workspace, mboot=True)
            except (fb.BuildFailed, fb.InputError) as err:
                done[board] = err
        if isinstance(done[board], Exception):
            pytest.fail(str(done[board]), pytrace=False)
        return done[board]

    return get


def start(board: str, bdir: Path, *extra: str) -> SimProcess:
    """The board powered up with mboot and the application in flash (-v: resets and the end pc)."""
    return SimProcess(board, [bdir / "mboot.elf", bdir / "firmware.elf"],
                      extra_args=["-v", *extra]).start()


def power_up(mboot_build, board: str, *extra: str) -> tuple[mboot.MbootLayout, SimProcess]:
    return mboot.layout(boards.load_board(board)), start(board, mboot_build(board), *extra)


def end_pc(sim: SimProcess) -> int:
    sim.stop()
    m = re.search(r"run ended \(\w+\) at pc 0x([0-9a-f]{8})", sim.stderr())
    assert m, sim.stderr()
    return int(m.group(1), 16)


def mpremote(pty: str, *args: str, timeout: float = 300) -> str:
    exe = shutil.which("mpremote")
    cmd = [exe] if exe else [sys.executable, "-m", "mpremote"]
    r = subprocess.run(cmd + ["connect", pty, *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"mpremote {' '.join(args)} failed ({r.returncode}): {r.stdout}{r.stderr}"
    return r.stdout


def changed_sectors_dfu_gz(bdir: Path, out: Path, old: bytes, new: bytes, sector: int) -> Path:
    """A .dfu.gz of the build's application with ``old`` replaced by ``new`` (same length), holding
    the flash sectors that differ from the running image: a whole application gzipped is
    ~240 KB, more than the 256 KiB filesystem has free (docs/mboot.md)."""
    assert len(old) == len(new)
    lo_hi = [(addr, addr + len(data)) for addr, data in dfuse.dfuse_from_elf(bdir / "firmware.elf")]
    base = min(lo for lo, _ in lo_hi) // sector * sector
    image = bytearray(b"\xff" * (-(-max(hi for _, hi in lo_hi) // sector) * sector - base))
    for addr, data in dfuse.dfuse_from_elf(bdir / "firmware.elf"):
        image[addr - base:addr - base + len(data)] = data
    assert image.count(old) >= 1, f"{old!r} not in the image"
    changed = image.replace(old, new)
    elements = [(base + off, bytes(changed[off:off + sector])) for off in range(0, len(image), sector)
                if changed[off:off + sector] != image[off:off + sector]]
    assert elements
    plain = out.with_suffix("")
    dfuse.write_dfuse(plain, elements)
    out.write_bytes(gzip.compress(plain.read_bytes(), 9, mtime=0))
    return out


@pytest.mark.parametrize("board", fb.BOARDS)
def test_built_mboot_reports_the_h7a3_layout_and_fits_its_sectors(mboot_build, board):
    """What mboot would say over USB (no USB model here): its alt-0 name is in the image, and
    it parses to the memory the ROM bootloader reports."""
    lay = mboot.layout(boards.load_board(board))
    ranges = dfuse.dfuse_from_elf(mboot_build(board) / "mboot.elf")
    image = b"".join(data for _, data in ranges)
    assert lay.layout_string.encode() + b"\0" in image
    rom = dfuse.parse_layout("@Internal Flash   /0x08000000/256*08Kg")
    assert [(m.start, m.sectors) for m in dfuse.parse_layout(lay.layout_string)] == [(m.start, m.sectors) for m in rom]
    assert min(a for a, _ in ranges) == lay.flash_start
    assert max(a + len(d) for a, d in ranges) <= lay.app_addr


@pytest.mark.parametrize("board", fb.BOARDS)
def test_mboot_jumps_to_micropython(mboot_build, board):
    lay, sim = power_up(mboot_build, board)
    try:
        log = sim.wait_for(r">>> ", BOOT_TIMEOUT)
        repl = Repl(sim, log)
        assert "MicroPython v" in log
        # MicroPython runs from behind mboot with its own vector table, and has fwupdate frozen in
        assert repl.line(f"import machine; print(hex(machine.mem32[{VTOR:#x}]))") == hex(lay.app_addr)
        assert repl.line("import fwupdate; print(fwupdate.update_mpy.__name__)") == "update_mpy"
    finally:
        pc = end_pc(sim)
    assert pc >= lay.app_addr


def test_firmware_update_from_the_filesystem_without_boot0(mboot_build, tmp_path):
    board = "devebox_h7a3"
    bdir = mboot_build(board)
    storage = boards.load_board(board).storage
    sim = start(board, bdir)
    try:
        repl = Repl(sim, sim.wait_for(r">>> ", BOOT_TIMEOUT))
        old = repl.line("import os; print(os.uname().version)")
        new = old[:-1] + ("8" if old[-1] == "9" else "9")
        sector = boards.load_board(board).flash_erase_size
        good = changed_sectors_dfu_gz(bdir, tmp_path / "new.dfu.gz", old.encode(), new.encode(), sector)
        # the file name is mboot's, in the FAT filesystem: no '/flash' (MicroPython's mount point)
        update = (f"import fwupdate; fwupdate.update_mpy('{{}}', {storage.start:#x}, {storage.size:#x}, "
                  f"status_addr={TAMP_BKP0R:#x})")
        mpremote(sim.pty_path, "cp", str(good), ":new.dfu.gz")
        sim.write(b"print('mpremote' + ' done')\r")          # skip what mpremote left unread
        sim.wait_for(r"mpremote done\r\n>>> ", 60)

        # a copy with one byte flipped halfway first: mboot checks the whole file before it
        # erases anything, refuses it, and starts the old firmware again
        repl.line("f = open('new.dfu.gz', 'rb'); b = bytearray(f.read()); f.close(); b[len(b) // 2] ^= 1")
        repl.line("f = open('broken.dfu.gz', 'wb'); f.write(b); f.close(); del b")
        sim.write(update.format("broken.dfu.gz").encode() + b"\r")
        text = sim.wait_for(BANNER, BOOT_TIMEOUT)
        assert old in text and new not in text
        repl = Repl(sim, text)
        repl.line("import machine")
        assert int(repl.line(STATUS)) in BROKEN_FILE_ERRORS, "mboot did not read the file as a broken download"
        assert repl.line("import os; print(os.uname().version)") == old

        # the good file: written by mboot, then the new firmware boots
        sim.write(update.format("new.dfu.gz").encode() + b"\r")
        text = sim.wait_for(BANNER, BOOT_TIMEOUT)
        assert new in text
        repl = Repl(sim, text)
        assert repl.line("import os; print(os.uname().version)") == new
        repl.line("import machine")
        assert int(repl.line(STATUS)) == 0
        # the filesystem came through: the update file is still there for the user to delete
        assert "new.dfu.gz" in repl.line("print(os.listdir())")
    finally:
        sim.stop()
    assert "system reset" in sim.stderr()


@pytest.mark.parametrize("board", fb.BOARDS)
def test_machine_bootloader_enters_mboot(mboot_build, board):
    lay, sim = power_up(mboot_build, board)
    try:
        sim.wait_for(r">>> ", BOOT_TIMEOUT)
        sim.write(b"import machine; machine.bootloader()\r")
        sim.wait_for(r"machine\.bootloader\(\)\r\n", 30)
        with pytest.raises(TimeoutError):          # mboot stays in DFU mode: no MicroPython banner
            sim.wait_for(r"MicroPython v", 20)
    finally:
        pc = end_pc(sim)
    assert "system reset" in sim.stderr()
    assert lay.flash_start <= pc < lay.app_addr, hex(pc)


@pytest.mark.parametrize("board", fb.BOARDS)
def test_user_key_held_at_reset_keeps_mboot_in_dfu_mode(mboot_build, board):
    """Let go during the fourth LED step the key selects mboot's DFU mode. The boards' keys differ
    (DEVEBOX PE3 to ground with a pull-up, WeAct PC13 to 3V3 with a pull-down). mboot's steps are
    32 x 20 ms: the fourth runs from about 1.92 s to 2.56 s after its key check, after which the
    modes wrap round to a normal boot (2.6 s booted MicroPython on the WeAct board)."""
    lay, sim = power_up(mboot_build, board, "--hold-key", "2.2")
    try:
        with pytest.raises(TimeoutError):
            sim.wait_for(r"MicroPython v", 30)
    finally:
        pc = end_pc(sim)
    assert lay.flash_start <= pc < lay.app_addr, hex(pc)
