/*
 * OCTOSPI1 + QSPI PSRAM bring-up (see psram.h and docs/driver.md for the
 * reasoning and the source of every register value).
 */
#include <stddef.h>
#include <stdbool.h>

#include "psram.h"
#include "psram_board.h"
#include "psram_cpu.h"
#include "psram_regs.h"
#include "psram_timing.h"

#ifdef PSRAM_PRESCALER_OVERRIDE
#define PSRAM_RUN_PRESCALER (PSRAM_PRESCALER_OVERRIDE)
#else
#define PSRAM_RUN_PRESCALER (PSRAM_PRESCALER)
#endif

/* Reset and Read ID (0x9F) run before the chip's type is confirmed, so at a
 * slow clock: at most 33 MHz, the lowest 0x9F limit of the supported parts
 * (APS6404L; docs/hardware.md#psram, #clocks), and never above the board part's own
 * limit.  A reworked board with marginal wiring still identifies its chip. */
#define PSRAM_ID_SAFE_CLOCK_HZ 33000000u
#if defined(PSRAM_READ_ID_MAX_CLOCK_HZ) && PSRAM_READ_ID_MAX_CLOCK_HZ < PSRAM_ID_SAFE_CLOCK_HZ
#define PSRAM_ID_MAX_CLOCK_HZ PSRAM_READ_ID_MAX_CLOCK_HZ
#else
#define PSRAM_ID_MAX_CLOCK_HZ PSRAM_ID_SAFE_CLOCK_HZ
#endif
/* Busy loops assume the fastest H7A3 core clock so they are never too short. */
#define PSRAM_CPU_MAX_HZ 280000000u
#define PSRAM_POWER_UP_US 150u
#define PSRAM_RESET_RECOVERY_US 10u
/* Polls of a status bit before giving up: far longer than any command at the
 * slowest clock, short enough that a dead controller is reported quickly. */
#define PSRAM_POLL_LIMIT 1000000u

#define OP_RESET_ENABLE 0x66u
#define OP_RESET 0x99u
#define OP_READ_ID 0x9Fu
#define OP_ENTER_QPI 0x35u
#define OP_EXIT_QPI 0xF5u
#define OP_QUAD_READ 0xEBu
#define OP_QUAD_WRITE 0x38u

#define OSPI_ID_BYTES 8u

static void psram_delay_us(uint32_t us) {
    uint32_t loops = psram_timing_delay_loops(us, PSRAM_CPU_MAX_HZ);
    for (volatile uint32_t i = 0; i < loops; i++) {
        __asm volatile ("nop");
    }
}

const char *psram_status_name(psram_status_t status) {
    switch (status) {
        case PSRAM_OK: return "ok";
        case PSRAM_ERR_CONFIG: return "bad configuration";
        case PSRAM_ERR_CLOCK: return "clock too fast";
        case PSRAM_ERR_IOM: return "io manager routing failed";
        case PSRAM_ERR_TIMEOUT_BUSY: return "timeout waiting for busy";
        case PSRAM_ERR_TIMEOUT_FIFO: return "timeout waiting for fifo";
        case PSRAM_ERR_TIMEOUT_TCF: return "timeout waiting for transfer complete";
        case PSRAM_ERR_TIMEOUT_ABORT: return "timeout waiting for abort";
        case PSRAM_ERR_TRANSFER: return "transfer error";
        case PSRAM_ERR_NOT_FOUND: return "not found";
        case PSRAM_ERR_WRONG_MFID: return "wrong manufacturer id";
        case PSRAM_ERR_BAD_KGD: return "bad known-good-die byte";
    }
    return "unknown";
}

/* ---- MPU and cache -------------------------------------------------- */

