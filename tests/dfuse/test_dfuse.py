"""DfuSe writer and reader: round trip, rejection of damaged files, and agreement
with dfu-util's own dfu-suffix (Debian package dfu-util)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runners"))

from dfu_listings import ROM_LISTING  # noqa: E402
from hello_firmware import build_elf  # noqa: E402
from h7psram import dfuse  # noqa: E402
from h7psram.boards import load_board  # noqa: E402
from h7psram.errors import CheckFailed, InputError  # noqa: E402

FLASH = load_board("devebox_h7a3").regions_of_kind("flash")[0]


def dfu_suffix() -> str:
    tool = shutil.which("dfu-suffix")
    if tool is None:
        pytest.skip("dfu-suffix not installed (apt install dfu-util)")
    return tool


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "two.dfu"
    dfuse.write_dfuse(path, [(0x08000000, bytes(range(256)) * 3), (0x081FFFF0, b"last sixteen b.")],
                      target_name="ST...")
    return path


def test_round_trip(image: Path):
    read = dfuse.read_dfuse(image)
    assert (read.vid, read.pid, read.bcd_device) == (0x0483, 0xDF11, 0xFFFF)
    (target,) = read.targets
    assert (target.alt, target.name) == (0, "ST...")
    assert [(e.address, e.data) for e in target.elements] == [
        (0x08000000, bytes(range(256)) * 3), (0x081FFFF0, b"last sixteen b.")]
    dfuse.check_within(read, FLASH)


def test_layout_on_disk(image: Path):
    data = image.read_bytes()
    assert data[:5] == b"DfuSe" and data[5] == 1
    assert struct.unpack_from("<I", data, 6)[0] == len(data) - 16 and data[10] == 1
    assert data[11:17] == b"Target"
    assert data[-16:-4] == struct.pack("<HHHH", 0xFFFF, 0xDF11, 0x0483, 0x011A) + b"UFD\x10"


def test_dfu_suffix_accepts_and_reads_the_same_ids_and_crc(image: Path):
    res = subprocess.run([dfu_suffix(), "--check", str(image)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert re.search(r"Vendor ID:\s+0x0483", res.stdout) and re.search(r"Product ID:\s+0xDF11", res.stdout)
    assert re.search(r"BCD DFU:\s+0x011A", res.stdout)
    crc = int(re.search(r"CRC:\s+0x([0-9A-Fa-f]{8})", res.stdout)[1], 16)
    assert crc == struct.unpack("<I", image.read_bytes()[-4:])[0]


def test_crc_agrees_with_the_one_dfu_suffix_writes(tmp_path: Path):
    """dfu-suffix -a computes the CRC itself: ours must give the same number."""
    raw = tmp_path / "raw.bin"
    raw.write_bytes(bytes((i * 7) & 0xFF for i in range(1000)))
    subprocess.run([dfu_suffix(), "-v", "0483", "-p", "df11", "-a", str(raw)], check=True, capture_output=True)
    data = raw.read_bytes()
    assert struct.unpack("<I", data[-4:])[0] == dfuse.dfu_crc(data[:-4])


def test_damaged_byte_is_rejected_by_both(image: Path):
    data = bytearray(image.read_bytes())
    data[400] ^= 0x01
    image.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"two.dfu: CRC mismatch: suffix says 0x[0-9A-F]{8}, contents give"):
        dfuse.read_dfuse(image)
    res = subprocess.run([dfu_suffix(), "--check", str(image)], capture_output=True, text=True)
    assert res.returncode != 0 and "CRC does not match" in res.stderr


@pytest.mark.parametrize("keep", [20, 300, -17, -1])
def test_truncated_file_is_rejected(image: Path, keep: int):
    data = image.read_bytes()
    image.write_bytes(data[:keep])
    with pytest.raises(InputError, match="truncated"):
        dfuse.read_dfuse(image)


def test_bad_prefix_is_rejected(image: Path):
    data = bytearray(image.read_bytes())
    data[0:5] = b"DfuSx"
    data[-4:] = struct.pack("<I", dfuse.dfu_crc(bytes(data[:-4])))
    image.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"bad DfuSe prefix: expected 'DfuSe' version 1"):
        dfuse.read_dfuse(image)


def _resealed(data: bytearray) -> bytes:
    data[-4:] = struct.pack("<I", dfuse.dfu_crc(bytes(data[:-4])))
    return bytes(data)


def test_element_size_past_target_end_is_rejected(image: Path):
    data = bytearray(image.read_bytes())
    first_elem_size_at = 11 + 274 + 4
    struct.pack_into("<I", data, first_elem_size_at, 0x10000)
    image.write_bytes(_resealed(data))
    with pytest.raises(InputError, match=r"element 0 at 0x08000000 claims 65536 bytes past the target end"):
        dfuse.read_dfuse(image)


def test_bad_target_signature_is_rejected(image: Path):
    data = bytearray(image.read_bytes())
    data[11:17] = b"Tarbet"
    image.write_bytes(_resealed(data))
    with pytest.raises(InputError, match="bad target 0 signature"):
        dfuse.read_dfuse(image)


def test_plain_dfu_suffix_file_is_not_dfuse(tmp_path: Path):
    raw = tmp_path / "plain.dfu"
    raw.write_bytes(b"\0" * 64)
    subprocess.run([dfu_suffix(), "-v", "0483", "-p", "df11", "-a", str(raw)], check=True, capture_output=True)
    with pytest.raises(InputError, match="bad DfuSe prefix"):
        dfuse.read_dfuse(raw)


@pytest.mark.parametrize("addr,size", [(0x07FFFFF0, 32), (0x081FFFF0, 17), (0x24000000, 4), (0x90000000, 1024)])
def test_element_outside_flash_is_refused(tmp_path: Path, addr: int, size: int):
    path = tmp_path / "out.dfu"
    dfuse.write_dfuse(path, [(0x08000000, b"ok"), (addr, b"\xAA" * size)])
    with pytest.raises(CheckFailed, match=rf"element 0x{addr:08X}-0x{addr + size - 1:08X} .* outside flash0 "
                                          r"0x08000000-0x081FFFFF"):
        dfuse.check_within(dfuse.read_dfuse(path), FLASH)


def test_wrong_usb_ids_are_refused(tmp_path: Path):
    path = tmp_path / "ids.dfu"
    dfuse.write_dfuse(path, [(0x08000000, b"x")], vid=0x1209, pid=0x0001)
    with pytest.raises(CheckFailed, match="made for USB device 1209:0001, not the DFU bootloader 0483:df11"):
        dfuse.check_ids(dfuse.read_dfuse(path))


def test_elf_elements_match_objcopy(tmp_path: Path):
    elf = build_elf(tmp_path)
    (elem,) = dfuse.dfuse_from_elf(elf)  # text and the .data load image touch: one element
    assert elem[0] == 0x08000000
    assert elem[1] == elf.with_suffix(".bin").read_bytes()


def test_not_an_elf_is_one_clear_error(tmp_path: Path):
    bogus = tmp_path / "bogus.elf"
    bogus.write_bytes(b"not an elf at all")
    with pytest.raises(InputError, match="bogus.elf: not a readable ELF file"):
        dfuse.dfuse_from_elf(bogus)


def test_cli_from_elf_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    elf = build_elf(tmp_path)
    out = tmp_path / "fw.dfu"
    assert dfuse.main(["from-elf", str(elf), "-o", str(out), "--board", "devebox_h7a3"]) == 0
    assert dfuse.main(["check", str(out), "--board", "devebox_h7a3"]) == 0
    assert f"{out}: 0x08000000" in capsys.readouterr().out
    res = subprocess.run([dfu_suffix(), "--check", str(out)], capture_output=True, text=True)
    assert res.returncode == 0
    out.write_bytes(out.read_bytes()[:-1])
    assert dfuse.main(["check", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_layouts_from_the_write_up_listing():
    names = re.findall(r'name="([^"]*)"', ROM_LISTING)
    flash = dfuse.parse_layout(names[2])[0]
    assert (flash.name, flash.start, flash.size, flash.sectors[0].count, flash.sectors[0].size) == (
        "Internal Flash", 0x08000000, 2 * 1024 * 1024, 256, 8192)
    opt = dfuse.parse_layout(names[1])[0]
    assert (opt.start, opt.size, opt.sectors[0].access) == (0x5200201C, 297, "e")
    with pytest.raises(InputError, match="bad sector description"):
        dfuse.parse_layout("@Internal Flash /0x08000000/256x08Kg")


def test_board_layout_string_is_what_the_rom_reports():
    text = dfuse.board_layout_string("devebox_h7a3")
    assert text == "@Internal Flash  /0x08000000/256*08Kg"
    rom = dfuse.parse_layout("@Internal Flash   /0x08000000/256*08Kg")
    assert dfuse.parse_layout(text) == rom


def test_dfu_util_reads_the_ids_from_our_suffix(image: Path, tmp_path: Path):
    """dfu-util itself loads the file before looking for a device. The serial filter
    matches no board, so nothing is ever written even if one is plugged in."""
    tool = shutil.which("dfu-util")
    if tool is None:
        pytest.skip("dfu-util not installed (apt install dfu-util)")
    argv = [tool, "-a", "0", "-S", "no-such-serial-h7psram-test", "-D"]
    res = subprocess.run([*argv, str(image)], capture_output=True, text=True, timeout=30)
    out = res.stdout + res.stderr
    assert "Match vendor ID from file: 0483" in out and "Match product ID from file: df11" in out
    assert "CRC does not match" not in out
    data = bytearray(image.read_bytes())
    data[100] ^= 0x01
    bad = tmp_path / "bad.dfu"
    bad.write_bytes(bytes(data))
    res = subprocess.run([*argv, str(bad)], capture_output=True, text=True, timeout=30)
    assert "DFU suffix CRC does not match" in res.stdout + res.stderr
