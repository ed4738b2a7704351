"""The dfu-util runner against a fake dfu-util that records its arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
from build_dirs import BOARD, make_build_dir
from dfu_listings import MBOOT_LISTING, ROM_LISTING, SECOND_BOARD
from hello_firmware import build_elf
from runner_helpers import make_runner

from h7psram import boards, buildinfo, dfuse, mboot
from h7psram.errors import CheckFailed, InputError
from h7psram.runners.core import FlashFailed, ToolFailed, ToolNotFound, VerifyMismatch
from h7psram.runners.dfu_util import DfuUtilRunner, parse_listing

#: leaving DFU mode is a request of its own, with the start of flash as the address the ST
#: ROM bootloader jumps to (dfu-util's '-s :leave' beside a .dfu gives it no address)
LEAVE = ["-a", "0", "-s", "0x08000000:leave"]
PROGRESS = "Download\t[=========================] 100%          144 bytes\nDownload done.\n"


def test_listing_from_the_write_up_is_one_device_with_three_alts():
    (dev,) = parse_listing(ROM_LISTING)
    assert (dev.vid, dev.pid, dev.serial, dev.path) == (0x0483, 0xDF11, "376E356F3339", "1-1.1")
    assert dev.alts[0] == "@Internal Flash   /0x08000000/256*08Kg"
    assert dev.alts[1].startswith("@Option Bytes") and dev.alts[2].startswith("@OTP Memory")
    assert dev.is_rom_bootloader
    assert not parse_listing(MBOOT_LISTING)[0].is_rom_bootloader
    assert [d.serial for d in parse_listing(ROM_LISTING + SECOND_BOARD)] == ["376E356F3339", "3A7F21453338"]


def test_default_command_is_the_write_ups(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING}, {"when": ["-D"], "output": PROGRESS})
    h = make_runner(DfuUtilRunner, build_dir, board)
    h.runner.flash()
    assert fake_tools.calls("dfu-util") == [["-l"], ["-a", "0", "-D", str(build_dir / "firmware.dfu")], LEAVE]
    # dfu-util's progress reaches the user as it comes, not swallowed.
    assert b"Download\t[=========================] 100%" in h.output
    assert h.warnings == []


def test_serial_selects_one_of_two_boards(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING + SECOND_BOARD})
    make_runner(DfuUtilRunner, build_dir, board, serial="3A7F21453338").runner.flash()
    assert fake_tools.calls("dfu-util")[1:] == [["-a", "0", "-S", "3A7F21453338", "-D", str(build_dir / "firmware.dfu")],
                                                ["-a", "0", "-S", "3A7F21453338", "-s", "0x08000000:leave"]]


def test_two_boards_without_serial_asks_for_it(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING + SECOND_BOARD})
    with pytest.raises(FlashFailed, match=r"2 DFU devices found \(serials 376E356F3339, 3A7F21453338\).*--serial"):
        make_runner(DfuUtilRunner, build_dir, board).runner.flash()
    assert fake_tools.calls("dfu-util") == [["-l"]]


def test_unknown_serial_lists_the_ones_present(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    with pytest.raises(FlashFailed, match="no DFU device with serial NOPE .found: 376E356F3339."):
        make_runner(DfuUtilRunner, build_dir, board, serial="NOPE").runner.flash()


def test_no_device_says_how_to_enter_dfu_mode(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": "dfu-util 0.11\n\n"})
    with pytest.raises(FlashFailed) as exc:
        make_runner(DfuUtilRunner, build_dir, board).runner.flash()
    msg = str(exc.value)
    assert "no DFU device 0483:df11 found by 'dfu-util -l'" in msg and "BOOT0" in msg and "\n" not in msg
    assert fake_tools.calls("dfu-util") == [["-l"]]


def test_other_usb_dfu_devices_do_not_count(fake_tools, build_dir, board):
    other = ROM_LISTING.replace("0483:df11", "1d50:6017")
    fake_tools.install("dfu-util", {"when": ["-l"], "output": other})
    with pytest.raises(FlashFailed, match="no DFU device 0483:df11"):
        make_runner(DfuUtilRunner, build_dir, board).runner.flash()


def test_bin_is_written_at_flash_start_and_leaves(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    make_runner(DfuUtilRunner, build_dir, board, cmdline=["--bin"]).runner.flash()
    assert fake_tools.calls("dfu-util")[1:] == [["-a", "0", "-s", "0x08000000", "-D", str(build_dir / "firmware.bin")],
                                                LEAVE]


def test_arguments_after_double_dash_go_to_the_tool(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    make_runner(DfuUtilRunner, build_dir, board, tool_args=["-t", "2048"]).runner.flash()
    assert fake_tools.calls("dfu-util")[1:] == [["-a", "0", "-D", str(build_dir / "firmware.dfu"), "-t", "2048"],
                                                LEAVE + ["-t", "2048"]]


def test_missing_dfu_util_names_the_package(fake_tools, build_dir, board):
    with pytest.raises(ToolNotFound, match=r"^dfu-util not found: install it with 'apt install dfu-util'$"):
        make_runner(DfuUtilRunner, build_dir, board).runner.flash()


def test_failed_download_reports_dfu_utils_error_and_status(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING},
                       {"when": ["-D"], "output": "Erase   \t[====    ] 20%\ndfu-util: Error during download get_status\n",
                        "rc": 74})
    with pytest.raises(ToolFailed, match="exit 74.*Error during download get_status") as exc:
        make_runner(DfuUtilRunner, build_dir, board).runner.flash()
    # the documented contract (1 = flashing failed), not dfu-util's own 74
    assert (exc.value.exit_code, exc.value.status) == (1, 74)


def test_usb_permission_problem_is_named(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING},
                       {"when": ["-D"], "output": "dfu-util: Cannot open DFU device 0483:df11 found on devnum 10 "
                                                 "(LIBUSB_ERROR_ACCESS)\n", "rc": 74})
    with pytest.raises(FlashFailed, match="no permission .add a udev rule"):
        make_runner(DfuUtilRunner, build_dir, board).runner.flash()


def test_dfu_outside_flash_is_refused_before_any_usb_traffic(fake_tools, build_dir, board):
    dfuse.write_dfuse(build_dir / "firmware.dfu", [(0x08000000, b"\0" * 64), (0x24000000, b"ram!")])
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    with pytest.raises(CheckFailed, match=r"element 0x24000000-0x24000003 .* outside"):
        make_runner(DfuUtilRunner, build_dir, board).runner.flash()
    assert fake_tools.calls("dfu-util") == []


def test_damaged_dfu_is_refused(fake_tools, build_dir, board):
    path = build_dir / "firmware.dfu"
    data = bytearray(path.read_bytes())
    data[300] ^= 0x40
    path.write_bytes(bytes(data))
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    with pytest.raises(InputError, match="CRC mismatch"):
        make_runner(DfuUtilRunner, build_dir, board).runner.flash()
    assert fake_tools.calls("dfu-util") == []


def test_alt_that_is_not_internal_flash_is_refused_with_the_right_alt(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    with pytest.raises(FlashFailed, match=r"alt 1 is '@Option Bytes.*use --alt 0"):
        make_runner(DfuUtilRunner, build_dir, board, cmdline=["--alt", "1"]).runner.flash()


def test_wrong_layout_report_warns_and_continues(fake_tools, build_dir, board):
    listing = ROM_LISTING.replace("256*08Kg", "256*02Kg")
    fake_tools.install("dfu-util", {"when": ["-l"], "output": listing})
    h = make_runner(DfuUtilRunner, build_dir, board)
    h.runner.flash()
    assert len(h.warnings) == 1 and "512 KiB" in h.warnings[0] and "2048 KiB" in h.warnings[0]
    assert len(fake_tools.calls("dfu-util")) == 3  # list, download, leave


def _element_data(build_dir: Path) -> bytes:
    (elem,) = dfuse.read_dfuse(build_dir / "firmware.dfu").elements
    return elem.data


def test_verify_reads_back_each_element(fake_tools, build_dir, board, tmp_path):
    good = tmp_path / "readback.bin"
    good.write_bytes(_element_data(build_dir))
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING}, {"when": ["-U"], "upload": str(good)})
    h = make_runner(DfuUtilRunner, build_dir, board, cmdline=["--verify"])
    h.runner.flash()
    calls = fake_tools.calls("dfu-util")
    # the board must stay in DFU to be read back
    assert calls[1] == ["-a", "0", "-D", str(build_dir / "firmware.dfu")]
    assert calls[2][:4] == ["-a", "0", "-s", f"0x08000000:{len(good.read_bytes())}"] and calls[2][4] == "-U"
    assert any("verified" in m for m in h.infos)
    # read back, then started
    assert calls[3:] == [LEAVE]


def test_verify_mismatch_names_the_address(fake_tools, build_dir, board, tmp_path):
    data = bytearray(_element_data(build_dir))
    data[0x40] ^= 0xFF
    bad = tmp_path / "readback.bin"
    bad.write_bytes(bytes(data))
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING}, {"when": ["-U"], "upload": str(bad)})
    with pytest.raises(VerifyMismatch, match=r"flash verify mismatch at 0x08000040: wrote 0x[0-9a-f]{2}, read 0x"):
        make_runner(DfuUtilRunner, build_dir, board, cmdline=["--verify"]).runner.flash()
    # a board with a bad image is not started
    assert LEAVE not in fake_tools.calls("dfu-util")


def _mboot_build(build_dir: Path, app_at: int | None = None) -> mboot.MbootLayout:
    """As an mboot build leaves it: a 22 KiB mboot.dfu at the start of flash, the application
    linked after mboot's reserved sectors, and the layout recorded in build_info.yml."""
    lay = mboot.layout(boards.load_board(BOARD))
    dfuse.write_dfuse(build_dir / "mboot.dfu", [(lay.flash_start, b"\x11" * (22 * 1024))])
    app = (build_dir / "firmware.bin").read_bytes()
    dfuse.write_dfuse(build_dir / "firmware.dfu", [(lay.app_addr if app_at is None else app_at, app)])
    info = buildinfo.read_build_info(build_dir)
    info.outputs["mboot_dfu"] = "mboot.dfu"
    info.mboot = lay.as_dict()
    buildinfo.write_build_info(info)
    return lay