static void psram_mpu_set(uint32_t region, uint32_t base, uint32_t rasr) {
    uint32_t primask = psram_irq_save();
    psram_dsb();
    uint32_t ctrl = PSRAM_REG32(PSRAM_MPU_CTRL);
    /* regions are rewritten with the MPU off so no half-written region applies */
    PSRAM_REG32(PSRAM_MPU_CTRL) = 0u;
    PSRAM_REG32(PSRAM_MPU_RNR) = region;
    PSRAM_REG32(PSRAM_MPU_RBAR) = psram_timing_mpu_rbar(base, region);
    PSRAM_REG32(PSRAM_MPU_RASR) = rasr;
    /* PRIVDEFENA keeps the default map for everything no region covers */
    PSRAM_REG32(PSRAM_MPU_CTRL) = ctrl | PSRAM_MPU_CTRL_ENABLE | PSRAM_MPU_CTRL_PRIVDEFENA;
    psram_dsb();
    psram_isb();
    psram_irq_restore(primask);
}

/* Level-1 data cache geometry from CCSIDR; false (after a DSB) when the
 * D-cache is off, so there is nothing to maintain. */
static bool psram_dcache_geometry(uint32_t *sets, uint32_t *ways, uint32_t *line_shift) {
    if ((PSRAM_REG32(PSRAM_SCB_CCR) & PSRAM_SCB_CCR_DC) == 0u) {
        psram_dsb();
        return false;
    }
    PSRAM_REG32(PSRAM_SCB_CSSELR) = 0u;
    psram_dsb();
    uint32_t ccsidr = PSRAM_REG32(PSRAM_SCB_CCSIDR);
    *sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
    *ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    *line_shift = (ccsidr & 0x7u) + 4u;
    return true;
}

static void psram_dcache_sync_all(uint32_t sets, uint32_t ways, uint32_t line_shift) {
    /* clean+invalidate by set/way: 512 operations on the H7A3's 16 KiB cache,
     * far fewer than by address over 8 MiB, and it never drops dirty lines
     * of the write-back internal RAM */
    uint32_t way_bits = 0u;
    while ((1u << way_bits) < ways) {
        way_bits++;
    }
    uint32_t way_shift = way_bits == 0u ? 0u : 32u - way_bits;
    for (uint32_t set = 0; set < sets; set++) {
        for (uint32_t way = 0; way < ways; way++) {
            uint32_t way_field = way_bits == 0u ? 0u : (way << way_shift);
            PSRAM_REG32(PSRAM_SCB_DCCISW) = way_field | (set << line_shift);
        }
    }
    psram_dsb();
    psram_isb();
}

void psram_dcache_sync(void) {
    uint32_t sets, ways, line_shift;
    if (psram_dcache_geometry(&sets, &ways, &line_shift)) {
        psram_dcache_sync_all(sets, ways, line_shift);
    }
}

void psram_dcache_sync_range(volatile void *addr, size_t len) {
    uint32_t sets, ways, line_shift;
    if (!psram_dcache_geometry(&sets, &ways, &line_shift)) {
        return;
    }
    if (len >= ((size_t)(sets * ways) << line_shift)) {
        psram_dcache_sync_all(sets, ways, line_shift);
        return;
    }
    uintptr_t line = (uintptr_t)1u << line_shift;
    uintptr_t end = (uintptr_t)addr + len;
    for (uintptr_t a = (uintptr_t)addr & ~(line - 1u); a < end; a += line) {
        PSRAM_REG32(PSRAM_SCB_DCCIMVAC) = (uint32_t)a;
    }
    psram_dsb();
    psram_isb();
}

/* ---- clocks, IO manager, pins --------------------------------------- */

static void psram_gpio_af(uint32_t port, uint32_t pin, uint32_t af, uint32_t pull) {
    uint32_t base = BOARD_GPIO_BASE(port);
    uint32_t afr = base + (pin < 8u ? PSRAM_GPIO_AFRL : PSRAM_GPIO_AFRH);
    uint32_t afr_shift = (pin & 7u) * 4u;
    uint32_t shift2 = pin * 2u;
    /* alternate function first, mode last: the pin never shows a wrong AF */
    PSRAM_REG32(afr) = (PSRAM_REG32(afr) & ~(0xFu << afr_shift)) | (af << afr_shift);
    PSRAM_REG32(base + PSRAM_GPIO_OSPEEDR) =
        (PSRAM_REG32(base + PSRAM_GPIO_OSPEEDR) & ~(3u << shift2)) | (PSRAM_GPIO_SPEED_VERY_HIGH << shift2);
    PSRAM_REG32(base + PSRAM_GPIO_OTYPER) &= ~(1u << pin);
    PSRAM_REG32(base + PSRAM_GPIO_PUPDR) =
        (PSRAM_REG32(base + PSRAM_GPIO_PUPDR) & ~(3u << shift2)) | (pull << shift2);
    PSRAM_REG32(base + PSRAM_GPIO_MODER) =
        (PSRAM_REG32(base + PSRAM_GPIO_MODER) & ~(3u << shift2)) | (PSRAM_GPIO_MODE_AF << shift2);
}

