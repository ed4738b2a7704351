"""Faults: recoverable ones reach the firmware's handlers with CFSR/BFAR set; fatal ones give a FaultReport."""
from __future__ import annotations

import re

from h7psram.sim.elf_loader import entry_symbol


def test_fault_handlers_see_cfsr_and_bfar(firmware, machine_for):
    m = machine_for(firmware("faults"))
    r = m.run(until_text="survived udf", max_seconds=1)
    assert r.reason == "text", m.uart.output()
    out = m.uart.output().decode()
    lines = [line for line in out.splitlines() if "=" in line]
    # 1: read of unmapped memory with BusFault disabled -> HardFault FORCED, BusFault PRECISERR + BFARVALID
    hard = re.match(r"hardfault cfsr=([0-9a-f]{8}) hfsr=([0-9a-f]{8}) bfar=([0-9a-f]{8})", lines[0])
    assert hard, out
    assert int(hard[1], 16) == (1 << 9) | (1 << 15)
    assert int(hard[2], 16) == 1 << 30
    assert int(hard[3], 16) == 0x60000000
    # 2: write with BusFault enabled -> BusFault handler, at the store inside poke_unmapped
    bus = re.match(r"busfault cfsr=([0-9a-f]{8}) hfsr=([0-9a-f]{8}) bfar=([0-9a-f]{8}) pc=([0-9a-f]{8})",
                   lines[1])
    assert bus, out
    assert int(bus[1], 16) == (1 << 9) | (1 << 15) and int(bus[2], 16) == 0
    poke = entry_symbol(str(firmware("faults")), "poke_unmapped") & ~1
    assert poke <= int(bus[4], 16) < poke + 16
    # 3: UDF with UsageFault enabled -> UNDEFINSTR
    usage = re.match(r"usagefault cfsr=([0-9a-f]{8})", lines[2])
    assert usage and int(usage[1], 16) == 1 << 16, out
    assert m.fault_report is None


def test_dying_firmware_gives_fault_report(firmware, machine_for):
    elf = firmware("faults", "DIE_SPIN")
    m = machine_for(elf)
    r = m.run(max_seconds=1)
    assert r.reason == "died"
    rep = m.fault_report
    assert rep is not None and rep.kind == "hardfault-spin"
    assert m.uart.output().endswith(b"hardfault, halting\r\n")
    poke = entry_symbol(str(elf), "poke_unmapped") & ~1
    assert poke <= rep.pc < poke + 16                 # the faulting store
    assert rep.fault_address == 0x60000000
    main = entry_symbol(str(elf), "main") & ~1
    assert main <= rep.lr - 1 < main + 0x100          # returned-to address in main
    assert rep.cfsr & (1 << 9) and rep.hfsr & (1 << 30)
    assert "BusFault" in rep.cause
    text = rep.format()
    assert "firmware died" in text and "0x60000000" in text


def test_fault_inside_hardfault_handler_is_lockup(firmware, machine_for):
    m = machine_for(firmware("faults", "DIE_LOCKUP"), trace=True)
    r = m.run(max_seconds=1)
    assert r.reason == "died"
    rep = m.fault_report
    assert rep.kind == "lockup"
    assert "inside the HardFault handler" in rep.cause
    assert rep.last_pcs, "trace ring should hold the last executed blocks"
    hardfault = entry_symbol(str(firmware("faults", "DIE_LOCKUP")), "HardFault_Handler") & ~1
    assert any(hardfault <= pc < hardfault + 32 for pc in rep.last_pcs)
