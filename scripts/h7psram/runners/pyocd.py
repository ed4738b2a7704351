"""Flash over SWD with pyOCD, connecting under reset.

pyOCD has no built-in target for the STM32H7A3 (its built-ins stop at H723,
H743 and the 128 KiB H7B0), so the part comes from ST's STM32H7 CMSIS device
pack (Keil.STM32H7xx_DFP), where the LQFP100 chip on both boards is
``STM32H7A3VITx``; pyOCD spells target names in lower case::

    pyocd pack install stm32h7a3vitx      # once
    pyocd flash -t stm32h7a3vitx -O connect_mode=under-reset firmware.elf
    pyocd gdbserver -t stm32h7a3vitx --connect under-reset -p 3333   # west debug/debugserver/attach
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from h7psram.errors import InputError
from h7psram.runners.core import FlashFailed, ToolFailed, register
from h7psram.runners.gdb import GdbServerRunner

# Board MCU name (``Board.mcu``) -> pyOCD target of the part fitted on these boards
# (STM32H7A3VIT6: LQFP100, no SMPS, hence no "Q" suffix).
PYOCD_TARGETS = {"STM32H7A3": "stm32h7a3vitx"}


def pyocd_target_for(mcu: str) -> str:
    try:
        return PYOCD_TARGETS[mcu]
    except KeyError:
        raise InputError(f"no pyOCD target known for MCU {mcu}") from None


@register
class PyOcdRunner(GdbServerRunner):
    name = "pyocd"
    program = "pyocd"
    install_hint = "pip install pyocd"
    summary = "SWD with pyOCD (needs the STM32H7 CMSIS pack), connect under reset"
    file_types = ("elf", "hex", "bin")
    erase = True
    dev_id = "probe unique ID: pyocd -u ID"

    @classmethod
    def add_options(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--target", default="stm32h7a3vitx", help="pyOCD target name (default stm32h7a3vitx)")
        parser.add_argument("--frequency", metavar="HZ", help="SWD clock, e.g. 4000000 or 4M")
        parser.add_argument("--board-id", metavar="ID",
                            help="probe unique ID (pyocd -u), as Zephyr's pyocd runner and the twister harness spell it")
        parser.add_argument("--pack", help="CMSIS pack file to load the target from (instead of the installed packs)")
        cls.add_debug_options(parser)

    def command(self, image: Path, kind: str = "elf") -> list[str]:
        cmd = [self.program, "flash", "-t", self.options.target, "-O", "connect_mode=under-reset"]
        cmd = self._with_probe_args(cmd)
        if self.options.erase:
            cmd += ["-e", "chip"]
        if kind == "bin":
            cmd += ["--base-address", f"0x{self.load_address():08X}"]
        return cmd + self.ctx.tool_args + [str(image)]

    def server_command(self, command: str, port: int) -> list[str]:
        cmd = [self.program, "gdbserver", "-t", self.options.target, "--connect", "under-reset",
               "-p", str(port)]
        return self._with_probe_args(cmd) + self.ctx.tool_args

    def _with_probe_args(self, cmd: list[str]) -> list[str]:
        probe = self.options.board_id or self.ctx.serial
        if probe:
            cmd += ["-u", probe]
        if self.options.frequency:
            cmd += ["-f", str(self.options.frequency)]
        if self.options.pack:
            cmd += ["--pack", self.options.pack]
        return cmd

    def flash(self) -> None:
        self.require()
        kind, elf = self.image()
        self.ctx.info(f"programming {elf} with pyOCD (target {self.options.target}, connect under reset)")
        result = self.run_tool(self.command(elf, kind))
        self.check_verify(result, str(elf))
        if result.returncode == 0:
            return
        out = result.output
        target = self.options.target
        if re.search(r"not recognized|unknown target|no such target", out, re.I) and target in out.lower():
            raise FlashFailed(
                f"pyocd does not know target '{target}': install ST's STM32H7 pack with 'pyocd pack install {target}'"
            )
        if re.search(r"no (connected|available|matching) (debug )?probe", out, re.I):
            raise FlashFailed("pyocd found no debug probe: check its USB cable, or choose one with --serial")
        why = result.last_line(r"(?i)error") or result.last_line(r"\S") or "no output"
        raise ToolFailed(f"pyocd failed (exit {result.returncode}): {why}", result.returncode)
