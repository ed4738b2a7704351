"""Exception entry and return for the unicorn Cortex-M7, done on the host.

unicorn does not model the NVIC or exception stacking (unicorn notes): these
functions push and pop the ARMv7-M frames (B1.5.6 "Exception entry
behavior", B1.5.8 "Exception return behavior"): 8 words, or 26 with the FP
state when CONTROL.FPCA is set, 8-byte aligned with the alignment recorded
in xPSR bit 9, EXC_RETURN in LR. Register write order matters to unicorn:
the stack pointer selection (CONTROL.SPSEL) is changed while the mode is
still the old one, and APSR is written last to refresh its cached
handler-mode flag.
"""
from __future__ import annotations

import struct

from unicorn import arm_const as A

from .fast_regs import Reg, RegBatch

GPRS = (A.UC_ARM_REG_R0, A.UC_ARM_REG_R1, A.UC_ARM_REG_R2, A.UC_ARM_REG_R3,
        A.UC_ARM_REG_R12, A.UC_ARM_REG_LR)
SREGS = tuple(getattr(A, f"UC_ARM_REG_S{i}") for i in range(16))
_STATE = GPRS + (A.UC_ARM_REG_XPSR, A.UC_ARM_REG_CONTROL, A.UC_ARM_REG_IPSR,
                 A.UC_ARM_REG_MSP, A.UC_ARM_REG_PSP)
_FP_STATE = SREGS + (A.UC_ARM_REG_FPSCR,)

BASIC_FRAME = 0x20
EXTENDED_FRAME = 0x68


class StackingError(Exception):
    """The frame could not be written or read: the core would lock up."""


class CoreRegs:
    """Preallocated register batches of one engine (see fast_regs.py)."""

    def __init__(self, uc) -> None:
        self.state = RegBatch(uc, _STATE)
        self.fp = RegBatch(uc, _FP_STATE)
        self.gprs = RegBatch(uc, GPRS)
        self.stack = RegBatch(uc, (A.UC_ARM_REG_CONTROL, A.UC_ARM_REG_MSP, A.UC_ARM_REG_PSP))
        self.masks = RegBatch(uc, (A.UC_ARM_REG_PRIMASK, A.UC_ARM_REG_BASEPRI, A.UC_ARM_REG_FAULTMASK))
        self.pc = Reg(uc, A.UC_ARM_REG_PC)
        self.lr_sp = RegBatch(uc, (A.UC_ARM_REG_LR, A.UC_ARM_REG_SP))
        self.one = {rid: Reg(uc, rid) for rid in (
            A.UC_ARM_REG_PSP, A.UC_ARM_REG_MSP, A.UC_ARM_REG_CONTROL, A.UC_ARM_REG_IPSR,
            A.UC_ARM_REG_EPSR, A.UC_ARM_REG_LR, A.UC_ARM_REG_APSR_NZCV, A.UC_ARM_REG_APSR_NZCVQG,
            A.UC_ARM_REG_PC)}

    def set(self, rid: int, value: int) -> None:
        self.one[rid].write(value)


def push_frame(uc, regs: CoreRegs, exc: int, return_address: int, vtor: int) -> int:
    """Stack the context, switch to handler mode for `exc`; returns the handler address."""
    values = regs.state.read()
    r0, r1, r2, r3, r12, lr, xpsr, control, ipsr, msp, psp = values
    on_psp = ipsr == 0 and bool(control & 2)
    sp = psp if on_psp else msp
    fpca = bool(control & 4)
    size = EXTENDED_FRAME if fpca else BASIC_FRAME
    align = (sp >> 2) & 1
    frame = (sp - size) & ~7 & 0xFFFFFFFF
    saved_xpsr = (xpsr & ~(1 << 9)) | (align << 9)
    words = [r0, r1, r2, r3, r12, lr, return_address & ~1 & 0xFFFFFFFF, saved_xpsr]
    if fpca:
        words += list(regs.fp.read()) + [0]
    try:
        uc.mem_write(frame, struct.pack(f"<{len(words)}I", *[w & 0xFFFFFFFF for w in words]))
        vector = struct.unpack("<I", uc.mem_read(vtor + 4 * exc, 4))[0]
    except Exception as err:  # unicorn raises UcError for unmapped memory
        raise StackingError(f"stacking at 0x{frame:08x}: {err}") from None
    if ipsr:
        exc_return = 0xFFFFFFF1
    else:
        exc_return = 0xFFFFFFFD if on_psp else 0xFFFFFFF9
    if fpca:
        exc_return &= ~0x10
    if on_psp:
        regs.set(A.UC_ARM_REG_PSP, frame)
        regs.set(A.UC_ARM_REG_CONTROL, control & ~6)
    else:
        regs.set(A.UC_ARM_REG_MSP, frame)
        regs.set(A.UC_ARM_REG_CONTROL, control & ~4)
    regs.set(A.UC_ARM_REG_IPSR, exc)
    regs.set(A.UC_ARM_REG_EPSR, 1 << 24)
    regs.set(A.UC_ARM_REG_LR, exc_return)
    regs.set(A.UC_ARM_REG_APSR_NZCV, xpsr & 0xF0000000)
    regs.set(A.UC_ARM_REG_PC, vector | 1)
    return vector


def pop_frame(uc, regs: CoreRegs, exc_return: int) -> tuple[int, int]:
    """Unstack the frame selected by EXC_RETURN; returns (return address, restored IPSR)."""
    to_thread = bool(exc_return & 8)
    from_psp = bool(exc_return & 4) and to_thread
    fp = not exc_return & 0x10
    control, msp, psp = regs.stack.read()
    sp = psp if from_psp else msp
    size = EXTENDED_FRAME if fp else BASIC_FRAME
    try:
        words = struct.unpack(f"<{size // 4}I", uc.mem_read(sp, size))
    except Exception as err:
        raise StackingError(f"unstacking at 0x{sp:08x}: {err}") from None
    xpsr = words[7]
    new_sp = (sp + size + (4 if xpsr & (1 << 9) else 0)) & 0xFFFFFFFF
    ret_ipsr = 0 if to_thread else (xpsr & 0x1FF)
    if not from_psp:
        regs.set(A.UC_ARM_REG_MSP, new_sp)
    regs.set(A.UC_ARM_REG_IPSR, ret_ipsr)
    regs.set(A.UC_ARM_REG_CONTROL, (control & ~6) | (4 if fp else 0) | (2 if from_psp else 0))
    if from_psp:
        regs.set(A.UC_ARM_REG_PSP, new_sp)
    if fp:
        regs.fp.write(words[8:25])
    regs.gprs.write(words[:6])
    regs.set(A.UC_ARM_REG_EPSR, xpsr & 0x0600FC00 | (1 << 24))
    regs.set(A.UC_ARM_REG_APSR_NZCVQG, xpsr & 0xF80F0000)
    regs.set(A.UC_ARM_REG_APSR_NZCV, xpsr & 0xF0000000)
    regs.set(A.UC_ARM_REG_PC, words[6] | 1)
    return words[6], ret_ipsr
