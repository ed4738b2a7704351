"""Flash over USB DFU with dfu-util: the STM32 ROM bootloader (0483:df11) or mboot.

The download is the one the original write-up ran by hand, followed by a
separate request to leave DFU mode at the start of flash::

    dfu-util -a 0 -D BUILD_DIR/firmware.dfu
    dfu-util -a 0 -s 0x08000000:leave

The ST ROM bootloader starts the code at its current address pointer when it
leaves DFU mode, and dfu-util's ``-s :leave`` next to a DfuSe file sets no
address (it is left wherever the last written block was); so the leave is a
command of its own with the address given, as MicroPython's pydfu does. The
chip then starts from the vector table at the start of flash: the application,
or in an mboot build mboot, which starts the application.

Before it runs, ``dfu-util -l`` must show exactly one bootloader (or the one
chosen with ``--serial``), its alt setting must be the internal flash, and the
``.dfu`` must validate and fit in the board's flash.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from h7psram import dfuse
from h7psram.errors import InputError
from h7psram.runners.core import (
    FlashFailed,
    Runner,
    ToolFailed,
    ToolNotFound,
    ToolResult,
    VerifyMismatch,
    register,
)

_FOUND_RE = re.compile(r"^Found (DFU|Runtime): \[([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\]\s*(.*)$")
_FIELD_RE = re.compile(r'(\w+)=("[^"]*"|[^,\s]*)')

# Said when no bootloader shows up and the board description has no hint of its own.
GENERIC_DFU_HINT = "connect BOOT0 to 3V3 or hold the BOOT key, then plug USB in again"


@dataclass
class DfuDevice:
    vid: int
    pid: int
    path: str
    serial: str
    devnum: str = ""
    runtime: bool = False
    alts: dict[int, str] = field(default_factory=dict)

    @property
    def is_rom_bootloader(self) -> bool:
        """ST's ROM bootloader also offers option bytes; mboot offers flash only."""
        return any(name.lstrip("@").startswith("Option Bytes") for name in self.alts.values())

    def describe(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x} serial {self.serial} at path {self.path}"


def parse_listing(text: str) -> list[DfuDevice]:
    """The devices in ``dfu-util -l`` output, one entry per device with all its alt settings."""
    devices: dict[tuple[str, str, str], DfuDevice] = {}
    for line in text.splitlines():
        m = _FOUND_RE.match(line.strip())
        if not m:
            continue
        fields = {k: v.strip('"') for k, v in _FIELD_RE.findall(m[4])}
        key = (fields.get("path", ""), fields.get("devnum", ""), fields.get("serial", ""))
        dev = devices.get(key)
        if dev is None:
            dev = devices[key] = DfuDevice(
                vid=int(m[2], 16),
                pid=int(m[3], 16),
                path=fields.get("path", ""),
                serial=fields.get("serial", ""),
                devnum=fields.get("devnum", ""),
                runtime=m[1] == "Runtime",
            )
        if "alt" in fields and fields["alt"].isdigit():
            dev.alts[int(fields["alt"])] = fields.get("name", "")
    return list(devices.values())


def _vid_pid(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"([0-9a-fA-F]{4}):([0-9a-fA-F]{4})", text)
    if not m:
        raise argparse.ArgumentTypeError(f"'{text}' is not VID:PID in hex, e.g. 0483:df11")
    return int(m[1], 16), int(m[2], 16)