static void psram_clocks_and_pins(void) {
    PSRAM_REG32(PSRAM_RCC_AHB3ENR) |= PSRAM_RCC_AHB3_OSPI1 | PSRAM_RCC_AHB3_IOMNGR;
    PSRAM_REG32(PSRAM_RCC_AHB4ENR) |= (1u << PSRAM_PIN_CLK_PORT) | (1u << PSRAM_PIN_NCS_PORT) |
                                      (1u << PSRAM_PIN_IO0_PORT) | (1u << PSRAM_PIN_IO1_PORT) |
                                      (1u << PSRAM_PIN_IO2_PORT) | (1u << PSRAM_PIN_IO3_PORT);
    (void)PSRAM_REG32(PSRAM_RCC_AHB4ENR); /* read back: the enable has reached the bus */
    /* pulse the reset of OCTOSPI1 and the IO manager: a warm restart (debugger,
     * MicroPython soft reset path) may have left memory-mapped mode running */
    PSRAM_REG32(PSRAM_RCC_AHB3RSTR) |= PSRAM_RCC_AHB3_OSPI1 | PSRAM_RCC_AHB3_IOMNGR;
    (void)PSRAM_REG32(PSRAM_RCC_AHB3RSTR);
    PSRAM_REG32(PSRAM_RCC_AHB3RSTR) &= ~(PSRAM_RCC_AHB3_OSPI1 | PSRAM_RCC_AHB3_IOMNGR);
    (void)PSRAM_REG32(PSRAM_RCC_AHB3RSTR);

    psram_gpio_af(PSRAM_PIN_NCS_PORT, PSRAM_PIN_NCS_PIN, PSRAM_PIN_NCS_AF, PSRAM_GPIO_PULL_UP);
    psram_gpio_af(PSRAM_PIN_CLK_PORT, PSRAM_PIN_CLK_PIN, PSRAM_PIN_CLK_AF, PSRAM_GPIO_PULL_NONE);
    psram_gpio_af(PSRAM_PIN_IO0_PORT, PSRAM_PIN_IO0_PIN, PSRAM_PIN_IO0_AF, PSRAM_GPIO_PULL_NONE);
    psram_gpio_af(PSRAM_PIN_IO1_PORT, PSRAM_PIN_IO1_PIN, PSRAM_PIN_IO1_AF, PSRAM_GPIO_PULL_NONE);
    psram_gpio_af(PSRAM_PIN_IO2_PORT, PSRAM_PIN_IO2_PIN, PSRAM_PIN_IO2_AF, PSRAM_GPIO_PULL_NONE);
    psram_gpio_af(PSRAM_PIN_IO3_PORT, PSRAM_PIN_IO3_PIN, PSRAM_PIN_IO3_AF, PSRAM_GPIO_PULL_NONE);
}

static psram_status_t psram_route_port1(void) {
    /* OCTOSPIM may only change while both OCTOSPIs are disabled; the RCC
     * reset above has just disabled OCTOSPI1 and OCTOSPI2 is never enabled here */
    PSRAM_REG32(PSRAM_OSPIM_CR) &= ~PSRAM_OSPIM_CR_MUXEN;
    PSRAM_REG32(PSRAM_OSPIM_P1CR) = PSRAM_OSPIM_P1CR_OSPI1_ON_PORT1;
    if (PSRAM_REG32(PSRAM_OSPIM_P1CR) != PSRAM_OSPIM_P1CR_OSPI1_ON_PORT1) {
        return PSRAM_ERR_IOM;
    }
    return PSRAM_OK;
}

/* ---- OCTOSPI primitives --------------------------------------------- */

