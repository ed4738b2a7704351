"""Real MicroPython: the objects of an H7A3 build from the workspace's
MicroPython checkout, relinked with the generated script, boot to the REPL in
the board simulator with the stack in DTCM and the heap where the script put it.

Needs a finished stm32 build of an H7A3 board (its firmware.map lists the
objects); skipped otherwise.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

import pytest

from dts_linking import ARM_FLAGS
from h7psram.boards import load_board
from h7psram.dts.linker import linker_script

REPO = Path(__file__).resolve().parents[2]


def h7a3_build() -> tuple[Path, list[str]] | None:
    """(port dir, link inputs as the map lists them) of a finished H7A3 build."""
    for top in (REPO, REPO.parent):
        port = top / "modules" / "micropython" / "ports" / "stm32"
        for map_file in sorted(port.glob("build-*/firmware.map")):
            text = map_file.read_text(errors="replace")
            inputs = re.findall(r"^LOAD (\S+\.[oa])$", text, flags=re.M)
            if "startup_stm32h7a3" in text and inputs and all((port / i).exists() for i in inputs):
                return port, inputs
    return None


@pytest.mark.micropython
@pytest.mark.slow
def test_micropython_boots_with_the_split_heap_script(arm_gcc, tmp_path):
    build = h7a3_build()
    if build is None:
        pytest.skip("no finished H7A3 MicroPython build under modules/micropython/ports/stm32 to relink")
    port, inputs = build
    board = load_board("devebox_h7a3")
    script = tmp_path / "split.ld"
    script.write_text(linker_script(board, "micropython", "split"))
    elf = tmp_path / "firmware.elf"
    result = subprocess.run(
        [arm_gcc, *ARM_FLAGS, "-nostdlib", "-Wl,--gc-sections", "-Wl,--defsym=_estack_reserve=8",
         "-T", str(script), "-o", str(elf), *inputs], cwd=port, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

    from h7psram.sim.machine import Machine
    # The relinked build keeps its own REPL UART (USART3 on the NUCLEO board).
    uart = re.search(r"MICROPY_HW_UART_REPL\s+PYB_UART_(\d)", _board_header(port, inputs))
    sim_board = dataclasses.replace(board, repl_uart=f"USART{uart.group(1)}" if uart else board.repl_uart)
    machine = Machine(sim_board, uart="none")
    machine.load_elf(elf)
    machine.reset()
    run = machine.run(max_seconds=60, until_text=">>> ")
    assert run.reason == "text", (run, machine.fault_report)
    machine.uart.write(b"import machine; machine.info()\r")
    machine.run(max_seconds=60, until_text="_ram_end=")
    info = machine.uart.read_available().decode(errors="replace")
    values = {k: int(v, 16) for k, v in re.findall(r"^(_\w+)=([0-9a-f]+)\r?$", info, flags=re.M)}
    dtcm, ram = board.region("dtcm"), board.region("axi_sram")
    assert dtcm.start <= values["_sstack"] < values["_estack"] < dtcm.end
    assert ram.start < values["_heap_start"] < values["_heap_end"] == ram.end


def _board_header(port: Path, inputs: list[str]) -> str:
    board_dir = next((Path(i).parent for i in inputs if "/boards/" in i), None)
    if board_dir is None:
        return ""
    name = board_dir.name
    header = port / "boards" / name / "mpconfigboard.h"
    return header.read_text() if header.exists() else ""
