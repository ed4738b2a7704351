/* 280 MHz system clock from the 25 MHz crystal (docs/hardware.md#clocks). */
#ifndef SELFTEST_CLOCK_H
#define SELFTEST_CLOCK_H

#include <stdint.h>

typedef struct {
    const char *failed_step; /* NULL when every step completed */
    uint32_t sysclk_hz;
    uint32_t hclk_hz;
    uint32_t pclk_hz;        /* every APB bus runs at this */
} selftest_clock_t;

/* Never hangs: a step that times out leaves the clock on the 64 MHz HSI
 * and names itself in failed_step. */
void selftest_clock_init(selftest_clock_t *out);

#endif /* SELFTEST_CLOCK_H */
