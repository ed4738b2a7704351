"""The API the OCTOSPI model uses: map_ram shares a bytearray, map_mmio callbacks, bus_error, unmap."""
from __future__ import annotations

import re
import struct

WINDOW = 0x60000000          # where faults.c pokes; unmapped unless a test maps it


def test_map_ram_shares_the_buffer(firmware, machine_for):
    m = machine_for(firmware("faults"))
    buf = bytearray(0x1000)
    m.map_ram(WINDOW, len(buf), buf)
    struct.pack_into("<I", buf, 0, 0xFEEDF00D)         # visible to the CPU at once
    assert m.read_u32(WINDOW) == 0xFEEDF00D
    m.run(until_text="survived read", max_seconds=1)
    out = m.uart.output().decode()
    assert "hardfault" not in out                       # the read hit RAM, no fault
    m.run(until_text="survived write", max_seconds=1)
    assert struct.unpack_from("<I", buf, 0)[0] == 0x1234   # the CPU's store landed in our bytearray


def test_mmio_callbacks_and_precise_bus_error(firmware, machine_for):
    m = machine_for(firmware("faults"))
    seen = []

    def read(offset, size):
        seen.append(("r", offset, size))
        m.bus_error(WINDOW + offset, False)
        return 0

    def write(offset, size, value):
        seen.append(("w", offset, size, value))

    m.map_mmio(WINDOW, 0x1000, read, write)
    r = m.run(until_text="survived write", max_seconds=1)
    assert r.reason == "text"
    out = m.uart.output().decode()
    hard = re.search(r"hardfault cfsr=([0-9a-f]{8}) hfsr=([0-9a-f]{8}) bfar=([0-9a-f]{8})", out)
    assert hard, out
    assert int(hard[1], 16) == (1 << 9) | (1 << 15)   # PRECISERR, BFARVALID
    assert int(hard[3], 16) == WINDOW
    assert ("r", 0, 4) in seen
    assert ("w", 0, 4, 0x1234) in seen                  # the store reached the model exactly once
    assert sum(1 for s in seen if s[0] == "w") == 1
    m.unmap(WINDOW, 0x1000)
    r = m.run(until_text="survived udf", max_seconds=1)
    assert r.reason == "text"


def test_schedule_and_irq_from_a_model(board, firmware, machine_for):
    m = machine_for(firmware("svc"))
    fired = []
    m.schedule(1_000_000, lambda: fired.append(m.now_ns))      # 1 ms
    m.run(max_seconds=0.002)
    assert len(fired) == 1 and 1_000_000 <= fired[0] < 1_100_000