static psram_status_t ospi_wait_idle(void) {
    for (uint32_t i = 0; i < PSRAM_POLL_LIMIT; i++) {
        if ((PSRAM_REG32(PSRAM_OSPI_SR) & PSRAM_OSPI_SR_BUSY) == 0u) {
            return PSRAM_OK;
        }
    }
    return PSRAM_ERR_TIMEOUT_BUSY;
}

static psram_status_t ospi_wait_complete(void) {
    for (uint32_t i = 0; i < PSRAM_POLL_LIMIT; i++) {
        uint32_t sr = PSRAM_REG32(PSRAM_OSPI_SR);
        if (sr & PSRAM_OSPI_SR_TEF) {
            PSRAM_REG32(PSRAM_OSPI_FCR) = PSRAM_OSPI_FCR_CTEF;
            return PSRAM_ERR_TRANSFER;
        }
        if (sr & PSRAM_OSPI_SR_TCF) {
            PSRAM_REG32(PSRAM_OSPI_FCR) = PSRAM_OSPI_FCR_CTCF;
            return PSRAM_OK;
        }
    }
    return PSRAM_ERR_TIMEOUT_TCF;
}

static psram_status_t ospi_abort(void) {
    if ((PSRAM_REG32(PSRAM_OSPI_CR) & PSRAM_OSPI_CR_EN) == 0u) {
        return PSRAM_OK;
    }
    /* like the HAL, request an abort only while something runs (memory-mapped
     * mode keeps BUSY set); it self-clears when the abort has completed */
    if (PSRAM_REG32(PSRAM_OSPI_SR) & PSRAM_OSPI_SR_BUSY) {
        PSRAM_REG32(PSRAM_OSPI_CR) |= PSRAM_OSPI_CR_ABORT;
        uint32_t i = 0;
        while ((PSRAM_REG32(PSRAM_OSPI_CR) & PSRAM_OSPI_CR_ABORT) != 0u) {
            if (++i == PSRAM_POLL_LIMIT) {
                return PSRAM_ERR_TIMEOUT_ABORT;
            }
        }
    }
    /* leave memory-mapped mode explicitly as well, so no later window access
     * can restart it */
    PSRAM_REG32(PSRAM_OSPI_CR) &= ~(PSRAM_OSPI_CR_FMODE_MASK | PSRAM_OSPI_CR_TCEN);
    PSRAM_REG32(PSRAM_OSPI_FCR) = PSRAM_OSPI_FCR_CTCF | PSRAM_OSPI_FCR_CTEF | PSRAM_OSPI_FCR_CTOF;
    return ospi_wait_idle();
}

typedef struct {
    uint8_t opcode;
    uint8_t instruction_lines; /* PSRAM_OSPI_LINES_* */
    uint8_t address_lines;     /* PSRAM_OSPI_LINES_NONE: no address phase */
    uint8_t data_lines;        /* PSRAM_OSPI_LINES_NONE: no data phase */
    uint8_t dummy_cycles;
} ospi_command_t;

static uint32_t ospi_ccr_of(const ospi_command_t *cmd) {
    uint32_t ccr = ((uint32_t)cmd->instruction_lines << PSRAM_OSPI_CCR_IMODE_POS) |
                   (PSRAM_OSPI_SIZE_8BIT << PSRAM_OSPI_CCR_ISIZE_POS) |
                   ((uint32_t)cmd->data_lines << PSRAM_OSPI_CCR_DMODE_POS);
    if (cmd->address_lines != PSRAM_OSPI_LINES_NONE) {
        ccr |= ((uint32_t)cmd->address_lines << PSRAM_OSPI_CCR_ADMODE_POS) |
               (PSRAM_OSPI_SIZE_24BIT << PSRAM_OSPI_CCR_ADSIZE_POS);
    }
    return ccr;
}

