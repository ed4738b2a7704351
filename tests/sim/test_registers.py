"""Register-level behaviour of the peripheral and SCS models, without running code."""
from __future__ import annotations

import pytest

from h7psram.sim import Machine
from h7psram.sim.mpu import MpuModel, decode_tex_c_b


@pytest.fixture
def m(board):
    machine = Machine(board)
    yield machine
    machine.close()


def rd(m, addr):
    p = m._bus_pages[addr >> 10]
    return p.read(addr - p.base, 4)


def wr(m, addr, value):
    p = m._bus_pages[addr >> 10]
    p.write(addr - p.base, 4, value)


RCC = 0x58024400


def test_rcc_reset_values_and_ready_flags(m):
    assert rd(m, RCC + 0x00) & 0x3F == 0x25               # HSION, HSIRDY, HSIDIVF
    assert rd(m, RCC + 0x28) == 0x02020200
    assert rd(m, RCC + 0x30) == 0x01010280
    for on, ready in ((16, 17), (24, 25), (26, 27), (28, 29), (7, 8), (12, 13)):
        assert not rd(m, RCC) >> ready & 1
        wr(m, RCC, rd(m, RCC) | 1 << on)
        assert rd(m, RCC) >> ready & 1, f"ready bit {ready}"
        wr(m, RCC, rd(m, RCC) & ~(1 << on))
        assert not rd(m, RCC) >> ready & 1
    wr(m, RCC + 0x10, 3)                                   # SW = PLL1
    assert rd(m, RCC + 0x10) == 3 | 3 << 3                 # SWS follows
    wr(m, RCC + 0x70, 1)                                   # LSEON
    assert rd(m, RCC + 0x70) & 2
    wr(m, RCC + 0x74, 1)                                   # LSION
    assert rd(m, RCC + 0x74) & 2


def test_rcc_enable_registers_alias_and_octospi_bits(m):
    rcc = m.rcc
    assert not rcc.clock_enabled("OCTOSPI1")
    wr(m, RCC + 0x134, 1 << 14)                            # AHB3ENR at the CPU alias
    assert rd(m, RCC + 0xD4) == 1 << 14
    assert rcc.clock_enabled("OCTOSPI1")
    wr(m, RCC + 0x140, 0x7FF)                              # AHB4ENR: GPIOA..K
    assert rd(m, RCC + 0xE0) == 0x7FF
    assert rd(m, RCC + 0x130) == 0x00E00000                # RSR after power-on
    wr(m, RCC + 0x130, 1 << 16)                            # RMVF clears
    assert rd(m, RCC + 0x130) == 0
    wr(m, RCC + 0x7C, 1 << 14)
    assert rcc.in_reset("OCTOSPI1")
    wr(m, RCC + 0x4C, 1 << 4)
    assert rcc.octospi_kernel_source() == "pll1_q"


def test_pwr_voltage_scaling_flags(m):
    pwr = 0x58024800
    assert rd(m, pwr + 0x04) & (1 << 13)                   # ACTVOSRDY
    wr(m, pwr + 0x18, 3 << 14)                             # VOS = 3
    assert rd(m, pwr + 0x18) & (1 << 13)                   # VOSRDY
    assert rd(m, pwr + 0x04) >> 14 & 3 == 3                # ACTVOS follows


def test_flash_lock_sequence(m):
    f = 0x52002000
    assert rd(m, f + 0x0C) & 1
    wr(m, f + 0x04, 0x12345678)                            # wrong key: stays locked
    wr(m, f + 0x04, 0xCDEF89AB)
    assert rd(m, f + 0x0C) & 1
    wr(m, f + 0x04, 0x45670123)
    wr(m, f + 0x04, 0xCDEF89AB)
    assert not rd(m, f + 0x0C) & 1
    assert rd(m, f + 0x10C) & 1                            # bank 2 still locked
    assert rd(m, f + 0x00) == 0x13


def test_usart_flags_follow_enables(m):
    u = 0x40004800                                         # USART3
    assert rd(m, u + 0x1C) == 0x008000C0
    wr(m, u + 0x00, 0b1101)                                # UE, RE, TE
    assert rd(m, u + 0x1C) & (3 << 21) == 3 << 21          # TEACK, REACK
    wr(m, u + 0x00, 0b0001)
    assert rd(m, u + 0x1C) & (3 << 21) == 0


def test_gpio_modes_af_and_inputs(m):
    gpiob = 0x58020400
    assert rd(m, gpiob) == 0xFFFFFEBF
    wr(m, gpiob, (rd(m, gpiob) & ~(3 << 4)) | (2 << 4))    # PB2 alternate
    wr(m, gpiob + 0x20, 9 << 8)                            # AF9
    assert m.gpio.mode("B", 2) == "alternate"
    assert m.gpio.alternate_function("B", 2) == 9
    assert m.gpio.alternate_function("B", 5) is None       # analog after reset
    gpioc = 0x58020800
    wr(m, gpioc, rd(m, gpioc) & ~(3 << 26))                # PC13 input
    assert not rd(m, gpioc + 0x10) >> 13 & 1
    m.gpio.set_input("C", 13, 1)
    assert rd(m, gpioc + 0x10) >> 13 & 1
    wr(m, gpioc, (rd(m, gpioc) & ~(3 << 0)) | 1)           # PC0 output
    wr(m, gpioc + 0x18, 1)                                 # BSRR set
    assert m.gpio.output("C", 0) == 1 and rd(m, gpioc + 0x10) & 1
    wr(m, gpioc + 0x18, 1 << 16)
    assert m.gpio.output("C", 0) == 0