def test_mboot_listing_reports_the_layout_the_build_gives_mboot():
    (dev,) = parse_listing(MBOOT_LISTING)
    assert dev.alts == {0: mboot.layout(boards.load_board(BOARD)).layout_string}


def test_mboot_is_written_once_then_the_application(fake_tools, build_dir, board):
    _mboot_build(build_dir)
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    make_runner(DfuUtilRunner, build_dir, board, cmdline=["--mboot"]).runner.flash()
    # the ROM bootloader must stay in DFU after mboot (no :leave) until the application is in;
    # leaving then starts mboot, which jumps to the application
    assert fake_tools.calls("dfu-util") == [
        ["-l"],
        ["-a", "0", "-D", str(build_dir / "mboot.dfu")],
        ["-a", "0", "-D", str(build_dir / "firmware.dfu")],
        LEAVE,
    ]


def test_mboot_from_the_rom_bootloader_leaves_only_after_the_application(fake_tools, build_dir, board):
    """The ROM bootloader must stay in DFU mode between mboot and the application, and then
    start the chip at the start of flash (mboot), not at the application's first block."""
    _mboot_build(build_dir)
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    make_runner(DfuUtilRunner, build_dir, board, cmdline=["--mboot", "--erase"]).runner.flash()
    calls = fake_tools.calls("dfu-util")
    assert [i for i, call in enumerate(calls) if any("leave" in word for word in call)] == [3]
    # the mass erase comes first: it would wipe mboot after it was written
    assert calls[1] == ["-a", "0", "-s", ":mass-erase:force", "-D", str(build_dir / "mboot.dfu")]
    assert calls[2] == ["-a", "0", "-D", str(build_dir / "firmware.dfu")]
    assert calls[3] == LEAVE


