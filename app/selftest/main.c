/*
 * PSRAM self-test image: clock, REPL UART, PSRAM bring-up, full memtest, then
 * idle.  The lines printed are a contract (docs/selftest.md); tests and the
 * simulator match them, so change them only together with that page.
 */
#include <stdint.h>

#include "psram.h"
#include "psram_bandwidth.h"
#include "psram_board.h"
#include "psram_memtest.h"
#include "selftest_clock.h"
#include "selftest_uart.h"

#ifdef BOARD_REPL_BAUDRATE
#define SELFTEST_BAUD BOARD_REPL_BAUDRATE
#else
#define SELFTEST_BAUD 115200u
#endif

/* the quick mode is for short simulator runs of test builds only */
#ifdef SELFTEST_QUICK_MEMTEST
#define SELFTEST_MEMTEST_MODE PSRAM_MEMTEST_QUICK
#else
#define SELFTEST_MEMTEST_MODE PSRAM_MEMTEST_FULL
#endif

#if PSRAM_KERNEL_CLOCK_HZ != BOARD_HCLK_HZ
#error "the self-test leaves OCTOSPISEL at reset, so the OCTOSPI kernel clock is HCLK"
#endif

static void put_line(const char *s) {
    selftest_uart_puts(s);
    selftest_uart_puts("\r\n");
}

static void put_id(const uint8_t id[8]) {
    for (unsigned i = 0; i < 8u; i++) {
        selftest_uart_putc(' ');
        selftest_uart_hex(id[i], 2);
    }
}

/* between memtest write and read phases: the driver's own cache maintenance,
 * so the reads come from the chip and not from the D-cache */
static void memtest_sync(void *ctx, uint32_t kind, volatile void *base, size_t len) {
    (void)ctx;
    (void)kind;
    psram_dcache_sync_range(base, len);
}

/* bytes/s as MB/s (10^6 bytes) with one decimal, rounded */
static void put_mbps(const char *label, uint32_t bps) {
    uint32_t tenths = bps / 100000u + (bps % 100000u >= 50000u ? 1u : 0u);
    selftest_uart_puts(label);
    selftest_uart_dec(tenths / 10u);
    selftest_uart_putc('.');
    selftest_uart_dec(tenths % 10u);
    selftest_uart_puts(" MB/s");
}

/* After a passing memtest only (the figures of a failing chip mean nothing),
 * at the window start: nothing lives there (the measurement keeps the
 * contents anyway).  CYCCNT counts the core clock, SYSCLK here (CDCPRE /1). */
static void report_bandwidth(const selftest_clock_t *clock, const psram_info_t *info) {
    psram_bandwidth_t bw;
    if (!psram_bandwidth_measure((volatile void *)PSRAM_BASE, PSRAM_BANDWIDTH_SPAN, clock->sysclk_hz,
                                 info->clk_hz, &bw)) {
        return;
    }
    put_mbps("spiram bandwidth read ", bw.read_bps);
    put_mbps(" write ", bw.write_bps);
    put_mbps(" limit ", bw.limit_bps);
    put_line("");
}

static void report_init_failure(psram_status_t st, const psram_info_t *info) {
    switch (st) {
        case PSRAM_ERR_NOT_FOUND:
            selftest_uart_puts("spiram not found, id");
            put_id(info->id);
            put_line("");
            break;
        case PSRAM_ERR_WRONG_MFID:
        case PSRAM_ERR_BAD_KGD:
            selftest_uart_puts("spiram wrong id, mfid 0x");
            selftest_uart_hex(info->id[0], 2);
            selftest_uart_puts(" kgd 0x");
            selftest_uart_hex(info->id[1], 2);
            put_line("");
            break;
        default:
            selftest_uart_puts("spiram init fail, ");
            put_line(psram_status_name(st));
            break;
    }
}

static void report_memtest_failure(const psram_memtest_result_t *r) {
    unsigned digits = r->width / 4u;
    selftest_uart_puts("spiram ");
    selftest_uart_puts(psram_memtest_name(r->kind));
    selftest_uart_puts(" fail, address 0x");
    selftest_uart_hex((uint32_t)r->address, 8);
    selftest_uart_puts(" written 0x");
    selftest_uart_hex(r->written, digits);
    selftest_uart_puts(" read 0x");
    selftest_uart_hex(r->read, digits);
    put_line("");
}

#ifdef SELFTEST_REINIT
/* Test build only.  First psram_init() again with the chip still in QPI mode
 * and the controller memory-mapped, as after a warm restart of the firmware
 * (exercises the 4-line reset); then psram_deinit() and psram_init(). */
static uint32_t reinit_and_quick_test(psram_memtest_result_t *result) {
    static const char *const stage[2] = {"spiram warm restart", "spiram reinit"};
    for (unsigned i = 0; i < 2u; i++) {
        psram_status_t st = i == 0u ? PSRAM_OK : psram_deinit();
        if (st == PSRAM_OK) {
            psram_info_t again;
            st = psram_init(&again);
        }
        if (st != PSRAM_OK) {
            selftest_uart_puts(stage[i]);
            selftest_uart_puts(" fail, ");
            put_line(psram_status_name(st));
            return PSRAM_MEMTEST_BAD_ARGS;
        }
        uint32_t kind = psram_memtest_run((volatile void *)PSRAM_BASE, PSRAM_SIZE, PSRAM_MEMTEST_QUICK,
                                          memtest_sync, 0, result);
        if (kind != PSRAM_MEMTEST_NONE) {
            report_memtest_failure(result);
            return kind;
        }
        selftest_uart_puts(stage[i]);
        put_line(" pass");
    }
    return PSRAM_MEMTEST_NONE;
}
#endif

int main(void) {
    selftest_clock_t clock;
    selftest_clock_init(&clock);
    selftest_uart_init(clock.pclk_hz, SELFTEST_BAUD);
    put_line("psram selftest " PSRAM_BOARD_NAME);
    if (clock.failed_step != 0) {
        /* the PSRAM timing is computed for HCLK 140 MHz: do not run it slower */
        selftest_uart_puts("selftest clock fail, ");
        put_line(clock.failed_step);
        selftest_uart_flush();
        return 1;
    }

    psram_info_t info;
    psram_status_t st = psram_init(&info);
    if (st != PSRAM_OK) {
        report_init_failure(st, &info);
        selftest_uart_flush();
        return 1;
    }
    selftest_uart_puts("spiram eid");
    put_id(info.id);
    put_line("");

    psram_memtest_result_t result;
    uint32_t kind = psram_memtest_run((volatile void *)PSRAM_BASE, PSRAM_SIZE, SELFTEST_MEMTEST_MODE,
                                      memtest_sync, 0, &result);
    if (kind == PSRAM_MEMTEST_NONE) {
        put_line("spiram memtest pass");
    } else {
        report_memtest_failure(&result);
    }
#ifdef SELFTEST_REINIT
    /* test build only: leave memory-mapped mode and bring the chip up again,
     * as a warm restart of the firmware would */
    if (kind == PSRAM_MEMTEST_NONE) {
        kind = reinit_and_quick_test(&result);
    }
#endif
    if (kind == PSRAM_MEMTEST_NONE) {
        report_bandwidth(&clock, &info);
    }
    selftest_uart_flush();
    return kind == PSRAM_MEMTEST_NONE ? 0 : 1;
}
