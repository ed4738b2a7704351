"""Helpers shared by test_octospi*, test_psram* and test_hazards* (no tests in here).

`RegisterDriver` talks to the OCTOSPI1 model only through its registers, the
way a HAL-free driver does: program CCR/TCR/IR/DLR/AR, push or pull DR, poll
SR. The machine is the real simulator `Machine` with the devicetree boards.
"""
from __future__ import annotations

import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from h7psram.boards import load_board
from h7psram.sim.psram_faults import PsramFaults
from h7psram.sim.machine import Machine
from h7psram.sim.octospi import (AR, CCR, CR, DCR1, DCR2, DCR3, DCR4, DLR, DR, FCR, IR, LPTR, SR,
                                 TCR, WCCR, WIR, WTCR, Octospi)

GPIO_MODER, GPIO_AFRL, GPIO_AFRH = 0x00, 0x20, 0x24

# CCR line codes (docs/hardware.md#octospi-registers)
L1, L4 = 1, 3
ADSIZE_24 = 2 << 12
DQSE = 1 << 29
TCF, BUSY = 1 << 1, 1 << 5
FM_WRITE, FM_READ, FM_MAPPED = 0, 1, 3


def ccr(ilines: int, alines: int = 0, dlines: int = 0, *, dqse: bool = False) -> int:
    value = ilines | (alines << 8) | (dlines << 24)
    if alines:
        value |= ADSIZE_24
    return value | (DQSE if dqse else 0)


def make_machine(board: str = "devebox_h7a3", faults: PsramFaults | None = None,
                 *, pins: bool = True) -> Machine:
    m = Machine(load_board(board), psram_faults=faults)
    if pins:
        route_pins(m)
    else:
        m.rcc.write(RCC_AHB3ENR, 4, m.rcc.read(RCC_AHB3ENR, 4) | OSPI1EN)
    return m


RCC_AHB3ENR, OSPI1EN = 0xD4, 1 << 14


def route_pins(m: Machine) -> None:
    """Clock OCTOSPI1 and put the six PSRAM pins into their alternate functions, as a driver does."""
    m.rcc.write(RCC_AHB3ENR, 4, m.rcc.read(RCC_AHB3ENR, 4) | OSPI1EN)
    for signal, (port, pin, af) in m.board.pins.items():
        if not signal.startswith("OSPI"):
            continue
        gp = m.gpio[port]
        moder = gp.read(GPIO_MODER, 4)
        gp.write(GPIO_MODER, 4, (moder & ~(3 << 2 * pin)) | (2 << 2 * pin))
        reg = GPIO_AFRL if pin < 8 else GPIO_AFRH
        afr = gp.read(reg, 4)
        shift = 4 * (pin % 8)
        gp.write(reg, 4, (afr & ~(0xF << shift)) | (af << shift))