def test_mboot_from_the_rom_with_verify_reads_both_back(fake_tools, build_dir, board, tmp_path):
    lay = _mboot_build(build_dir)
    mboot_back = tmp_path / "mboot-back.bin"
    mboot_back.write_bytes(b"\x11" * (22 * 1024))
    app_back = tmp_path / "app-back.bin"
    app_back.write_bytes((build_dir / "firmware.bin").read_bytes())
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING},
                       {"when": ["-s", f"0x{lay.flash_start:08X}:{22 * 1024}", "-U"], "upload": str(mboot_back)},
                       {"when": ["-U"], "upload": str(app_back)})
    make_runner(DfuUtilRunner, build_dir, board, cmdline=["--mboot", "--verify"]).runner.flash()
    calls = fake_tools.calls("dfu-util")
    downloads = [c for c in calls if "-D" in c]
    assert downloads == [["-a", "0", "-D", str(build_dir / "mboot.dfu")],
                         ["-a", "0", "-D", str(build_dir / "firmware.dfu")]]
    assert calls.index(downloads[0]) < calls.index(downloads[1])
    assert [c[c.index("-s") + 1].split(":")[0] for c in calls if "-U" in c] == [
        f"0x{lay.flash_start:08X}", f"0x{lay.app_addr:08X}"]


