"""RCC of the STM32H7A3.

Offsets from CMSIS stm32h7a3xx.h RCC_TypeDef. The reset/enable registers
exist twice: at 0xD0..0x10C and at 0x130..0x16C (the CPU alias, which is
what the CMSIS struct and so the compiled firmware use, mpy-boot-trace 3);
both offsets reach the same storage here. Oscillator and PLL "ready" flags
follow their "on" bits at once, and CFGR.SWS follows SW (boot-trace table
2, rows 3-6): the clocks are ideal. CR's reset value is the traced one; the
other reset values (HSICFGR, CSICFGR, PLLCKSELR, PLLCFGR, PLLxDIVR) are the
STM32H7 family values as published in ST's reference manuals (RM0455 was not
available here) and nothing in the boot trace depends on them.
"""
from __future__ import annotations

from .peripheral import RegisterBlock

CR, CFGR, CDCFGR1, PLLCKSELR, PLLCFGR = 0x00, 0x10, 0x18, 0x28, 0x2C
PLL1DIVR, PLL2DIVR, PLL3DIVR = 0x30, 0x38, 0x40
CDCCIPR, BDCR, CSR = 0x4C, 0x70, 0x74
AHB3RSTR, AHB1RSTR, AHB2RSTR, AHB4RSTR = 0x7C, 0x80, 0x84, 0x88
APB3RSTR, APB1LRSTR, APB1HRSTR, APB2RSTR, APB4RSTR = 0x8C, 0x90, 0x94, 0x98, 0x9C
RSR, AHB3ENR, AHB1ENR, AHB2ENR, AHB4ENR = 0xD0, 0xD4, 0xD8, 0xDC, 0xE0
APB3ENR, APB1LENR, APB1HENR, APB2ENR, APB4ENR = 0xE4, 0xE8, 0xEC, 0xF0, 0xF4
ALIAS_BASE, ALIAS_END, ALIAS_DELTA = 0x130, 0x170, 0x60

#: registers whose writes change a clock or the AHB3 enables
CLOCK_CONFIG = (CR, CFGR, CDCFGR1, PLLCKSELR, 0x30, 0x38, 0x40, 0x4C, 0xD4)
#: CDCFGR1 HPRE / CDCPRE divider codes (CMSIS RCC_CDCFGR1_HPRE_DIVn): 0xxx /1, then 8.. /2 /4 /8 /16 /64 /128 /256 /512
AHB_DIVIDERS = (2, 4, 8, 16, 64, 128, 256, 512)

# CR: (on bit, ready bit)
CR_READY = ((0, 2), (7, 8), (12, 13), (16, 17), (24, 25), (26, 27), (28, 29))
CR_DOMAIN_READY = (1 << 14) | (1 << 15)      # CPUCKRDY, CDCKRDY: domain clocks always running

# RSR flags (RM0455 naming): BOR, PIN, POR, SFT
RSR_POWER_ON = (1 << 21) | (1 << 22) | (1 << 23)
RSR_SOFTWARE = (1 << 22) | (1 << 24)
RSR_RMVF = 1 << 16

#: peripheral (node label in capitals) -> (enable register, bit, reset register, bit); OCTOSPI bits per docs/hardware.md#memory-map
CLOCK_BITS = {
    "OCTOSPI1": (AHB3ENR, 14, AHB3RSTR, 14),
    "OCTOSPI2": (AHB3ENR, 19, AHB3RSTR, 19),
    "OCTOSPIM": (AHB3ENR, 21, AHB3RSTR, 21),
    "FMC": (AHB3ENR, 12, AHB3RSTR, 12),
    "USART1": (APB2ENR, 4, APB2RSTR, 4),
    "USART2": (APB1LENR, 17, APB1LRSTR, 17),
    "USART3": (APB1LENR, 18, APB1LRSTR, 18),
    "UART7": (APB1LENR, 30, APB1LRSTR, 30),
    "RNG": (AHB2ENR, 6, AHB2RSTR, 6),
    "SYSCFG": (APB4ENR, 1, APB4RSTR, 1),
    "USBOTG_HS": (AHB1ENR, 25, AHB1RSTR, 25),
    **{f"GPIO{p}": (AHB4ENR, i, AHB4RSTR, i) for i, p in enumerate("ABCDEFGHIJK")},
}