@dataclass
class RegisterDriver:
    ospi: Octospi
    qpi: bool = False

    def w(self, off: int, value: int) -> None:
        self.ospi.write(off, 4, value)

    def r(self, off: int) -> int:
        return self.ospi.read(off, 4)

    def wait_not_busy(self) -> None:
        for _ in range(1000):
            if not self.r(SR) & BUSY:
                return
        raise AssertionError(f"SR stays BUSY: 0x{self.r(SR):08x}")

    def init(self, *, prescaler: int = 1, csbound: int = 10, refresh: int = 500, csht: int = 3,
             devsize: int = 22) -> None:
        """HAL_OSPI_Init order (docs/hardware.md#octospi-registers): DCR1..4, CR.FTHRES, PRESCALER, then EN."""
        self.w(DCR1, (devsize << 16) | (csht << 8) | (1 << 3) | (2 << 24))
        self.w(DCR3, csbound << 16)
        self.w(DCR4, refresh)
        self.w(CR, 3 << 8)
        self.wait_not_busy()
        self.w(DCR2, prescaler)
        self.w(CR, self.r(CR) | 1)

    def _mode(self, fmode: int) -> None:
        self.w(CR, (self.r(CR) & ~(3 << 28)) | (fmode << 28))

    def command(self, instr: int, *, lines: int | None = None) -> None:
        """Instruction only: IR write starts it (docs/hardware.md#octospi-registers)."""
        il = lines if lines is not None else (L4 if self.qpi else L1)
        self.wait_not_busy()
        self._mode(FM_WRITE)
        self.w(CCR, ccr(il))
        self.w(TCR, 0)
        self.w(IR, instr)
        assert self.r(SR) & TCF, "command without data must end with TCF"
        self.w(FCR, TCF)

    def read(self, instr: int, address: int, length: int, *, ilines: int, alines: int, dlines: int,
             dummy: int) -> bytes:
        self.wait_not_busy()
        self._mode(FM_READ)
        self.w(CCR, ccr(ilines, alines, dlines))
        self.w(TCR, dummy)
        self.w(DLR, length - 1)
        self.w(IR, instr)
        self.w(AR, address)          # AR last: starts the read
        out = bytearray()
        while len(out) < length:
            sr = self.r(SR)
            level = (sr >> 8) & 0x3F
            if not level:
                raise AssertionError(f"read stalled with SR 0x{sr:08x} after {len(out)} bytes")
            if level >= 4 and length - len(out) >= 4:
                out += self.r(DR).to_bytes(4, "little")
            else:
                out.append(self.ospi.read(DR, 1))
        assert self.r(SR) & TCF
        self.w(FCR, TCF)
        self.wait_not_busy()
        return bytes(out)

    def write(self, instr: int, address: int, data: bytes, *, ilines: int, alines: int, dlines: int,
              dummy: int = 0) -> None:
        self.wait_not_busy()
        self._mode(FM_WRITE)
        self.w(CCR, ccr(ilines, alines, dlines))
        self.w(TCR, dummy)
        self.w(DLR, len(data) - 1)
        self.w(IR, instr)
        self.w(AR, address)
        pos = 0
        while pos < len(data):
            if len(data) - pos >= 4:
                self.ospi.write(DR, 4, int.from_bytes(data[pos:pos + 4], "little"))
                pos += 4
            else:
                self.ospi.write(DR, 1, data[pos])
                pos += 1
        assert self.r(SR) & TCF
        self.w(FCR, TCF)

    # -- the PSRAM sequences (docs/hardware.md#psram) ------------------------------------
    def reset_chip(self) -> None:
        for lines in (L4, L1):        # unknown mode: QPI reset first, then SPI (docs/hardware.md#psram)
            self.command(0x66, lines=lines)
            self.command(0x99, lines=lines)
        self.qpi = False

    def read_id(self) -> bytes:
        return self.read(0x9F, 0, 8, ilines=L1, alines=L1, dlines=L1, dummy=0)

    def enter_qpi(self) -> None:
        self.command(0x35, lines=L1)
        self.qpi = True

    def qpi_write(self, address: int, data: bytes) -> None:
        self.write(0x38, address, data, ilines=L4, alines=L4, dlines=L4)

    def qpi_read(self, address: int, length: int, dummy: int = 6) -> bytes:
        return self.read(0xEB, address, length, ilines=L4, alines=L4, dlines=L4, dummy=dummy)

    def memory_mapped(self, *, read_dummy: int = 6, read_instr: int = 0xEB, dqse: bool = True,
                      tcen: bool = True, lptr: int = 1) -> None:
        """QPI 4-4-4 map (docs/hardware.md#psram, #dqse): read 0xEB/6 dummies, write 0x38 with DQSE."""
        self.wait_not_busy()
        self.w(CCR, ccr(L4, L4, L4))
        self.w(TCR, read_dummy)
        self.w(IR, read_instr)
        self.w(WCCR, ccr(L4, L4, L4, dqse=dqse))
        self.w(WTCR, 0)
        self.w(WIR, 0x38)
        self.w(LPTR, lptr)
        cr = (self.r(CR) & ~(3 << 28)) | (FM_MAPPED << 28)
        self.w(CR, cr | (1 << 3) if tcen else cr & ~(1 << 3))

    def memory_mapped_keep_formats(self) -> None:
        """FMODE=11 with whatever CCR/WCCR hold now (TCEN, LPTR 1)."""
        self.wait_not_busy()
        self.w(LPTR, 1)
        self.w(CR, (self.r(CR) & ~(3 << 28)) | (FM_MAPPED << 28) | (1 << 3))

    def leave_memory_mapped(self) -> None:
        self.w(CR, self.r(CR) | 2)          # ABORT
        for _ in range(100):
            if not self.r(CR) & 2:
                break
        self._mode(FM_WRITE)


def bring_up(m: Machine, *, qpi: bool = True, **init: int) -> RegisterDriver:
    drv = RegisterDriver(m.peripherals["OCTOSPI1"])  # type: ignore[arg-type]
    drv.init(**init)
    drv.reset_chip()
    if qpi:
        drv.enter_qpi()
    return drv


# -- a little CPU program, for what only a CPU can do (bus faults, real loads/stores) ---------
PARAMS = 0x20000000           # DTCM: src, dst, words, src2, dst2, words2, done
#: vector table (stack in DTCM, faults spin) and the start of `reset`; a program's body follows
#: and must define `spin`
PROGRAM_HEAD = textwrap.dedent("""
    .syntax unified
    .cpu cortex-m7
    .thumb
    .text
    .global reset
    .word 0x20010000
    .word reset
    .word spin            @ NMI
    .word spin            @ HardFault
    .word spin, spin, spin
    .thumb_func
    reset:
""")
COPY_PROGRAM = PROGRAM_HEAD + textwrap.dedent("""
        ldr r4, =0x20000000
        ldr r0, [r4, #0]
        ldr r1, [r4, #4]
        ldr r2, [r4, #8]
        bl copy
        ldr r0, [r4, #12]
        ldr r1, [r4, #16]
        ldr r2, [r4, #20]
        bl copy
        movs r0, #1
        str r0, [r4, #24]
    idle:
        wfi
        b idle
    .thumb_func
    copy:
        cbz r2, 2f
    1:  ldr r3, [r0], #4
        str r3, [r1], #4
        subs r2, r2, #1
        bne 1b
    2:  bx lr
    .thumb_func
    spin:
        b spin
    .ltorg
""")