def test_usb_core_reset_self_clears(m):
    otg = 0x40040000
    wr(m, otg + 0x10, 1)
    assert rd(m, otg + 0x10) == 1 << 31


def test_rtc_init_handshake_and_calendar(m):
    rtc = 0x58004000
    assert not rd(m, rtc + 0x0C) & (1 << 6)
    wr(m, rtc + 0x0C, 1 << 7)
    assert rd(m, rtc + 0x0C) & (1 << 6)                    # INITF
    wr(m, rtc + 0x00, 0x00235958)                          # 23:59:58
    wr(m, rtc + 0x04, 0x00269231)                          # 2026-12-31, a Thursday (4)
    wr(m, rtc + 0x0C, 0)
    m.cycles += 3 * m.cpu_hz                               # three simulated seconds
    assert rd(m, rtc + 0x00) == 0x00000001
    assert rd(m, rtc + 0x04) & 0xFF1F3F == 0x270101        # 2027-01-01


def test_rng_is_seeded(board):
    values = []
    for _ in range(2):
        m = Machine(board, seed=7)
        wr(m, 0x48021800, 1 << 2)
        assert rd(m, 0x48021804) & 1
        values.append([rd(m, 0x48021808) for _ in range(4)])
        m.close()
    assert values[0] == values[1] and len(set(values[0])) == 4


def test_scs_identification_and_nvic(m):
    scs = m.scs
    assert scs.read(0xED00, 4) == 0x411FC272
    assert scs.read(0xED90, 4) == 16 << 8                  # MPU_TYPE: 16 regions
    scs.write(0xED84, 4, 0)
    assert (scs.read(0xED80, 4) >> 13) & 0x7FFF == 127     # D-cache: 128 sets
    scs.write(0xE100, 4, 1 << 4)                           # ISER0: IRQ 4
    assert 16 + 4 in m.exc.enabled
    scs.write(0xE404, 1, 0xA5)                             # IPR byte of IRQ 4
    assert scs.read(0xE404, 1) == 0xA0                     # 4 priority bits
    scs.write(0xED0C, 4, 0x05FA0300)                       # PRIGROUP 3
    assert scs.read(0xED0C, 4) == 0xFA050300
    scs.write(0xED0C, 4, 0x00000500)                       # wrong key: ignored
    assert scs.read(0xED0C, 4) == 0xFA050300
    scs.write(0xEF60, 4, 0)                                # DCISW counted
    assert scs.cache_ops["DCISW"] == 1
    scs.write(0xED28, 4, 0)
    scs.record_fault(1 << 9, bfar=0x1234)
    assert scs.read(0xED28, 4) == (1 << 9) | (1 << 15)
    scs.write(0xED28, 4, 1 << 9)                           # write-one-to-clear
    assert scs.read(0xED28, 4) == 1 << 15


@pytest.mark.parametrize("tex,c,b,s,kind,cacheable,write_back,shareable", [
    (0, 0, 0, 0, "strongly-ordered", False, False, True),
    (0, 0, 1, 0, "device", False, False, True),
    (0, 1, 0, 0, "normal", True, False, False),
    (0, 1, 1, 0, "normal", True, True, False),
    (1, 0, 0, 1, "normal", False, False, True),
    (1, 0, 1, 0, "reserved", False, False, False),
    (1, 1, 0, 0, "implementation-defined", False, False, False),
    (1, 1, 1, 0, "normal", True, True, False),
    (2, 0, 0, 0, "device", False, False, False),
    (4, 0, 0, 0, "normal", False, False, False),
    (5, 0, 1, 0, "normal", True, True, False),             # inner WB+WRA
    (6, 1, 0, 0, "normal", True, False, False),            # inner WT
    (7, 1, 1, 1, "normal", True, True, True),              # inner WB no-WA
])
def test_tex_c_b_table(tex, c, b, s, kind, cacheable, write_back, shareable):
    assert decode_tex_c_b(tex, c, b, s) == (kind, cacheable, write_back, shareable)


