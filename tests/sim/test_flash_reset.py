"""Flash erase/program through the controller registers, and system reset through AIRCR."""
from __future__ import annotations

import struct


def test_flash_erase_and_program(firmware, machine_for):
    m = machine_for(firmware("flash"))
    addr = 0x08100000 + 5 * 0x2000
    m.write_memory(addr, b"\x00" * 0x2000)             # old content the erase must clear
    r = m.run(until_text="\r\n", max_seconds=1)
    assert r.reason == "text"
    out = m.uart.output().decode().strip()
    assert out == ("flash locked=1 unlocked=1 erased=ffffffff word=c0de0001 irqs=1 relocked=1"), out
    assert m.peripherals["FLASH"].erased == [addr]
    words = struct.unpack("<4I", m.read_memory(addr, 16))
    assert words == (0xC0DE0000, 0xC0DE0001, 0xC0DE0002, 0xC0DE0003)
    assert m.read_memory(addr + 16, 0x2000 - 16) == b"\xff" * (0x2000 - 16)
    # bank 1 untouched: the test image itself is still there
    assert m.read_memory(0x08000000, 4) != b"\xff\xff\xff\xff"


def test_system_reset_via_aircr_keeps_ram_and_sets_rsr(firmware, machine_for):
    m = machine_for(firmware("reset"))
    r = m.run(until_text="reset done", max_seconds=1)
    assert r.reason == "text"
    lines = m.uart.output().decode().splitlines()
    assert lines[0] == "boot 1 rsr=00e00000 bkp0r=00000000"     # power-on: POR, PIN, BOR
    assert lines[1] == "boot 2 rsr=01400000 bkp0r=00000001"     # software reset: SFT, PIN
    assert lines[2] == "boot 3 rsr=01400000 bkp0r=00000002"     # backup registers kept
    assert lines[3] == "reset done"
    m.reset()                                                    # power-on clears the backup domain
    assert m.peripherals["TAMP"].read(0x100, 4) == 0
