"""Flash over SWD with OpenOCD, holding NRST low while it attaches.

The boards' firmware may reconfigure the SWD pins or sleep, so the debugger
must connect under reset (the write-up: "Configure the debugger to assert RST
during attach")::

    openocd -f interface/stlink.cfg -f target/stm32h7x.cfg
            -c "reset_config srst_only connect_assert_srst"
            -c "program firmware.elf verify reset exit"

As a GDB server (``west debug``/``debugserver``/``attach``) the reset line also
says ``srst_nogate``: the H7's SWD port keeps working while NRST is low, so
OpenOCD may talk to the core during the reset it holds, and halts it at the
reset vector.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from h7psram.runners.core import FlashFailed, ToolFailed, VerifyMismatch, register
from h7psram.runners.gdb import GdbServerRunner

# Characters that make a Tcl word need braces.
_TCL_SPECIAL = re.compile(r'[\s{}\[\]$\\";]')


def tcl_word(text: str) -> str:
    if not text or _TCL_SPECIAL.search(text):
        if "{" in text or "}" in text:
            raise FlashFailed(f"'{text}': braces in a path cannot be passed to OpenOCD")
        return "{" + text + "}"
    return text


@register
class OpenOcdRunner(GdbServerRunner):
    name = "openocd"
    program = "openocd"
    install_hint = "apt install openocd"
    summary = "SWD through an ST-LINK (or another probe) with OpenOCD, connect under reset"
    file_types = ("elf", "hex", "bin")
    erase = True
    dev_id = "probe serial number: 'adapter serial ID'"

    @classmethod
    def add_options(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--interface", default="stlink",
                            help="OpenOCD interface config under interface/ (default stlink)")
        parser.add_argument("--openocd-target", default="stm32h7x",
                            help="OpenOCD target config under target/ (default stm32h7x)")
        parser.add_argument("--adapter-speed", type=int, metavar="KHZ", help="SWD clock in kHz")
        parser.add_argument("--cmd-pre-init", action="append", default=[], metavar="CMD",
                            help="OpenOCD command before the target is initialised, e.g. 'hla_serial ID' "
                                 "(as Zephyr's openocd runner; repeatable)")
        parser.add_argument("--config", action="append", default=[], metavar="FILE",
                            help="OpenOCD config file instead of interface/ + target/ (repeatable; as Zephyr's "
                                 "--config)")
        parser.add_argument("--serial", dest="probe_serial", metavar="ID",
                            help="probe serial number ('adapter serial ID'); wins over west flash -i")
        parser.add_argument("--cmd-load", metavar="CMD",
                            help="OpenOCD command that writes the file, e.g. 'flash write_image erase' (the file "
                                 "name, and for a .bin its address, are appended); default: 'program ... verify "
                                 "reset exit'")
        parser.add_argument("--cmd-verify", metavar="CMD",
                            help="with --cmd-load: OpenOCD command that checks the file, e.g. 'verify_image'")
        cls.add_debug_options(parser)

    def _probe_args(self) -> list[str]:
        serial = self.options.probe_serial or self.ctx.serial
        if self.options.config:
            # the config files name interface and target; files next to the first are found too
            cmd = [self.program, "-s", str(Path(self.options.config[0]).parent)]
            for config in self.options.config:
                cmd += ["-f", config]
        else:
            cmd = [self.program, "-f", f"interface/{self.options.interface}.cfg"]
        if serial:
            cmd += ["-c", f"adapter serial {tcl_word(serial)}"]
        if self.options.adapter_speed:
            cmd += ["-c", f"adapter speed {self.options.adapter_speed}"]
        if not self.options.config:
            cmd += ["-f", f"target/{self.options.openocd_target}.cfg"]
        for command in getattr(self.options, "cmd_pre_init", []):
            cmd += ["-c", command]
        return cmd

    def command(self, image: Path, kind: str = "elf") -> list[str]:
        cmd = self._probe_args() + ["-c", "reset_config srst_only connect_assert_srst"]
        # a raw binary carries no address: OpenOCD needs it after the file name
        where = tcl_word(str(image)) + (f" 0x{self.load_address():08X}" if kind == "bin" else "")
        if self.options.erase:
            flash = self.ctx.flash_region()
            cmd += ["-c", "init", "-c", "reset halt",
                    "-c", f"flash erase_address 0x{flash.start:08X} 0x{flash.size:X}"]
        if self.options.cmd_load:
            cmd += ["-c", "init", "-c", "reset halt", "-c", f"{self.options.cmd_load} {where}"]
            if self.options.cmd_verify:
                cmd += ["-c", f"{self.options.cmd_verify} {where}"]
            cmd += ["-c", "reset run", "-c", "shutdown"]
        else:
            cmd += ["-c", f"program {where} verify reset exit"]
        return cmd + self.ctx.tool_args

    def server_command(self, command: str, port: int) -> list[str]:
        cmd = self._probe_args() + [
            "-c", "reset_config srst_only srst_nogate connect_assert_srst",
            "-c", f"gdb_port {port}", "-c", "telnet_port disabled", "-c", "tcl_port disabled",
            "-c", "init", "-c", "targets",
        ]
        if command != "attach":
            cmd += ["-c", "reset halt"]
        return cmd + self.ctx.tool_args

    def flash(self) -> None:
        self.require()
        kind, elf = self.image()
        self.ctx.info(f"programming {elf} with OpenOCD (NRST asserted during attach)")
        result = self.run_tool(self.command(elf, kind))
        if "** Verify Failed **" in result.output:
            diff = result.last_line(r"(?i)diff \d+ address")
            extra = f" ({diff})" if diff else ""
            raise VerifyMismatch(f"openocd: flash verify mismatch after programming {elf}{extra}")
        self.check_verify(result, str(elf))
        if result.returncode == 0:
            return
        out = result.output
        if "** Programming Failed **" in out:
            why = result.last_line(r"^Error: ") or "see the output above"
            raise ToolFailed(f"openocd: programming {elf} failed: {why}", result.returncode)
        if re.search(r"open failed|No ST-?LINK|unable to find|no device found", out, re.I):
            raise FlashFailed(f"openocd found no {self.options.interface} probe: check its USB cable and udev rules")
        if re.search(r"init mode failed|unable to connect to the target|Error connecting DP", out, re.I):
            raise FlashFailed(
                "openocd cannot attach: check SWDIO, SWCLK, GND and NRST wiring (NRST is held low during attach)"
            )
        why = result.last_line(r"^Error: ") or result.last_line(r"\S") or "no output"
        raise ToolFailed(f"openocd failed (exit {result.returncode}): {why}", result.returncode)