/* One indirect command; with rx_len > 0 it reads that many bytes. */
static psram_status_t ospi_indirect(const ospi_command_t *cmd, uint32_t address,
                                    uint8_t *rx, uint32_t rx_len) {
    psram_status_t st = ospi_wait_idle();
    if (st != PSRAM_OK) {
        return st;
    }
    uint32_t fmode = rx_len ? PSRAM_OSPI_FMODE_INDIRECT_READ : PSRAM_OSPI_FMODE_INDIRECT_WRITE;
    PSRAM_REG32(PSRAM_OSPI_CR) =
        (PSRAM_REG32(PSRAM_OSPI_CR) & ~PSRAM_OSPI_CR_FMODE_MASK) | (fmode << PSRAM_OSPI_CR_FMODE_POS);
    PSRAM_REG32(PSRAM_OSPI_CCR) = ospi_ccr_of(cmd);
    PSRAM_REG32(PSRAM_OSPI_TCR) = PSRAM_OSPI_TCR_SSHIFT | ((uint32_t)cmd->dummy_cycles << PSRAM_OSPI_TCR_DCYC_POS);
    if (rx_len) {
        PSRAM_REG32(PSRAM_OSPI_DLR) = rx_len - 1u;
    }
    /* start rule (docs/hardware.md#octospi-registers): IR starts a command without address,
     * AR starts one with an address, so AR is written last */
    PSRAM_REG32(PSRAM_OSPI_IR) = cmd->opcode;
    if (cmd->address_lines != PSRAM_OSPI_LINES_NONE) {
        PSRAM_REG32(PSRAM_OSPI_AR) = address;
    }
    for (uint32_t n = 0; n < rx_len; n++) {
        uint32_t i = 0;
        for (; i < PSRAM_POLL_LIMIT; i++) {
            uint32_t sr = PSRAM_REG32(PSRAM_OSPI_SR);
            if (sr & PSRAM_OSPI_SR_TEF) {
                PSRAM_REG32(PSRAM_OSPI_FCR) = PSRAM_OSPI_FCR_CTEF;
                return PSRAM_ERR_TRANSFER;
            }
            if ((sr & PSRAM_OSPI_SR_FTF) || (sr & PSRAM_OSPI_SR_FLEVEL_MASK)) {
                break;
            }
        }
        if (i == PSRAM_POLL_LIMIT) {
            return PSRAM_ERR_TIMEOUT_FIFO;
        }
        rx[n] = PSRAM_REG8(PSRAM_OSPI_DR);
    }
    return ospi_wait_complete();
}

/* Controller set-up for one clock: (re)written only while EN = 0. */
static psram_status_t ospi_configure(uint32_t prescaler, uint32_t csht, uint32_t refresh,
                                     uint32_t devsize, uint32_t csbound) {
    PSRAM_REG32(PSRAM_OSPI_CR) &= ~PSRAM_OSPI_CR_EN;
    psram_status_t st = ospi_wait_idle();
    if (st != PSRAM_OK) {
        return st;
    }
    PSRAM_REG32(PSRAM_OSPI_DCR1) = (PSRAM_OSPI_MTYP_APMEMORY << PSRAM_OSPI_DCR1_MTYP_POS) |
                                   (devsize << PSRAM_OSPI_DCR1_DEVSIZE_POS) |
                                   (csht << PSRAM_OSPI_DCR1_CSHT_POS) |
                                   PSRAM_OSPI_DCR1_DLYBYP; /* CKMODE 0, no free-running clock */
    PSRAM_REG32(PSRAM_OSPI_DCR2) = prescaler << PSRAM_OSPI_DCR2_PRESCALER_POS; /* WRAPSIZE 0 */
    PSRAM_REG32(PSRAM_OSPI_DCR3) = csbound << PSRAM_OSPI_DCR3_CSBOUND_POS;     /* MAXTRAN 0 */
    PSRAM_REG32(PSRAM_OSPI_DCR4) = refresh;
    /* FTHRES 0: FTF as soon as one byte is in the FIFO */
    PSRAM_REG32(PSRAM_OSPI_CR) = PSRAM_OSPI_CR_EN;
    return PSRAM_OK;
}