def test_mpu_regions_and_callbacks():
    mpu = MpuModel()
    seen = []
    mpu.on_change(lambda model: seen.append(model.ctrl))
    base = 0x90000000
    assert mpu.attributes(base).enabled is False           # default map: external RAM, WT
    assert mpu.attributes(base).type == "normal" and mpu.attributes(base).xn is False
    assert mpu.attributes(0x40000000).type == "device" and mpu.attributes(0x40000000).xn
    # region 3: 8 MiB at the PSRAM window, TEX=1 C=0 B=0 (normal, non-cacheable), full access, XN
    mpu.write(0xC, base | 0x10 | 3)                        # RBAR with VALID selects region 3
    assert mpu.rnr == 3
    mpu.write(0x10, (1 << 28) | (3 << 24) | (1 << 19) | (22 << 1) | 1)
    mpu.write(0x4, 0b101)                                  # ENABLE | PRIVDEFENA
    assert seen and seen[-1] == 0b101
    a = mpu.attributes(base + 0x7FFFFC)
    assert (a.type, a.cacheable, a.bufferable, a.write_back, a.ap, a.xn, a.enabled, a.region) == \
        ("normal", False, False, False, 3, True, True, 3)
    assert mpu.attributes(base + 0x800000).enabled is False    # past the region: background map
    # a higher-numbered region wins where they overlap: region 5, first 1 MiB write-back
    mpu.write(0xC, base | 0x10 | 5)
    mpu.write(0x10, (3 << 24) | (0b011 << 16) | (19 << 1) | 1)  # C=1 B=1, 1 MiB
    a = mpu.attributes(base + 0x1000)
    assert a.region == 5 and a.write_back and a.bufferable and a.cacheable
    # sub-region 0 of region 5 disabled: region 3 shows through
    mpu.write(0x10, (3 << 24) | (0b011 << 16) | (1 << 8) | (19 << 1) | 1)
    assert mpu.attributes(base + 0x1000).region == 3
    assert mpu.read(0xC) == base | 5                       # RBAR reads back address | region
    # shareable normal cacheable memory is not cached on Cortex-M7 unless CACR.SIWT
    mpu.write(0x10, (3 << 24) | (0b111 << 16) | (19 << 1) | 1)  # S=1 C=1 B=1
    assert mpu.attributes(base).cacheable is False
    mpu.cacr = 1
    a = mpu.attributes(base)
    assert a.cacheable and not a.write_back
    # without PRIVDEFENA an address outside every region has no access
    mpu.write(0x4, 1)
    assert mpu.attributes(0x24000000).ap == 0


def test_unmodelled_access_is_logged_once_and_reads_zero(m, caplog):
    adc1 = 0x40022000                      # ADC12: no model
    with caplog.at_level("WARNING", logger="h7psram.sim"):
        assert m._bus_read(None, adc1 + 8 - 0x40000000, 4) == 0
        assert m._bus_read(None, adc1 + 8 - 0x40000000, 4) == 0
        m._bus_write(None, adc1 + 8 - 0x40000000, 4, 5)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("read" in t and "0x40022008" in t for t in messages) == 1
    assert sum("write" in t and "0x40022008" in t for t in messages) == 1
    assert (0x40022008, "read") in m.unmodelled_accesses


def test_exti_line_from_gpio_edge(m):
    syscfg, exti = 0x58000400, 0x58000000
    wr(m, syscfg + 0x14, 2 << 4)                           # EXTICR4: line 13 <- port C
    wr(m, exti + 0x00, 1 << 13)                            # rising edge
    wr(m, exti + 0x80, 1 << 13)                            # unmasked
    m.gpio.set_input("A", 13, 1)                           # other port: nothing
    assert 16 + 40 not in m.exc.pending
    m.gpio.set_input("C", 13, 1)
    assert rd(m, exti + 0x88) >> 13 & 1
    assert 16 + 40 in m.exc.pending                        # EXTI15_10_IRQn
    wr(m, exti + 0x88, 1 << 13)                            # clear pending
    m.exc.pending.clear()
    m.gpio.set_input("C", 13, 0)                           # falling edge not selected
    assert not rd(m, exti + 0x88)


def test_basic_timer_counts_and_raises_update(m):
    tim6 = 0x40001000
    wr(m, tim6 + 0x28, 279)                                # PSC: 1 MHz ticks at 280 MHz
    wr(m, tim6 + 0x2C, 999)                                # ARR: 1 ms period
    wr(m, tim6 + 0x0C, 1)                                  # UIE
    wr(m, tim6 + 0x00, 1)                                  # CEN
    m.cycles += 280 * 500
    assert 499 <= rd(m, tim6 + 0x24) <= 501
    m.cycles += 280 * 600
    m.events.fire_due(m.cycles)
    assert rd(m, tim6 + 0x10) & 1                          # UIF
    assert 16 + 54 in m.exc.pending                        # TIM6_DAC_IRQn
    wr(m, tim6 + 0x10, 0)
    assert 16 + 54 not in m.exc.level


def test_gpio_undriven_inputs_follow_their_pull(m):
    gpioe = 0x58021000
    wr(m, gpioe, rd(m, gpioe) & ~(3 << 6))                 # PE3 input (DEVEBOX key to ground)
    assert not rd(m, gpioe + 0x10) >> 3 & 1                # no pull: reads 0
    wr(m, gpioe + 0x0C, 1 << 6)                            # pull-up
    assert rd(m, gpioe + 0x10) >> 3 & 1                    # released key reads 1
    m.gpio.set_input("E", 3, 0)                            # the host presses the key
    assert not rd(m, gpioe + 0x10) >> 3 & 1
    m.gpio.release("E", 3)
    assert rd(m, gpioe + 0x10) >> 3 & 1