def test_with_mboot_running_only_the_application_is_written(fake_tools, build_dir, board):
    _mboot_build(build_dir)
    fake_tools.install("dfu-util", {"when": ["-l"], "output": MBOOT_LISTING})
    make_runner(DfuUtilRunner, build_dir, board, cmdline=["--mboot"]).runner.flash()
    assert fake_tools.calls("dfu-util") == [["-l"], ["-a", "0", "-D", str(build_dir / "firmware.dfu")], LEAVE]


@pytest.mark.parametrize("app_at", [0x08000000, 0x08006000])
def test_application_in_mboots_sectors_is_refused(fake_tools, build_dir, board, app_at):
    """0x08006000 is past the 22 KiB image but inside the 32 KiB mboot keeps for itself."""
    _mboot_build(build_dir, app_at=app_at)
    fake_tools.install("dfu-util", {"when": ["-l"], "output": MBOOT_LISTING})
    with pytest.raises(FlashFailed, match=rf"data at 0x{app_at:08X}-0x[0-9A-F]+ overlaps mboot .0x08000000-0x08007FFF."):
        make_runner(DfuUtilRunner, build_dir, board, cmdline=["--mboot"]).runner.flash()
    assert fake_tools.calls("dfu-util") == []


def test_mboot_without_an_image_says_so(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    with pytest.raises(InputError, match="--mboot given but the build has no mboot image"):
        make_runner(DfuUtilRunner, build_dir, board, cmdline=["--mboot"]).runner.flash()


def test_command_line_options_override_runners_yaml():
    ns = DfuUtilRunner.parse_options(["--alt=0", "--device=0483:df11"], ["--alt", "2"])
    assert ns.alt == 2 and ns.device == (0x0483, 0xDF11)
    with pytest.raises(InputError, match=r"runners.yaml args: .*--bogus"):
        DfuUtilRunner.parse_options(["--bogus"], [])
    with pytest.raises(InputError, match=r"command line: .*--device.*VID:PID"):
        DfuUtilRunner.parse_options([], ["--device", "0483"])


@pytest.fixture(scope="session")
def hole_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Vector table at the start of flash, code 128 KiB further: two load ranges."""
    return build_elf(tmp_path_factory.mktemp("hole"), "hole", flags=("-Wl,--section-start=.text=0x08020000",))


def test_bin_refused_when_the_elf_has_a_hole(hole_elf, fake_tools, tmp_path, board):
    """MicroPython keeps its filesystem between the vector table and the code; a .bin
    would pad over it, so --bin is refused for such an ELF."""
    build = make_build_dir(tmp_path / "build", hole_elf)
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    with pytest.raises(FlashFailed, match=r"would overwrite 0x08000008-0x0801FFFF, a gap .*drop --bin"):
        make_runner(DfuUtilRunner, build, board, cmdline=["--bin"]).runner.flash()
    assert fake_tools.calls("dfu-util") == []
    # The .dfu of the same ELF holds the two ranges and leaves the gap alone.
    make_runner(DfuUtilRunner, build, board).runner.flash()
    assert [e.address for e in dfuse.read_dfuse(build / "firmware.dfu").elements] == [0x08000000, 0x08020000]


def test_erase_no_leave_and_other_modifiers(fake_tools, build_dir, board):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    make_runner(DfuUtilRunner, build_dir, board, cmdline=["--erase", "--no-leave"]).runner.flash()
    assert fake_tools.calls("dfu-util")[1:] == [
        ["-a", "0", "-s", ":mass-erase:force", "-D", str(build_dir / "firmware.dfu")]]
    (fake_tools.bin_dir / "dfu-util.calls.jsonl").unlink()
    make_runner(DfuUtilRunner, build_dir, board, cmdline=["--dfuse-modifiers", "will-reset:leave"]).runner.flash()
    assert fake_tools.calls("dfu-util")[1:] == [
        ["-a", "0", "-s", ":will-reset", "-D", str(build_dir / "firmware.dfu")], LEAVE]


def test_elf_file_is_written_as_a_dfu_of_its_load_image(fake_tools, build_dir, board, hello_elf):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    make_runner(DfuUtilRunner, build_dir, board, cmdline=["--elf-file", str(hello_elf), "--alt", "0"]).runner.flash()
    download = fake_tools.calls("dfu-util")[1]
    assert download[:3] == ["-a", "0", "-D"] and download[3].endswith("/hello.dfu")
    assert not Path(download[3]).exists()  # a temporary file, gone after the run
    with pytest.raises(InputError, match=r"runner 'dfu-util' cannot write hex files \(it writes dfu, elf, bin\)"):
        make_runner(DfuUtilRunner, build_dir, board, cmdline=["--hex-file", str(hello_elf)]).runner.flash()


def test_bin_file_goes_to_the_elfs_load_address(fake_tools, build_dir, board, tmp_path):
    image = tmp_path / "other.bin"
    image.write_bytes(b"\x5a" * 64)
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING})
    make_runner(DfuUtilRunner, build_dir, board, cmdline=["--bin-file", str(image)]).runner.flash()
    assert fake_tools.calls("dfu-util")[1:] == [["-a", "0", "-s", "0x08000000", "-D", str(image)], LEAVE]


@pytest.mark.parametrize("output,rc,outcome", [
    ("dfu-util: Error during download get_status\n", 74, None),
    ("You need to specify one of -D or -U\nUsage: dfu-util [options] ...\n", 64, "cannot leave DFU mode on its own"),
    ("dfu-util: something else\n", 1, "could not leave DFU mode .exit 1.: dfu-util: something else"),
], ids=["board-gone-while-leaving", "dfu-util-too-old", "other-failure"])
def test_leave_failures(fake_tools, build_dir, board, output, rc, outcome):
    fake_tools.install("dfu-util", {"when": ["-l"], "output": ROM_LISTING},
                       {"when": ["0x08000000:leave"], "output": output, "rc": rc})
    runner = make_runner(DfuUtilRunner, build_dir, board).runner
    if outcome is None:
        runner.flash()
    else:
        with pytest.raises(FlashFailed, match=outcome):
            runner.flash()
    assert fake_tools.calls("dfu-util")[-1] == LEAVE