@register
class DfuUtilRunner(Runner):
    name = "dfu-util"
    program = "dfu-util"
    install_hint = "apt install dfu-util"
    summary = "USB DFU through the STM32 ROM bootloader or mboot (default)"
    file_types = ("dfu", "elf", "bin")
    erase = True
    dev_id = "USB serial number: dfu-util -S ID"

    @classmethod
    def add_options(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--alt", type=int, default=0, help="DFU alt setting of the internal flash (default 0)")
        parser.add_argument("--device", "--pid", type=_vid_pid, default=(dfuse.ST_VID, dfuse.ST_DFU_PID),
                            metavar="VID:PID", help="USB IDs of the bootloader (default 0483:df11)")
        leave = parser.add_mutually_exclusive_group()
        leave.add_argument("--dfuse-modifiers", default="leave", metavar="MODS",
                           help="DfuSe modifiers for dfu-util -s, ':'-separated (default 'leave': start the "
                                "firmware after the download, as Zephyr's dfu-util runner does; the leave is "
                                "its own request, 'dfu-util -s FLASH_START:leave')")
        leave.add_argument("--no-leave", dest="dfuse_modifiers", action="store_const", const="",
                           help="stay in the bootloader after the download")
        parser.add_argument("--bin", action="store_true",
                            help="write firmware.bin (at the ELF's load address) instead of firmware.dfu")
        parser.add_argument("--file", help="flash this .dfu (or with --bin, this .bin) instead of the build's")
        parser.add_argument("--verify", action="store_true",
                            help="read every written range back with 'dfu-util -U' and compare")
        parser.add_argument("--mboot", nargs="?", const="", default=None, metavar="MBOOT_DFU",
                            help="install MicroPython's mboot first if the board still runs the ROM bootloader, "
                                 "then the application (default file: the build's mboot .dfu)")

    # ------------------------------------------------------------ device search

    def list_devices(self) -> list[DfuDevice]:
        result = self._run_quiet([self.require(), "-l"])
        vid, pid = self.options.device
        if result.returncode != 0 and "Found " not in result.output:
            last = result.last_line(r"^dfu-util: ") or result.last_line(r"\S") or "no output"
            raise ToolFailed(f"'dfu-util -l' failed (exit {result.returncode}): {last}", result.returncode)
        return [d for d in parse_listing(result.output) if (d.vid, d.pid) == (vid, pid) and not d.runtime]

    def _run_quiet(self, argv: list[str]) -> ToolResult:
        try:
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        except FileNotFoundError:
            raise ToolNotFound(self.program, self.install_hint) from None
        return ToolResult(proc.returncode, proc.stdout.decode(errors="replace"))

    def dfu_mode_hint(self) -> str:
        hint = getattr(self.ctx.board, "dfu_hint", None) if self.ctx.board is not None else None
        return hint or GENERIC_DFU_HINT

    def select_device(self) -> DfuDevice:
        vid, pid = self.options.device
        devices = self.list_devices()
        if not devices:
            raise FlashFailed(
                f"no DFU device {vid:04x}:{pid:04x} found by 'dfu-util -l': put the board in DFU mode: "
                f"{self.dfu_mode_hint()}"
            )
        if self.ctx.serial:
            chosen = [d for d in devices if d.serial == self.ctx.serial]
            if not chosen:
                serials = ", ".join(d.serial for d in devices)
                raise FlashFailed(f"no DFU device with serial {self.ctx.serial} (found: {serials})")
            devices = chosen
        if len(devices) > 1:
            serials = ", ".join(d.serial for d in devices)
            raise FlashFailed(f"{len(devices)} DFU devices found (serials {serials}): choose one with --serial")
        return devices[0]

    def check_alt(self, dev: DfuDevice) -> None:
        alt = self.options.alt
        name = dev.alts.get(alt)
        if name is None or not name.lstrip("@").startswith("Internal Flash"):
            flash_alts = [a for a, n in dev.alts.items() if n.lstrip("@").startswith("Internal Flash")]
            better = f"; the internal flash is alt {flash_alts[0]} (use --alt {flash_alts[0]})" if flash_alts else ""
            raise FlashFailed(f"{dev.describe()}: alt {alt} is '{name or 'absent'}', not the internal flash{better}")
        # The chip's own description of its flash should match the board's; one
        # H7A3 ROM revision was reported to misstate its sector size, so only warn.
        try:
            layout = dfuse.parse_layout(name)[0]
        except InputError:
            self.ctx.warn(f"{dev.describe()}: cannot read the flash layout '{name}'")
            return
        flash = self.ctx.flash_region()
        if (layout.start, layout.size) != (flash.start, flash.size):
            self.ctx.warn(
                f"device reports '{name}' ({layout.size // 1024} KiB at 0x{layout.start:08X}), board "
                f"{self.ctx.build.board} has {flash.size // 1024} KiB at 0x{flash.start:08X}; writing anyway"
            )

    # ----------------------------------------------------------------- images

    def chosen_image(self) -> tuple[str, Path]:
        """("dfu" | "bin" | "elf", path): --file/--bin first (this runner's own spellings),
        then --elf-file/--bin-file, else the build's firmware.dfu."""
        if self.options.file:
            return ("bin" if self.options.bin else "dfu"), Path(self.options.file)
        if self.options.bin and not (self.options.bin_file or self.options.elf_file or self.options.hex_file):
            return "bin", self.ctx.build.output("bin")
        return self.image()

    def load_checked_dfu(self, path: Path) -> dfuse.DfuseImage:
        image = dfuse.read_dfuse(path)
        dfuse.check_ids(image, *self.options.device)
        dfuse.check_within(image, self.ctx.flash_region())
        return image

    def bin_elements(self, path: Path, own_build: bool) -> list[dfuse.DfuseElement]:
        flash = self.ctx.flash_region()
        (addr, data), = dfuse.dfuse_from_bin(path, self.load_address())
        if addr + len(data) > flash.end:
            raise FlashFailed(f"{path}: {len(data)} bytes at 0x{addr:08X} do not fit in {flash.name} "
                              f"(ends at 0x{flash.end:08X})")
        if own_build:
            self.check_bin_has_no_gap(path)
        return [dfuse.DfuseElement(addr, data)]

    def check_bin_has_no_gap(self, path: Path) -> None:
        """A raw binary fills the holes between the ELF's load ranges with padding, and
        writing it would wipe what lives there (MicroPython keeps its filesystem in
        such a hole); the .dfu writes only the loaded ranges."""
        if not self.ctx.build.has_output("elf") or not self.ctx.build.elf.is_file():
            return
        ranges = dfuse.dfuse_from_elf(self.ctx.build.elf)
        for (a_addr, a_data), (b_addr, _) in zip(ranges, ranges[1:]):
            gap_start = a_addr + len(a_data)
            raise FlashFailed(
                f"{path}: would overwrite 0x{gap_start:08X}-0x{b_addr - 1:08X}, a gap between the ELF's load ranges "
                "(e.g. the filesystem); flash firmware.dfu instead (drop --bin)"
            )

    def dfu_from_elf(self, elf: Path, tmp: Path) -> Path:
        """A .dfu of the ELF's load image (what 'west build' writes), for --elf-file."""
        out = tmp / (elf.stem + ".dfu")
        vid, pid = self.options.device
        dfuse.write_dfuse(out, dfuse.dfuse_from_elf(elf), vid=vid, pid=pid, alt=self.options.alt)
        return out

    # -------------------------------------------------------------- commands

    def base_command(self) -> list[str]:
        cmd = [self.program, "-a", str(self.options.alt)]
        if self.ctx.serial:
            cmd += ["-S", self.ctx.serial]
        return cmd

    def modifiers(self) -> tuple[list[str], bool]:
        """(modifiers for the downloads, whether to leave DFU mode afterwards)."""
        mods = [m for m in (self.options.dfuse_modifiers or "").split(":") if m]
        return [m for m in mods if m != "leave"], "leave" in mods

    def download_command(self, path: Path, kind: str = "dfu", mods: Sequence[str] = ()) -> list[str]:
        suffix = "".join(f":{m}" for m in mods)
        if kind == "bin":
            # a raw binary needs the address; a .dfu carries its own, so only the modifiers go in
            select = ["-s", f"0x{self.load_address():08X}{suffix}"]
        else:
            select = ["-s", suffix] if suffix else []
        return self.base_command() + select + ["-D", str(path)] + self.ctx.tool_args

    def leave_command(self) -> list[str]:
        """Leave DFU mode and start the code at the start of flash (DfuSe command mode)."""
        return self.base_command() + ["-s", f"0x{self.ctx.flash_region().start:08X}:leave"] + self.ctx.tool_args

    def download(self, path: Path, kind: str = "dfu", mods: Sequence[str] = ()) -> None:
        self.ctx.info(f"writing {path} with dfu-util")
        result = self.run_tool(self.download_command(path, kind, mods))
        if result.returncode != 0:
            self.raise_failure(result, path)

    def leave(self) -> None:
        self.ctx.info("leaving DFU mode: the board starts from the start of its flash")
        result = self.run_tool(self.leave_command())
        if result.returncode == 0:
            return
        if "specify one of -D or -U" in result.output:
            raise FlashFailed("the firmware is written, but this dfu-util cannot leave DFU mode on its own "
                              "(dfu-util 0.10 or later can): set BOOT0 low and reset the board")
        if re.search(r"get_status|LIBUSB_ERROR_(PIPE|IO|NO_DEVICE)", result.output):
            # the bootloader may jump to the firmware before it answers the last request
            self.ctx.info("dfu-util lost the board while it left DFU mode (it starts the firmware then)")
            return
        last = result.last_line(r"^dfu-util: ") or result.last_line(r"\S") or "no output"
        raise ToolFailed(f"dfu-util could not leave DFU mode (exit {result.returncode}): {last}", result.returncode)

    def raise_failure(self, result: ToolResult, path: Path) -> None:
        text = result.output
        if "No DFU capable USB device available" in text:
            raise FlashFailed(f"the DFU device went away while writing {path}: {self.dfu_mode_hint()} and retry")
        if "More than one DFU capable USB device found" in text:
            raise FlashFailed("several DFU devices found: choose one with --serial")
        if "LIBUSB_ERROR_ACCESS" in text or "Cannot open DFU device" in text:
            raise FlashFailed("dfu-util cannot open the USB device: no permission (add a udev rule for 0483:df11)")
        last = result.last_line(r"^dfu-util: ") or result.last_line(r"\S") or "no output"
        raise ToolFailed(f"dfu-util failed writing {path} (exit {result.returncode}): {last}", result.returncode)

    def verify(self, elements: list[dfuse.DfuseElement], what: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="h7psram-verify-") as tmp:
            for i, elem in enumerate(elements):
                readback = Path(tmp) / f"element{i}.bin"
                cmd = self.base_command() + ["-s", f"0x{elem.address:08X}:{len(elem.data)}", "-U", str(readback)]
                result = self.run_tool(cmd)
                if result.returncode != 0 or not readback.exists():
                    last = result.last_line(r"^dfu-util: ") or f"exit {result.returncode}"
                    raise ToolFailed(f"dfu-util could not read back 0x{elem.address:08X} to verify: {last}",
                                     result.returncode or 1)
                got = readback.read_bytes()
                if got[: len(elem.data)] != elem.data:
                    offset = next((k for k, (a, b) in enumerate(zip(elem.data, got)) if a != b), len(got))
                    wrote = f"0x{elem.data[offset]:02x}" if offset < len(elem.data) else "-"
                    read = f"0x{got[offset]:02x}" if offset < len(got) else "nothing"
                    raise VerifyMismatch(
                        f"{what}: flash verify mismatch at 0x{elem.address + offset:08X}: wrote {wrote}, read {read}"
                    )
        self.ctx.info(f"verified {sum(len(e.data) for e in elements)} bytes")

    # ------------------------------------------------------------------ flash

    def flash(self) -> None:
        self.require()
        kind, path = self.chosen_image()
        with tempfile.TemporaryDirectory(prefix="h7psram-dfu-") as tmp:
            if kind == "elf":
                path, kind = self.dfu_from_elf(path, Path(tmp)), "dfu"
            self.write(kind, path)

    def write(self, kind: str, path: Path) -> None:
        if kind == "bin":
            elements = self.bin_elements(path, own_build=not (self.options.file or self.options.bin_file))
        else:
            elements = self.load_checked_dfu(path).elements
        mboot_image = self.load_mboot() if self.options.mboot is not None else None
        if mboot_image is not None:
            self.check_clear_of_mboot(elements, mboot_image, path)

        dev = self.select_device()
        self.check_alt(dev)
        mods, leave = self.modifiers()
        # --erase: the first download erases the whole flash (mboot keeps its own sectors)
        first_mods = mods + ["mass-erase", "force"] if self.options.erase else mods
        if mboot_image is not None:
            if dev.is_rom_bootloader:
                # the ROM bootloader stays in DFU mode until the application is written too
                self.ctx.info(f"{dev.describe()} runs the ROM bootloader: installing mboot first")
                self.download(Path(mboot_image.path), "dfu", first_mods)
                first_mods = mods
                if self.options.verify:
                    self.verify(mboot_image.elements, Path(mboot_image.path))
            else:
                self.ctx.info(f"{dev.describe()} runs mboot already: writing the application only")
        self.download(path, kind, first_mods)
        if self.options.verify:
            self.verify(elements, path)
        if leave:
            self.leave()

    # ------------------------------------------------------------------ mboot

    def load_mboot(self) -> dfuse.DfuseImage:
        if self.options.mboot:
            path = Path(self.options.mboot)
        elif self.ctx.build.has_output("mboot_dfu"):
            path = self.ctx.build.output("mboot_dfu")
        else:
            raise InputError(
                f"{self.ctx.build.build_dir}: --mboot given but the build has no mboot image "
                "(build mboot, or pass --mboot FILE)"
            )
        return self.load_checked_dfu(path)

    def mboot_sectors(self, mboot: dfuse.DfuseImage) -> tuple[int, int]:
        """[lo, hi) that mboot protects: its reserved sectors as the build recorded them, which
        reach past the image itself (a 22 KiB mboot keeps 32 KiB); else the image's extent."""
        layout = self.ctx.build.mboot
        if layout and "flash" in layout and "flash_size" in layout:
            lo = int(layout["flash"], 0)
            return lo, lo + int(layout["flash_size"], 0)
        return min(e.address for e in mboot.elements), max(e.end for e in mboot.elements)

    def check_clear_of_mboot(self, elements: list[dfuse.DfuseElement], mboot: dfuse.DfuseImage, app: Path) -> None:
        """mboot refuses writes to its own sectors; catch that here, with the addresses."""
        lo, hi = self.mboot_sectors(mboot)
        for elem in elements:
            if elem.address < hi and elem.end > lo:
                raise FlashFailed(
                    f"{app}: data at 0x{elem.address:08X}-0x{elem.end - 1:08X} overlaps mboot "
                    f"(0x{lo:08X}-0x{hi - 1:08X}); link the application after the bootloader"
                )