static psram_status_t psram_reset_chip(void) {
    /* The chip may still be in QPI mode after an MCU-only reset: send the
     * reset pair on 4 lines first, then on 1 line (docs/hardware.md#psram). */
    static const uint8_t lines[2] = {PSRAM_OSPI_LINES_4, PSRAM_OSPI_LINES_1};
    for (uint32_t i = 0; i < 2u; i++) {
        ospi_command_t enable = {OP_RESET_ENABLE, lines[i], 0, 0, 0};
        ospi_command_t reset = {OP_RESET, lines[i], 0, 0, 0};
        psram_status_t st = ospi_indirect(&enable, 0, NULL, 0);
        if (st == PSRAM_OK) {
            st = ospi_indirect(&reset, 0, NULL, 0);
        }
        if (st != PSRAM_OK) {
            return st;
        }
    }
    psram_delay_us(PSRAM_RESET_RECOVERY_US);
    return PSRAM_OK;
}

static psram_status_t psram_read_id(uint8_t id[OSPI_ID_BYTES]) {
    /* SPI mode only: 1-line instruction, 24-bit don't-care address, no wait */
    ospi_command_t read_id = {OP_READ_ID, PSRAM_OSPI_LINES_1, PSRAM_OSPI_LINES_1, PSRAM_OSPI_LINES_1, 0};
    psram_status_t st = ospi_indirect(&read_id, 0, id, OSPI_ID_BYTES);
    if (st != PSRAM_OK) {
        return st;
    }
    bool all_ff = true, all_00 = true;
    for (uint32_t i = 0; i < OSPI_ID_BYTES; i++) {
        all_ff = all_ff && id[i] == 0xFFu;
        all_00 = all_00 && id[i] == 0x00u;
    }
    if (all_ff || all_00) {
        return PSRAM_ERR_NOT_FOUND;
    }
    if (id[0] != PSRAM_MFID) {
        return PSRAM_ERR_WRONG_MFID;
    }
    if (id[1] != PSRAM_KGD) {
        return PSRAM_ERR_BAD_KGD;
    }
    return PSRAM_OK;
}

static psram_status_t psram_memory_map(void) {
    psram_status_t st = ospi_wait_idle();
    if (st != PSRAM_OK) {
        return st;
    }
    const uint32_t quad = (PSRAM_OSPI_LINES_4 << PSRAM_OSPI_CCR_IMODE_POS) |
                          (PSRAM_OSPI_SIZE_8BIT << PSRAM_OSPI_CCR_ISIZE_POS) |
                          (PSRAM_OSPI_LINES_4 << PSRAM_OSPI_CCR_ADMODE_POS) |
                          (PSRAM_OSPI_SIZE_24BIT << PSRAM_OSPI_CCR_ADSIZE_POS) |
                          (PSRAM_OSPI_LINES_4 << PSRAM_OSPI_CCR_DMODE_POS);
    /* reads: 0xEB 4-4-4 with the part's wait cycles, DQS off */
    PSRAM_REG32(PSRAM_OSPI_CCR) = quad;
    PSRAM_REG32(PSRAM_OSPI_TCR) = PSRAM_OSPI_TCR_SSHIFT | ((uint32_t)PSRAM_READ_WAIT_CYCLES << PSRAM_OSPI_TCR_DCYC_POS);
    PSRAM_REG32(PSRAM_OSPI_IR) = OP_QUAD_READ;
    /* writes: 0x38 4-4-4, no wait.  DQSE = 1 although the PSRAM has no DQS pin:
     * ES0478 2.7.8 "Memory-mapped write error response when DQS output is
     * disabled" -- without it every memory-mapped write ends in a bus error. */
#ifdef PSRAM_TEST_NO_DQS
    PSRAM_REG32(PSRAM_OSPI_WCCR) = quad;
#else
    PSRAM_REG32(PSRAM_OSPI_WCCR) = quad | PSRAM_OSPI_CCR_DQSE;
#endif
    PSRAM_REG32(PSRAM_OSPI_WTCR) = 0u;
    PSRAM_REG32(PSRAM_OSPI_WIR) = OP_QUAD_WRITE;
    /* release NCS one idle CLK after each access so the chip can refresh
     * (a zero timeout never releases it on this IP generation, docs/hardware.md#memory-mapped) */
    PSRAM_REG32(PSRAM_OSPI_LPTR) = 1u;
    PSRAM_REG32(PSRAM_OSPI_FCR) = PSRAM_OSPI_FCR_CTOF;
    uint32_t cr = PSRAM_REG32(PSRAM_OSPI_CR) & ~PSRAM_OSPI_CR_FMODE_MASK;
#ifndef PSRAM_TEST_NO_TCEN
    cr |= PSRAM_OSPI_CR_TCEN;
#endif
    PSRAM_REG32(PSRAM_OSPI_CR) = cr | (PSRAM_OSPI_FMODE_MEMORY_MAPPED << PSRAM_OSPI_CR_FMODE_POS);
    return PSRAM_OK;
}