class Rcc(RegisterBlock):
    RESET = {
        CR: 0x00000025 | CR_DOMAIN_READY,   # HSION, HSIRDY, HSIDIVF (boot trace 2)
        0x04: 0x40000000,                   # HSICFGR: HSITRIM mid-scale
        0x0C: 0x20000000,                   # CSICFGR: CSITRIM mid-scale
        PLLCKSELR: 0x02020200,              # DIVM1..3 = 32
        PLLCFGR: 0x01FF0000,
        PLL1DIVR: 0x01010280, PLL2DIVR: 0x01010280, PLL3DIVR: 0x01010280,
    }

    def __init__(self, machine, block) -> None:
        super().__init__(machine, block)
        self.on_read(CR, self._read_cr)
        self.on_read(CFGR, self._read_cfgr)
        self.on_read(BDCR, self._read_bdcr)
        self.on_read(CSR, self._read_csr)
        self.on_write(RSR, self._write_rsr)
        for reg in (AHB3RSTR, AHB1RSTR, AHB2RSTR, AHB4RSTR, APB3RSTR, APB1LRSTR, APB1HRSTR,
                    APB2RSTR, APB4RSTR):
            self.on_write(reg, self._write_reset_register)
        #: told after writes that change clocks or the AHB3 enables (the OCTOSPI model re-checks its window)
        self.config_listeners: list = []
        for reg in CLOCK_CONFIG:
            self.on_write(reg, self._write_clock_config)

    def _write_clock_config(self, off: int, value: int) -> None:
        self.store_and_tell(off, value, self.config_listeners)

    def reset(self) -> None:
        bdcr = self.regs.get(BDCR, 0) if hasattr(self, "regs") else 0
        super().reset()
        self.regs[BDCR] = bdcr              # backup domain survives a system reset
        self.regs[RSR] = RSR_POWER_ON

    def note_reset(self, software: bool) -> None:
        self.regs[RSR] = RSR_SOFTWARE if software else RSR_POWER_ON
        if not software:
            self.regs[BDCR] = 0

    @staticmethod
    def _alias(offset: int) -> int:
        if ALIAS_BASE <= offset < ALIAS_END:
            return offset - ALIAS_DELTA
        return offset

    def read(self, offset: int, size: int) -> int:
        return super().read(self._alias(offset & ~3) | (offset & 3), size)

    def write(self, offset: int, size: int, value: int) -> None:
        super().write(self._alias(offset & ~3) | (offset & 3), size, value)

    def _read_cr(self, off: int) -> int:
        value = self.regs.get(CR, 0) | CR_DOMAIN_READY
        for on, ready in CR_READY:
            value = (value | (1 << ready)) if value >> on & 1 else (value & ~(1 << ready))
        return value

    def _read_cfgr(self, off: int) -> int:
        value = self.regs.get(CFGR, 0)
        return (value & ~(7 << 3)) | ((value & 7) << 3)

    def _read_bdcr(self, off: int) -> int:
        value = self.regs.get(BDCR, 0)
        return (value | 2) if value & 1 else (value & ~2)     # LSERDY follows LSEON

    def _read_csr(self, off: int) -> int:
        value = self.regs.get(CSR, 0)
        return (value | 2) if value & 1 else (value & ~2)     # LSIRDY follows LSION

    def _write_rsr(self, off: int, value: int) -> None:
        if value & RSR_RMVF:
            self.regs[RSR] = 0
        else:
            self.regs[RSR] = self.regs.get(RSR, 0)

    def _write_reset_register(self, off: int, value: int) -> None:
        rising = value & ~self.regs.get(off, 0)
        self.regs[off] = value
        if not rising:
            return
        for name, (_, _, reg, bit) in CLOCK_BITS.items():
            if reg == off and rising >> bit & 1:
                target = self.machine.peripherals.get(name)
                if target is not None:
                    target.reset()

    # -- queries for other models and tests ---------------------------------------------------
    def clock_enabled(self, name: str) -> bool:
        reg, bit, _, _ = CLOCK_BITS[name]
        return bool(self.regs.get(reg, 0) >> bit & 1)

    def in_reset(self, name: str) -> bool:
        _, _, reg, bit = CLOCK_BITS[name]
        return bool(self.regs.get(reg, 0) >> bit & 1)

    def octospi_kernel_source(self) -> str:
        """CDCCIPR.OCTOSPISEL (bits 5:4), docs/hardware.md#memory-map."""
        return ("hclk", "pll1_q", "pll2_r", "per_ck")[(self.regs.get(CDCCIPR, 0) >> 4) & 3]

    def octospi_kernel_hz(self, board: object) -> int:
        """The OCTOSPI kernel clock OCTOSPISEL selects; 0 when the model cannot tell (per_ck).

        Clocks are ideal: HCLK is the board's, a PLL output is computed from the
        PLL registers the firmware wrote (PLLCKSELR.PLLSRC/DIVMx, PLLxDIVR
        N/P/Q/R as laid out in the CMSIS header; the fractional part is ignored).
        """
        source = self.octospi_kernel_source()
        if source == "hclk":
            return self.hclk_hz(board)
        if source == "pll1_q":
            return self.pll_output_hz(1, 16, board)
        if source == "pll2_r":
            return self.pll_output_hz(2, 24, board)
        return 0

    def hclk_hz(self, board: object) -> int:
        """HCLK: once CFGR.SW selects PLL1, PLL1_P divided by CDCFGR1.CDCPRE and HPRE; before that
        the board's configured HCLK (models driven at register level skip the clock set-up)."""
        if self.regs.get(CFGR, 0) & 7 != 3:
            return int(getattr(board, "hclk_hz", 0) or 0)
        sysclk = self.pll_output_hz(1, 9, board)
        d1 = self.regs.get(CDCFGR1, 0)
        for code in ((d1 >> 8) & 0xF, d1 & 0xF):
            if code & 8:
                sysclk //= AHB_DIVIDERS[code & 7]
        return sysclk

    def pll_output_hz(self, n: int, div_shift: int, board: object) -> int:
        """Output of PLL`n` whose divider sits at `div_shift` in PLLnDIVR."""
        cksel = self.regs.get(PLLCKSELR, 0)
        ref = {0: 64_000_000, 1: 4_000_000, 2: int(getattr(board, "hse_hz", 0) or 0)}.get(cksel & 3, 0)
        divm = (cksel >> (4 + 8 * (n - 1))) & 0x3F
        divr = self.regs.get(PLL1DIVR + 8 * (n - 1), 0)
        if not ref or not divm:
            return 0
        vco = ref // divm * ((divr & 0x1FF) + 1)
        return vco // (((divr >> div_shift) & 0x7F) + 1)
