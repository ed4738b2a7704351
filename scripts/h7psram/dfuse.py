"""DfuSe ``.dfu`` images: writer, validating reader, and the alt-setting layout strings.

A DfuSe file is what ST's DFU bootloaders (and MicroPython's mboot) take through
``dfu-util -D``. Layout, all little-endian:

* prefix, 11 bytes: ``"DfuSe"``, version 1, image size (prefix + targets, no
  suffix), number of targets;
* per target, a 274-byte header: ``"Target"``, alternate setting, a "named" flag
  (u32), a 255-byte zero-padded name, the size of its elements, the element count;
  then the elements, each ``address, size, data``;
* the 16-byte DFU suffix: bcdDevice, idProduct, idVendor, bcdDFU (0x011A for
  DfuSe), ``"UFD"``, its length (16), and a CRC.

The CRC is the reflected CRC-32 of every byte before it, with the register
preset to all ones and *no* final inversion (that is how dfu-util and the DFU 1.1
spec compute it), so it equals ``zlib.crc32(data) ^ 0xFFFFFFFF``.

The alt-setting names that a DfuSe device reports (``"@Internal Flash
/0x08000000/256*08Kg"``) describe its memory; :func:`parse_layout` reads them so a
runner can compare what the chip says with what the board description says.
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Protocol, Sequence

from h7psram.errors import CheckFailed, H7Error, InputError

ST_VID = 0x0483
ST_DFU_PID = 0xDF11
DFUSE_BCD = 0x011A
# "Any device release": the DFU spec's value for a suffix that is not tied to one.
ANY_BCD_DEVICE = 0xFFFF
DEFAULT_TARGET_NAME = "ST..."

_PREFIX = struct.Struct("<5sBIB")  # signature, version, image size, targets
_TARGET = struct.Struct("<6sBI255sII")  # signature, alt, named, name, size, elements
_ELEMENT = struct.Struct("<II")  # address, size
_SUFFIX = struct.Struct("<HHHH3sBI")  # bcdDevice, pid, vid, bcdDFU, "UFD", length, crc
SUFFIX_SIZE = _SUFFIX.size


class MemoryRegion(Protocol):
    """What the reader needs of a board region (``h7psram.boards.Region`` fits)."""

    name: str
    start: int
    size: int


@dataclass(frozen=True)
class DfuseElement:
    address: int
    data: bytes

    @property
    def end(self) -> int:
        return self.address + len(self.data)


@dataclass(frozen=True)
class DfuseTarget:
    alt: int
    name: str
    elements: tuple[DfuseElement, ...]


@dataclass(frozen=True)
class DfuseImage:
    targets: tuple[DfuseTarget, ...]
    vid: int = ST_VID
    pid: int = ST_DFU_PID
    bcd_device: int = ANY_BCD_DEVICE
    path: str = "<memory>"

    @property
    def elements(self) -> list[DfuseElement]:
        return [e for t in self.targets for e in t.elements]


def dfu_crc(data: bytes) -> int:
    """The DFU suffix CRC of ``data`` (see the module docstring)."""
    return zlib.crc32(data) ^ 0xFFFFFFFF


# --------------------------------------------------------------------------- writer


def encode_dfuse(image: DfuseImage) -> bytes:
    """The bytes of a complete ``.dfu`` file for ``image``."""
    body = bytearray()
    for target in image.targets:
        name = target.name.encode("ascii")
        if len(name) > 254:
            raise InputError(f"DfuSe target name '{target.name}' is longer than 254 characters")
        elements = b"".join(
            _ELEMENT.pack(e.address, len(e.data)) + e.data for e in target.elements
        )
        body += _TARGET.pack(
            b"Target", target.alt, 1 if name else 0, name, len(elements), len(target.elements)
        )
        body += elements
    data = bytearray(_PREFIX.pack(b"DfuSe", 1, _PREFIX.size + len(body), len(image.targets)))
    data += body
    data += _SUFFIX.pack(image.bcd_device, image.pid, image.vid, DFUSE_BCD, b"UFD", SUFFIX_SIZE, 0)[:-4]
    data += struct.pack("<I", dfu_crc(bytes(data)))
    return bytes(data)


def write_dfuse(
    path: str | Path,
    elements: Iterable[tuple[int, bytes]],
    *,
    vid: int = ST_VID,
    pid: int = ST_DFU_PID,
    target_name: str = DEFAULT_TARGET_NAME,
    alt: int = 0,
) -> DfuseImage:
    """Write a single-target DfuSe file holding ``elements`` (address, data) pairs."""
    elems = tuple(DfuseElement(addr, bytes(data)) for addr, data in elements)
    if not elems:
        raise InputError(f"{path}: nothing to write (no loadable data)")
    image = DfuseImage((DfuseTarget(alt, target_name, elems),), vid=vid, pid=pid, path=str(path))
    Path(path).write_bytes(encode_dfuse(image))
    return image


def dfuse_from_elf(elf: str | Path) -> list[tuple[int, bytes]]:
    """The (load address, bytes) pairs a flasher writes for ``elf``.

    Takes the file contents of the PT_LOAD segments at their physical (load)
    address, so initialised data goes where the startup code copies it from;
    segments that touch end to end are merged into one element.
    """
    from h7psram import elf_reader

    try:
        pieces = elf_reader.load_segments(Path(elf))
    except elf_reader.BadElf as err:
        raise InputError(f"{elf}: not a readable ELF file ({err.problem})") from None
    pieces.sort()
    merged: list[tuple[int, bytearray]] = []
    for addr, data in pieces:
        if merged and merged[-1][0] + len(merged[-1][1]) == addr:
            merged[-1][1].extend(data)
        else:
            merged.append((addr, bytearray(data)))
    return [(addr, bytes(data)) for addr, data in merged]


def dfuse_from_bin(path: str | Path, address: int) -> list[tuple[int, bytes]]:
    """One element: the whole raw binary at ``address``."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    if not data:
        raise InputError(f"{path}: empty file")
    return [(address, data)]


