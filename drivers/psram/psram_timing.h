/*
 * Pure calculations for the OCTOSPI + PSRAM configuration.
 *
 * Nothing here touches hardware: the host tests compile this file with the
 * host compiler and call every function through ctypes, and the driver uses
 * the same functions with the board facts from psram_board.h.
 */
#ifndef PSRAM_TIMING_H
#define PSRAM_TIMING_H

#include <stdint.h>

typedef enum {
    PSRAM_TIMING_OK = 0,
    PSRAM_TIMING_ERR_ZERO = 1,     /* an input that must be non-zero is zero */
    PSRAM_TIMING_ERR_NOT_POW2 = 2, /* a size that must be a power of two is not */
    PSRAM_TIMING_ERR_RANGE = 3,    /* the result does not fit its register field */
} psram_timing_status_t;

/* Cycles by which a memory-mapped read keeps NCS low beyond REFRESH
 * (DCR4: NCS forced high every REFRESH+1 cycles on writes, REFRESH+4 on reads). */
#define PSRAM_TIMING_READ_REFRESH_OVERHEAD 4u
/* The controller may stretch a refresh to finish the byte in flight; a byte
 * takes 2 CLK cycles on 4 lines, so this much is kept in reserve. */
#define PSRAM_TIMING_REFRESH_BYTE_MARGIN 2u

/* OCTOSPI clock for a DCR2.PRESCALER value: kernel / (prescaler + 1). */
uint32_t psram_timing_clk_hz(uint32_t kernel_hz, uint32_t prescaler);

/* Smallest DCR2.PRESCALER value with clk <= max_clk_hz. */
psram_timing_status_t psram_timing_prescaler(uint32_t kernel_hz, uint32_t max_clk_hz,
                                             uint32_t *prescaler);

/* DCR4.REFRESH so that the longest NCS-low period (a read: REFRESH + 4 cycles,
 * plus the byte margin) stays within tcem_ns at clk_hz. */
psram_timing_status_t psram_timing_refresh(uint32_t clk_hz, uint32_t tcem_ns, uint32_t *refresh);

/* DCR1.CSHT (cycles - 1) so that NCS stays high for at least tcph_ns. */
psram_timing_status_t psram_timing_csht(uint32_t clk_hz, uint32_t tcph_ns, uint32_t *csht);

/* log2 of an exact power of two. */
psram_timing_status_t psram_timing_log2(uint32_t value, uint32_t *log2);

/* MPU RASR word for the PSRAM window (Normal, write-through, not bufferable,
 * full access, executable, region enabled). */
psram_timing_status_t psram_timing_mpu_rasr_window(uint32_t size_bytes, uint32_t *rasr);

/* MPU RASR word for the guard over the whole OCTOSPI1 window: no access,
 * execute-never, so speculative reads never reach an unmapped controller. */
psram_timing_status_t psram_timing_mpu_rasr_guard(uint32_t size_bytes, uint32_t *rasr);

/* MPU RBAR word: base (aligned to the region size by the caller), VALID, region. */
uint32_t psram_timing_mpu_rbar(uint32_t base, uint32_t region);

/* Busy-loop iterations that take at least `us` microseconds when each
 * iteration costs at least one cycle of a CPU running at most at cpu_hz. */
uint32_t psram_timing_delay_loops(uint32_t us, uint32_t cpu_hz);

/* Bytes per second the bus can carry at clk_hz: 4 data lines, one bit each
 * per CLK, single data rate, so clk_hz * 4 / 8. */
uint32_t psram_timing_bus_limit(uint32_t clk_hz);

/* bytes moved in `cycles` CPU cycles at cpu_hz, as bytes per second; a
 * transfer too short to count (0 cycles) or too fast for 32 bits saturates at
 * UINT32_MAX. */
uint32_t psram_timing_bytes_per_s(uint32_t bytes, uint32_t cycles, uint32_t cpu_hz);

#endif /* PSRAM_TIMING_H */
