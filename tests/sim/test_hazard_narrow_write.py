"""Hazard (a) `narrow-write-zero`: with WCCR.DQSE=1 an AXI write narrower than 64 bits writes the
other bytes of its double word as 0 (user reports on related parts, docs/hardware.md#dqse).

A CPU program stores every width and alignment into the window over a known background; the
chip's array then shows which bytes each store changed, with the fault switched on and off.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from test_octospi_support import PROGRAM_HEAD, bring_up, build_program, make_machine, route_pins

from h7psram.boards import load_board
from h7psram.errors import InputError
from h7psram.sim.psram_faults import PsramFaults
from h7psram.sim.octospi import Octospi
from h7psram.sim.store_insn import store_bytes

WINDOW_BASE = load_board("devebox_h7a3").mmio_block("OCTOSPI1_MM").base
AREA = 0x100          # window offset the program writes
BACKGROUND = 0xEE
R2, R3 = 0x11223344, 0x55667788

STORES = PROGRAM_HEAD + textwrap.dedent(f"""
        ldr r0, ={WINDOW_BASE + AREA:#x}
        ldr r2, ={R2:#x}
        ldr r3, ={R3:#x}
        strb r2, [r0, #1]           @ 0x00: one byte
        ldrb r5, [r0, #1]           @ (each store is read back: it leaves the store buffer alone)
        strh r2, [r0, #10]          @ 0x08: a half word
        ldrh r5, [r0, #10]
        str r2, [r0, #20]           @ 0x10: a word, upper half of the double word
        ldr r5, [r0, #20]
        strd r2, r3, [r0, #24]      @ 0x18: a whole double word
        ldrd r5, r6, [r0, #24]
        strd r2, r3, [r0, #52]      @ 0x30/0x38: STRD half in each of two double words
        ldrd r5, r6, [r0, #52]
        add r1, r0, #0x48
        stm r1, {{r2, r3}}          @ 0x48: STM of two registers, aligned
        ldm r1, {{r5, r6}}
        add r1, r0, #0x50
        movs r4, #4
    1:  strb r2, [r1], #1           @ 0x50: four byte stores from one instruction in a loop
        ldrb r5, [r1, #-1]
        subs r4, r4, #1
        bne 1b
    idle:
        wfi
        b idle
    .thumb_func
    spin:
        b spin
    .ltorg
""")

B = BACKGROUND
W2, W3 = R2.to_bytes(4, "little"), R3.to_bytes(4, "little")
#: window bytes AREA .. AREA+0x58 after the program, per fault setting
HEALTHY = (bytes([B, 0x44]) + bytes([B] * 6)
           + bytes([B, B, 0x44, 0x33, B, B, B, B])
           + bytes([B] * 4) + W2
           + W2 + W3
           + bytes([B] * 16)
           + bytes([B] * 4) + W2 + W3 + bytes([B] * 4)
           + bytes([B] * 8)
           + W2 + W3
           + bytes([0x44] * 4) + bytes([B] * 4))
ZEROED = (bytes([0, 0x44]) + bytes(6)
          + bytes([0, 0, 0x44, 0x33, 0, 0, 0, 0])
          + bytes(4) + W2
          + W2 + W3
          + bytes([B] * 16)                   # 0x20: not written, untouched
          + bytes(4) + W2 + W3 + bytes(4)
          + bytes([B] * 8)                    # 0x40: not written, untouched
          + W2 + W3
          + bytes([0, 0, 0, 0x44]) + bytes(4))  # each STRB zeroed the bytes before it


@pytest.fixture(scope="module")
def stores_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_program(tmp_path_factory.mktemp("narrowfw"), "stores", STORES)


def run_stores(elf: Path, faults: PsramFaults | None) -> tuple[bytes, Octospi]:
    m = make_machine(faults=faults)
    m.load_elf(str(elf))          # resets the machine, so the pin and OCTOSPI set-up come after
    route_pins(m)
    drv = bring_up(m)
    drv.memory_mapped()
    chip = drv.ospi.psram
    chip.array[AREA:AREA + len(HEALTHY)] = bytes([BACKGROUND] * len(HEALTHY))
    m.run(max_seconds=0.05)
    return bytes(chip.array[AREA:AREA + len(HEALTHY)]), drv.ospi


def test_fault_fires_on_every_write_narrower_than_64_bits(stores_elf: Path) -> None:
    got, ospi = run_stores(stores_elf, PsramFaults(narrow_write_zero=True))
    assert any(r.startswith("narrow-write-zero") for r in ospi.mapping_reasons), ospi.mapping_reasons
    assert ospi.mapped[0] == "burst"
    assert got.hex(" ", 8) == ZEROED.hex(" ", 8)


def test_without_the_fault_each_store_writes_only_its_bytes(stores_elf: Path) -> None:
    got, ospi = run_stores(stores_elf, None)
    assert ospi.mapped[0] == "ram"
    assert got.hex(" ", 8) == HEALTHY.hex(" ", 8)


def test_fault_needs_dqs_enabled(stores_elf: Path) -> None:
    # with DQSE=0 there is no DQS byte mask: the write is a bus error instead (ES0478 2.7.8)
    m = make_machine(faults=PsramFaults(narrow_write_zero=True))
    m.load_elf(str(stores_elf))
    route_pins(m)
    drv = bring_up(m)
    drv.memory_mapped(dqse=False)
    assert not any(r.startswith("narrow-write-zero") for r in drv.ospi.mapping_reasons)
    m.run(max_seconds=0.05)
    assert m.fault_report is not None and "IMPRECISERR" in m.fault_report.cause


def test_cli_and_description() -> None:
    faults = PsramFaults.from_cli(["narrow-write-zero"])
    assert faults.narrow_write_zero and faults.any and not faults.affects_array
    assert faults.describe() == "narrow-write-zero"
    assert not PsramFaults().narrow_write_zero
    with pytest.raises(InputError, match="narrow-write-zero=1"):
        PsramFaults.from_cli(["narrow-write-zero=1"])


@pytest.mark.parametrize("code, size", [
    ("e9c02300", 8), ("c00c", 8), ("b510", 8), ("ed800b02", 8), ("eca00b04", 16),   # strd stm push vstr vstm
    ("6002", 4), ("7042", 1), ("f8a02002", 2), ("ed800a00", 4), ("c004", 4),       # str strb strh.w vstr.32 stm{r2}
    ("e9d02300", None), ("e890000c", None), ("6842", None), ("4408", None),          # ldrd ldm ldr add
])
def test_store_sizes_of_thumb_instructions(code: str, size: int | None) -> None:
    raw = bytes.fromhex(code)
    halves = [raw[i:i + 2][::-1] for i in range(0, len(raw), 2)]    # objdump prints half words
    assert store_bytes(b"".join(halves)) == size