/* DCR1.DEVSIZE holds log2(size) - 1 (the device has 2^(DEVSIZE+1) bytes) and
 * DCR3.CSBOUND log2(page size); the header gives both logarithms, the
 * generator has checked that size and page are powers of two. */
#if PSRAM_DEVSIZE < 1 || PSRAM_DEVSIZE - 1 > PSRAM_OSPI_DCR1_DEVSIZE_MAX
#error "psram_board.h: PSRAM_DEVSIZE does not fit DCR1.DEVSIZE"
#endif
/* the reference manual asks for at least 3 when the boundary is used */
#if PSRAM_CSBOUND < 3 || PSRAM_CSBOUND > PSRAM_OSPI_DCR3_CSBOUND_MAX
#error "psram_board.h: PSRAM_CSBOUND does not fit DCR3.CSBOUND"
#endif

typedef struct {
    uint32_t devsize, csbound;
    uint32_t id_prescaler, id_csht, id_refresh;
    uint32_t prescaler, csht, refresh;
    uint32_t rasr_guard, rasr_window;
} psram_plan_t;

/* All derived values, checked before any register is touched. */
static psram_status_t psram_plan(psram_plan_t *p, psram_info_t *info) {
    const uint32_t kernel = PSRAM_KERNEL_CLOCK_HZ;
    p->devsize = PSRAM_DEVSIZE - 1u;
    p->csbound = PSRAM_CSBOUND;
    bool ok = psram_timing_prescaler(kernel, PSRAM_ID_MAX_CLOCK_HZ, &p->id_prescaler) == PSRAM_TIMING_OK &&
              psram_timing_mpu_rasr_guard(PSRAM_OCTOSPI_WINDOW_SIZE, &p->rasr_guard) == PSRAM_TIMING_OK &&
              psram_timing_mpu_rasr_window(PSRAM_SIZE, &p->rasr_window) == PSRAM_TIMING_OK;
    if (!ok || PSRAM_RUN_PRESCALER > PSRAM_OSPI_DCR2_PRESCALER_MAX) {
        return PSRAM_ERR_CONFIG;
    }
    p->prescaler = PSRAM_RUN_PRESCALER;
    /* a slowed-down override must also slow the ID phase, never speed it up */
    if (p->id_prescaler < p->prescaler) {
        p->id_prescaler = p->prescaler;
    }
    uint32_t id_clk = psram_timing_clk_hz(kernel, p->id_prescaler);
    uint32_t clk = psram_timing_clk_hz(kernel, p->prescaler);
    info->kernel_hz = kernel;
    info->id_clk_hz = id_clk;
    info->clk_hz = clk;
    info->prescaler = p->prescaler;
    info->devsize = p->devsize;
    if (clk > PSRAM_MAX_CLOCK_HZ) {
        return PSRAM_ERR_CLOCK;
    }
    /* No REFRESH while resetting and reading the ID: the controller would cut
     * a long Read ID into two commands and the chip restarts its ID for the
     * second one (a slow CLK read "0d 5d 52 0d 5d 52 0d 5d").  The array holds
     * no data yet, so CE# staying low past tCEM for one command loses nothing. */
    p->id_refresh = 0u;
    ok = psram_timing_csht(id_clk, PSRAM_TCPH_NS, &p->id_csht) == PSRAM_TIMING_OK &&
         psram_timing_csht(clk, PSRAM_TCPH_NS, &p->csht) == PSRAM_TIMING_OK &&
         psram_timing_refresh(clk, PSRAM_TCEM_NS, &p->refresh) == PSRAM_TIMING_OK;
    if (!ok) {
        return PSRAM_ERR_CONFIG;
    }
#ifdef PSRAM_TEST_NO_CSBOUND
    p->csbound = 0u;
#endif
#ifdef PSRAM_TEST_NO_REFRESH
    p->refresh = 0u;
#endif
#ifdef PSRAM_TEST_SHORT_CSHT
    p->id_csht = 0u;
    p->csht = 0u;
#endif
    info->refresh = p->refresh;
    info->csht = p->csht;
    info->csbound = p->csbound;
    return PSRAM_OK;
}