def build_copy_program(directory: Path) -> Path:
    return build_program(directory, "copy", COPY_PROGRAM)


def build_program(directory: Path, name: str, source: str) -> Path:
    """Assemble and link `source` at the start of flash; skips the test without the toolchain."""
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not installed: the CPU-driven OCTOSPI tests need it")
    src = directory / f"{name}.S"
    elf = directory / f"{name}.elf"
    src.write_text(source)
    subprocess.run([gcc, "-mcpu=cortex-m7", "-mthumb", "-nostdlib", "-nostartfiles",
                    "-Wl,-Ttext=0x08000000", "-Wl,-e,reset", "-o", str(elf), str(src)], check=True)
    return elf


def set_copies(m: Machine, *copies: tuple[int, int, int]) -> None:
    words: list[int] = []
    for src, dst, count in copies:
        words += [src, dst, count]
    while len(words) < 6:
        words += [0, 0, 0]
    words.append(0)
    m.write_memory(PARAMS, b"".join(w.to_bytes(4, "little") for w in words))


def copies_done(m: Machine) -> bool:
    return m.read_u32(PARAMS + 24) == 1


# -- stores of one width into the window, then a read-back (firmware/psram_stores.c) ----------
FIRMWARE_DIR = Path(__file__).parent / "firmware"
STORES_CFLAGS = ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard", "-O1",
                 "-ffreestanding", "-nostdlib", "-nostartfiles", "-Wall", "-Werror"]
STORES_PARAMS = 0x2001E000      # `params` in the image's NOINIT section
STORES_FIELDS = ("base", "count", "width", "misalign", "mode", "dcache", "seed",
                 "done", "errors", "fail_addr", "written_lo", "written_hi", "read_lo", "read_hi")


def build_stores_program(directory: Path) -> Path:
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        pytest.skip("arm-none-eabi-gcc not installed: the CPU-driven OCTOSPI tests need it")
    elf = directory / "psram_stores.elf"
    subprocess.run([gcc, *STORES_CFLAGS, "-I", str(FIRMWARE_DIR), "-T", str(FIRMWARE_DIR / "link.ld"),
                    "-o", str(elf), str(FIRMWARE_DIR / "startup.c"), str(FIRMWARE_DIR / "psram_stores.c"),
                    "-lgcc"], check=True)
    return elf


@dataclass
class StoresResult:
    reason: str
    done: bool
    errors: int
    fail_addr: int
    written: int
    read: int
    fault: object

    @property
    def line(self) -> str:
        if self.fault is not None:
            return f"fault: {self.fault.cause}"
        if not self.done:
            return f"did not finish ({self.reason})"
        if not self.errors:
            return "pass"
        return (f"{self.errors} errors, first at 0x{self.fail_addr:08x} written 0x{self.written:x} "
                f"read 0x{self.read:x}")


def run_stores(m: Machine, *, base: int, count: int, width: int, misalign: int = 0, mode: int = 0,
               dcache: bool = True, seed: int = 0x1234, max_seconds: float = 2.0) -> StoresResult:
    values = dict(base=base, count=count, width=width, misalign=misalign, mode=mode,
                  dcache=int(dcache), seed=seed)
    m.write_memory(STORES_PARAMS, b"".join(values.get(f, 0).to_bytes(4, "little") for f in STORES_FIELDS))
    r = m.run(max_seconds=max_seconds)
    raw = m.read_memory(STORES_PARAMS, 4 * len(STORES_FIELDS))
    got = {f: int.from_bytes(raw[4 * i:4 * i + 4], "little") for i, f in enumerate(STORES_FIELDS)}
    return StoresResult(r.reason, got["done"] == 1, got["errors"], got["fail_addr"],
                        got["written_lo"] | got["written_hi"] << 32, got["read_lo"] | got["read_hi"] << 32,
                        m.fault_report)


# -- MPU attribute of the window ----------------------------------------------------------------------
MPU_CTRL, MPU_RNR, MPU_RBAR, MPU_RASR = 0x4, 0x8, 0xC, 0x10


def attr_bits(attr: str) -> tuple[int, int, int]:
    """(TEX, C, B) of the attribute names used in docs/simulator-octospi.md's matrix."""
    return {"wbwa": (1, 1, 1), "wb": (0, 1, 1), "wt": (0, 1, 0), "nc": (1, 0, 0), "device": (0, 0, 1),
            "so": (0, 0, 0)}[attr]


def set_mpu(m, attr: str | None) -> None:
    """An 8 MiB region with `attr` on the window (None: MPU off, default map)."""
    if attr is None:
        m.mpu.write(MPU_CTRL, 0)
        return
    tex, c, b = attr_bits(attr)
    base = m.board.mmio_block("OCTOSPI1_MM").base
    m.mpu.write(MPU_RNR, 0)
    m.mpu.write(MPU_RBAR, base)
    m.mpu.write(MPU_RASR, (3 << 24) | (tex << 19) | (c << 17) | (b << 16) | (22 << 1) | 1)
    m.mpu.write(MPU_CTRL, 0x5)
