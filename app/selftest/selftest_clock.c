/*
 * Clock tree of the self-test, equal to what MicroPython sets on these boards
 * (PLL values from the board header, i.e. the dts):
 * HSE 25 MHz -> PLL1 (M=5, N=112, P=2, Q=R=14) -> SYSCLK 280 MHz, AHB /2 ->
 * HCLK 140 MHz (also the OCTOSPI kernel clock, OCTOSPISEL at reset), every
 * APB /2 -> 70 MHz.  280 MHz needs VOS0 (docs/hardware.md#clocks).
 */
#include <stddef.h>

#include "selftest_clock.h"
#include "psram_board.h"
#include "psram_regs.h"

#define PWR_BASE BOARD_PWR_BASE
#define PWR_CSR1 (PWR_BASE + 0x04u)
#define PWR_CR3 (PWR_BASE + 0x0Cu)
#define PWR_SRDCR (PWR_BASE + 0x18u)
#define PWR_CR3_BYPASS (1u << 0)
#define PWR_CR3_LDOEN (1u << 1)
#define PWR_CR3_SMPSEN (1u << 2)
#define PWR_CSR1_ACTVOSRDY (1u << 13)
#define PWR_SRDCR_VOS_MASK (3u << 14)
#define PWR_SRDCR_VOS0 (3u << 14)
#define PWR_SRDCR_VOSRDY (1u << 13)

#define RCC_CR (BOARD_RCC_BASE + 0x00u)
#define RCC_CFGR (BOARD_RCC_BASE + 0x10u)
#define RCC_CDCFGR1 (BOARD_RCC_BASE + 0x18u)
#define RCC_CDCFGR2 (BOARD_RCC_BASE + 0x1Cu)
#define RCC_SRDCFGR (BOARD_RCC_BASE + 0x20u)
#define RCC_PLLCKSELR (BOARD_RCC_BASE + 0x28u)
#define RCC_PLLCFGR (BOARD_RCC_BASE + 0x2Cu)
#define RCC_PLL1DIVR (BOARD_RCC_BASE + 0x30u)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLL1ON (1u << 24)
#define RCC_CR_PLL1RDY (1u << 25)
#define RCC_CFGR_SW_MASK 7u
#define RCC_CFGR_SW_PLL1 3u
#define RCC_CFGR_SWS_POS 3u

#define FLASH_ACR (BOARD_FLASH_REG_BASE + 0x00u)
#define FLASH_ACR_LATENCY_MASK 0xFu

#define PLL1_M ((uint32_t)BOARD_PLL1_M)
#define PLL1_N ((uint32_t)BOARD_PLL1_N)
#define PLL1_P ((uint32_t)BOARD_PLL1_P)
#define PLL1_Q ((uint32_t)BOARD_PLL1_Q)
#define PLL1_R ((uint32_t)BOARD_PLL1_R)
/* the bus dividers below are fixed at AHB /2 and APB /2, as the boards' dts */
#if BOARD_HCLK_HZ * 2u != BOARD_SYSCLK_HZ || BOARD_APB1_HZ * 2u != BOARD_HCLK_HZ || \
    BOARD_APB2_HZ * 2u != BOARD_HCLK_HZ || BOARD_APB3_HZ * 2u != BOARD_HCLK_HZ || \
    BOARD_APB4_HZ * 2u != BOARD_HCLK_HZ
#error "selftest_clock.c programs AHB /2 and every APB /2; the board header says otherwise"
#endif
#if BOARD_HSE_HZ / BOARD_PLL1_M < 4000000u || BOARD_HSE_HZ / BOARD_PLL1_M > 8000000u
#error "selftest_clock.c sets PLL1RGE for a 4-8 MHz reference"
#endif
/* the DEVEBOX board files' value for 280 MHz; more than enough at HCLK 140 MHz */
#define FLASH_WAIT_STATES 7u
#define DIV2 4u /* CDPPRE/CDPPRE1/CDPPRE2/SRDPPRE encoding of /2 */
#define HPRE_DIV2 8u

#define HSI_HZ 64000000u
/* Ready flags come within microseconds to a few milliseconds (crystal);
 * each poll is at least a few ns, so this bounds a wait to well under 1 s. */
#define CLOCK_POLL_LIMIT 2000000u

static int wait_bits(uint32_t reg, uint32_t mask, uint32_t value) {
    for (uint32_t i = 0; i < CLOCK_POLL_LIMIT; i++) {
        if ((PSRAM_REG32(reg) & mask) == value) {
            return 1;
        }
    }
    return 0;
}

