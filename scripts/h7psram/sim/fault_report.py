"""What the simulator says when the firmware dies (lockup, or a fault handler that never returns)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FaultReport:
    kind: str                    # "lockup" | "hardfault-spin" | "hardfault-wfi"
    cause: str                   # the fault that started it, e.g. "BusFault PRECISERR (read)"
    pc: int                      # PC of the faulting instruction
    lr: int
    sp: int
    fault_address: int | None    # BFAR/MMFAR or the unmapped address
    cfsr: int
    hfsr: int
    handler_pc: int | None = None    # where the fault handler was spinning
    last_pcs: list[int] = field(default_factory=list)

    def format(self) -> str:
        addr = "none" if self.fault_address is None else f"0x{self.fault_address:08x}"
        lines = [f"firmware died: {self.kind}: {self.cause}",
                 f"  pc 0x{self.pc:08x}  lr 0x{self.lr:08x}  sp 0x{self.sp:08x}  fault address {addr}",
                 f"  cfsr 0x{self.cfsr:08x}  hfsr 0x{self.hfsr:08x}"]
        if self.handler_pc is not None:
            lines.append(f"  fault handler spinning at 0x{self.handler_pc:08x}")
        if self.last_pcs:
            lines.append("  last executed: " + " ".join(f"{pc:08x}" for pc in self.last_pcs))
        return "\n".join(lines)

    __str__ = format