static psram_status_t psram_bring_up(psram_info_t *info) {
    psram_plan_t plan;
    psram_status_t st = psram_plan(&plan, info);
    if (st != PSRAM_OK) {
        return st;
    }
    /* close the whole 256 MiB window before the controller changes state */
    psram_mpu_set(PSRAM_MPU_REGION_GUARD, PSRAM_OCTOSPI_WINDOW_BASE, plan.rasr_guard);
    psram_clocks_and_pins();
    st = psram_route_port1();
    if (st != PSRAM_OK) {
        return st;
    }
    /* power-up: 150 us with CE# high before the first command (docs/hardware.md#psram) */
    psram_delay_us(PSRAM_POWER_UP_US);
    st = ospi_configure(plan.id_prescaler, plan.id_csht, plan.id_refresh, plan.devsize, plan.csbound);
    if (st == PSRAM_OK) {
        st = psram_reset_chip();
    }
    if (st == PSRAM_OK) {
        st = psram_read_id(info->id);
    }
    if (st != PSRAM_OK) {
        return st;
    }
    st = ospi_configure(plan.prescaler, plan.csht, plan.refresh, plan.devsize, plan.csbound);
    if (st != PSRAM_OK) {
        return st;
    }
    ospi_command_t enter_qpi = {OP_ENTER_QPI, PSRAM_OSPI_LINES_1, 0, 0, 0};
    st = ospi_indirect(&enter_qpi, 0, NULL, 0);
    if (st != PSRAM_OK) {
        return st;
    }
    st = psram_memory_map();
    if (st != PSRAM_OK) {
        return st;
    }
    /* stale lines from an earlier session must not shadow the chip */
    psram_dcache_sync();
    psram_mpu_set(PSRAM_MPU_REGION_WINDOW, PSRAM_BASE, plan.rasr_window);
    return PSRAM_OK;
}

psram_status_t psram_init(psram_info_t *info) {
    psram_info_t scratch;
    if (info == NULL) {
        info = &scratch;
    }
    for (uint32_t i = 0; i < OSPI_ID_BYTES; i++) {
        info->id[i] = 0u;
    }
    psram_status_t st = psram_bring_up(info);
    if (st != PSRAM_OK && st != PSRAM_ERR_CONFIG && st != PSRAM_ERR_CLOCK) {
        (void)psram_deinit();
    }
    return st;
}

psram_status_t psram_deinit(void) {
    /* close the window first (the guard region below it takes over), so no
     * new access can start while the controller is aborted */
    psram_mpu_set(PSRAM_MPU_REGION_WINDOW, PSRAM_BASE, 0u);
    if ((PSRAM_REG32(PSRAM_RCC_AHB3ENR) & PSRAM_RCC_AHB3_OSPI1) == 0u) {
        return PSRAM_OK; /* controller never clocked: nothing to undo */
    }
    /* the window is write-through, so nothing dirty is left in the cache;
     * the DSB drains the write buffer before the controller stops */
    psram_dsb();
    psram_status_t st = ospi_abort();
    if (st == PSRAM_OK && (PSRAM_REG32(PSRAM_OSPI_CR) & PSRAM_OSPI_CR_EN)) {
        /* back to SPI mode so the next bring-up finds the power-on state;
         * harmless if the chip never entered QPI */
        ospi_command_t exit_qpi = {OP_EXIT_QPI, PSRAM_OSPI_LINES_4, 0, 0, 0};
        st = ospi_indirect(&exit_qpi, 0, NULL, 0);
    }
    PSRAM_REG32(PSRAM_OSPI_CR) &= ~(PSRAM_OSPI_CR_EN | PSRAM_OSPI_CR_FMODE_MASK | PSRAM_OSPI_CR_TCEN);
    return st;
}