static const char *clock_steps(void) {
    /* LQFP100 parts have no SMPS: LDO supply.  CR3 is write-once per power-up. */
    PSRAM_REG32(PWR_CR3) = (PSRAM_REG32(PWR_CR3) & ~(PWR_CR3_SMPSEN | PWR_CR3_BYPASS)) | PWR_CR3_LDOEN;
    if (!wait_bits(PWR_CSR1, PWR_CSR1_ACTVOSRDY, PWR_CSR1_ACTVOSRDY)) {
        return "supply";
    }
    PSRAM_REG32(PWR_SRDCR) = (PSRAM_REG32(PWR_SRDCR) & ~PWR_SRDCR_VOS_MASK) | PWR_SRDCR_VOS0;
    if (!wait_bits(PWR_SRDCR, PWR_SRDCR_VOSRDY, PWR_SRDCR_VOSRDY)) {
        return "vos0";
    }
    PSRAM_REG32(RCC_CR) |= RCC_CR_HSEON;
    if (!wait_bits(RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY)) {
        return "hse";
    }
    /* PLL1: HSE / M = 5 MHz reference (range 4-8 MHz: PLL1RGE = 2), wide VCO */
    PSRAM_REG32(RCC_CR) &= ~RCC_CR_PLL1ON;
    if (!wait_bits(RCC_CR, RCC_CR_PLL1RDY, 0u)) {
        return "pll1 off";
    }
    PSRAM_REG32(RCC_PLLCKSELR) = (PSRAM_REG32(RCC_PLLCKSELR) & ~((0x3Fu << 4) | 3u)) | (PLL1_M << 4) | 2u;
    PSRAM_REG32(RCC_PLLCFGR) = (PSRAM_REG32(RCC_PLLCFGR) & ~0xFu) | (2u << 2) |
                               (1u << 16) | (1u << 17) | (1u << 18);
    PSRAM_REG32(RCC_PLL1DIVR) = (PLL1_N - 1u) | ((PLL1_P - 1u) << 9) | ((PLL1_Q - 1u) << 16) |
                                ((PLL1_R - 1u) << 24);
    PSRAM_REG32(RCC_CR) |= RCC_CR_PLL1ON;
    if (!wait_bits(RCC_CR, RCC_CR_PLL1RDY, RCC_CR_PLL1RDY)) {
        return "pll1";
    }
    /* bus dividers before the switch, so no bus ever runs above its limit */
    PSRAM_REG32(RCC_CDCFGR1) = (DIV2 << 4) | HPRE_DIV2; /* CDCPRE /1, APB3 /2, AHB /2 */
    PSRAM_REG32(RCC_CDCFGR2) = (DIV2 << 8) | (DIV2 << 4); /* APB2 /2, APB1 /2 */
    PSRAM_REG32(RCC_SRDCFGR) = DIV2 << 4;                 /* APB4 /2 */
    PSRAM_REG32(FLASH_ACR) = (PSRAM_REG32(FLASH_ACR) & ~FLASH_ACR_LATENCY_MASK) | FLASH_WAIT_STATES;
    if (!wait_bits(FLASH_ACR, FLASH_ACR_LATENCY_MASK, FLASH_WAIT_STATES)) {
        return "flash latency";
    }
    PSRAM_REG32(RCC_CFGR) = (PSRAM_REG32(RCC_CFGR) & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL1;
    if (!wait_bits(RCC_CFGR, RCC_CFGR_SW_MASK << RCC_CFGR_SWS_POS, RCC_CFGR_SW_PLL1 << RCC_CFGR_SWS_POS)) {
        return "sysclk switch";
    }
    return NULL;
}

void selftest_clock_init(selftest_clock_t *out) {
    out->failed_step = clock_steps();
    if (out->failed_step == NULL) {
        out->sysclk_hz = BOARD_SYSCLK_HZ;
        out->hclk_hz = BOARD_HCLK_HZ;
        out->pclk_hz = BOARD_APB2_HZ;
    } else {
        /* still on HSI; the dividers may or may not have been written yet */
        PSRAM_REG32(RCC_CDCFGR1) = 0u;
        PSRAM_REG32(RCC_CDCFGR2) = 0u;
        PSRAM_REG32(RCC_SRDCFGR) = 0u;
        out->sysclk_hz = HSI_HZ;
        out->hclk_hz = HSI_HZ;
        out->pclk_hz = HSI_HZ;
    }
}