# --------------------------------------------------------------------------- reader


def read_dfuse(path: str | Path) -> DfuseImage:
    """Read and validate a ``.dfu`` file; raise InputError naming the first problem."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    return parse_dfuse(data, str(path))


def parse_dfuse(data: bytes, name: str = "<memory>") -> DfuseImage:
    if len(data) < _PREFIX.size + SUFFIX_SIZE:
        raise InputError(f"{name}: truncated: {len(data)} bytes is too short for a DfuSe file")
    sig, version, image_size, n_targets = _PREFIX.unpack_from(data, 0)
    if sig != b"DfuSe" or version != 1:
        raise InputError(
            f"{name}: bad DfuSe prefix: expected 'DfuSe' version 1, found {sig!r} version {version}"
        )
    bcd_device, pid, vid, bcd_dfu, ufd, length, crc = _SUFFIX.unpack_from(data, len(data) - SUFFIX_SIZE)
    if ufd != b"UFD" or length != SUFFIX_SIZE:
        if image_size + SUFFIX_SIZE > len(data):
            raise InputError(
                f"{name}: truncated: prefix says {image_size + SUFFIX_SIZE} bytes, file holds {len(data)}"
            )
        raise InputError(f"{name}: no DFU suffix ('UFD' signature, length 16) at the end of the file")
    if image_size + SUFFIX_SIZE != len(data):
        what = "truncated" if image_size + SUFFIX_SIZE > len(data) else "size mismatch"
        raise InputError(
            f"{name}: {what}: prefix says {image_size + SUFFIX_SIZE} bytes, file holds {len(data)}"
        )
    actual = dfu_crc(data[:-4])
    if actual != crc:
        raise InputError(
            f"{name}: CRC mismatch: suffix says 0x{crc:08X}, contents give 0x{actual:08X} (file damaged)"
        )
    if bcd_dfu != DFUSE_BCD:
        raise InputError(f"{name}: suffix bcdDFU is 0x{bcd_dfu:04X}, a DfuSe file has 0x{DFUSE_BCD:04X}")

    targets: list[DfuseTarget] = []
    pos = _PREFIX.size
    for t in range(n_targets):
        if pos + _TARGET.size > image_size:
            raise InputError(f"{name}: truncated: target {t} header runs past the image end")
        tsig, alt, named, tname, tsize, n_elems = _TARGET.unpack_from(data, pos)
        if tsig != b"Target":
            raise InputError(f"{name}: bad target {t} signature {tsig!r} at offset {pos}")
        pos += _TARGET.size
        tend = pos + tsize
        if tend > image_size:
            raise InputError(f"{name}: truncated: target {t} claims {tsize} bytes past the image end")
        elements: list[DfuseElement] = []
        for e in range(n_elems):
            if pos + _ELEMENT.size > tend:
                raise InputError(f"{name}: target {t} element {e} header runs past the target end")
            addr, size = _ELEMENT.unpack_from(data, pos)
            pos += _ELEMENT.size
            if pos + size > tend:
                raise InputError(
                    f"{name}: target {t} element {e} at 0x{addr:08X} claims {size} bytes past the target end"
                )
            elements.append(DfuseElement(addr, data[pos : pos + size]))
            pos += size
        if pos != tend:
            raise InputError(
                f"{name}: target {t} size says {tsize} bytes, its {n_elems} elements fill {tsize - (tend - pos)}"
            )
        label = tname.split(b"\0", 1)[0].decode("ascii", "replace") if named else ""
        targets.append(DfuseTarget(alt, label, tuple(elements)))
    if pos != image_size:
        raise InputError(f"{name}: {image_size - pos} stray bytes after the last target")
    return DfuseImage(tuple(targets), vid=vid, pid=pid, bcd_device=bcd_device, path=name)


def check_within(image: DfuseImage, flash: MemoryRegion) -> None:
    """Refuse an image with an element (or nothing) outside the ``flash`` region."""
    if not image.elements:
        raise CheckFailed(f"{image.path}: no image elements to write")
    for elem in image.elements:
        if elem.address < flash.start or elem.end > flash.start + flash.size:
            raise CheckFailed(
                f"{image.path}: element 0x{elem.address:08X}-0x{elem.end - 1:08X} ({len(elem.data)} bytes) "
                f"lies outside {flash.name} 0x{flash.start:08X}-0x{flash.start + flash.size - 1:08X}"
            )


def check_ids(image: DfuseImage, vid: int = ST_VID, pid: int = ST_DFU_PID) -> None:
    if (image.vid, image.pid) not in ((vid, pid), (0xFFFF, 0xFFFF)):
        raise CheckFailed(
            f"{image.path}: made for USB device {image.vid:04x}:{image.pid:04x}, "
            f"not the DFU bootloader {vid:04x}:{pid:04x}"
        )


# --------------------------------------------------------------- alt-setting layout

_UNITS = {" ": 1, "B": 1, "K": 1024, "M": 1024 * 1024}
_SECTOR_RE = re.compile(r"^\s*(\d+)\*(\d+)\s*([ BKM])([a-g])\s*$")


@dataclass(frozen=True)
class SectorRun:
    count: int
    size: int
    access: str  # DfuSe letter a..g: bit0 readable, bit1 erasable, bit2 writable


@dataclass(frozen=True)
class MemoryLayout:
    name: str
    start: int
    sectors: tuple[SectorRun, ...] = field(default_factory=tuple)

    @property
    def size(self) -> int:
        return sum(r.count * r.size for r in self.sectors)

    @property
    def end(self) -> int:
        return self.start + self.size


def parse_layout(text: str) -> list[MemoryLayout]:
    """Read a DfuSe alt-setting name such as ``@Internal Flash /0x08000000/256*08Kg``.

    Several memories may follow each other (``/0x90000000/...`` after the
    first sector list); every one is returned.
    """
    if not text.startswith("@"):
        raise InputError(f"'{text}': not a DfuSe memory layout (no leading '@')")
    parts = text[1:].split("/")
    if len(parts) < 3 or len(parts) % 2 == 0:
        raise InputError(f"'{text}': expected '@name/0xADDRESS/N*SIZEuT'")
    name = parts[0].strip()
    layouts = []
    for addr_text, sectors_text in zip(parts[1::2], parts[2::2]):
        try:
            start = int(addr_text.strip(), 16)
        except ValueError:
            raise InputError(f"'{text}': bad address '{addr_text}'") from None
        runs = []
        for chunk in sectors_text.split(","):
            m = _SECTOR_RE.match(chunk)
            if not m:
                raise InputError(f"'{text}': bad sector description '{chunk}'")
            runs.append(SectorRun(int(m[1]), int(m[2]) * _UNITS[m[3]], m[4]))
        layouts.append(MemoryLayout(name, start, tuple(runs)))
    return layouts


def layout_string(name: str, start: int, sector_size: int, count: int, access: str = "g") -> str:
    """The DfuSe layout string for ``count`` equal sectors, as ST's ROM and mboot spell it.

    Two spaces after the name, as MicroPython's mboot writes its FLASH_LAYOUT_STR;
    sizes in KiB with two digits (``08K``) as the H7A3 ROM bootloader reports them.
    """
    if sector_size % 1024:
        raise InputError(f"sector size {sector_size} is not a whole number of KiB")
    return f"@{name}  /0x{start:08X}/{count}*{sector_size // 1024:02d}K{access}"


# ----------------------------------------------------------------------------- CLI


def _parse_int(text: str) -> int:
    return int(text, 0)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m h7psram.dfuse {from-elf,from-bin,check,show}``, for CMake and people."""
    ap = argparse.ArgumentParser(prog="python -m h7psram.dfuse", description=main.__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("from-elf", help="write a .dfu from the loadable segments of an ELF")
    p.add_argument("elf")
    p.add_argument("-o", "--output", required=True)
    p = sub.add_parser("from-bin", help="write a .dfu holding a raw binary at an address")
    p.add_argument("bin")
    p.add_argument("-a", "--address", type=_parse_int, required=True)
    p.add_argument("-o", "--output", required=True)
    for cmd in ("from-elf", "from-bin"):
        sp = sub.choices[cmd]
        sp.add_argument("--board", help="refuse data outside this board's flash")
    p = sub.add_parser("check", help="validate a .dfu (prefix, sizes, CRC; flash bounds with --board)")
    p.add_argument("dfu")
    p.add_argument("--board")
    p = sub.add_parser("layout", help="print the board's DfuSe flash layout string (mboot's FLASH_LAYOUT_STR)")
    p.add_argument("--board", required=True)
    args = ap.parse_args(argv)
    try:
        if args.cmd == "layout":
            print(board_layout_string(args.board))
            return 0
        if args.cmd == "check":
            image = read_dfuse(args.dfu)
        else:
            elements = dfuse_from_elf(args.elf) if args.cmd == "from-elf" else dfuse_from_bin(args.bin, args.address)
            image = DfuseImage((DfuseTarget(0, DEFAULT_TARGET_NAME, tuple(DfuseElement(a, d) for a, d in elements)),),
                               path=args.output)
        if args.board:
            check_within(image, board_flash(args.board))
        if args.cmd != "check":
            Path(args.output).write_bytes(encode_dfuse(image))
        for e in image.elements:
            print(f"{image.path}: 0x{e.address:08X} {len(e.data)} bytes")
    except H7Error as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


def board_flash(board_name: str) -> MemoryRegion:
    """The internal flash region of a board, from its devicetree description."""
    from h7psram.boards import load_board

    return flash_of(load_board(board_name))


def flash_of(board: object) -> MemoryRegion:
    board_name = getattr(board, "name", "?")
    regions = board.regions_of_kind("flash")  # type: ignore[attr-defined]
    if not regions:
        raise InputError(f"board {board_name}: its description has no region of kind 'flash'")
    return regions[0]


def board_layout_string(board_name: str) -> str:
    """The internal flash as a DfuSe layout: what the H7A3 ROM reports and mboot must say."""
    from h7psram.boards import load_board

    board = load_board(board_name)
    flash = flash_of(board)
    sector = board.flash_erase_size
    if flash.size % sector:
        raise InputError(f"board {board_name}: flash size {flash.size} is not a whole number of {sector}-byte sectors")
    return layout_string("Internal Flash", flash.start, sector, flash.size // sector)


if __name__ == "__main__":
    sys.exit(main())
