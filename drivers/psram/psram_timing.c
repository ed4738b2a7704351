/*
 * Pure configuration arithmetic for the OCTOSPI PSRAM driver (see
 * psram_timing.h).  All products are done in 64 bits: tCEM in ns times a
 * clock in Hz overflows 32 bits.
 */
#include "psram_timing.h"
#include "psram_regs.h"

#define NS_PER_S 1000000000ull

uint32_t psram_timing_clk_hz(uint32_t kernel_hz, uint32_t prescaler) {
    return kernel_hz / (prescaler + 1u);
}

psram_timing_status_t psram_timing_prescaler(uint32_t kernel_hz, uint32_t max_clk_hz,
                                             uint32_t *prescaler) {
    if (kernel_hz == 0u || max_clk_hz == 0u) {
        return PSRAM_TIMING_ERR_ZERO;
    }
    /* divider = ceil(kernel / max) keeps the clock at or below the limit */
    uint32_t divider = (uint32_t)(((uint64_t)kernel_hz + max_clk_hz - 1u) / max_clk_hz);
    if (divider == 0u) {
        divider = 1u;
    }
    if (divider - 1u > PSRAM_OSPI_DCR2_PRESCALER_MAX) {
        return PSRAM_TIMING_ERR_RANGE;
    }
    *prescaler = divider - 1u;
    return PSRAM_TIMING_OK;
}

psram_timing_status_t psram_timing_refresh(uint32_t clk_hz, uint32_t tcem_ns, uint32_t *refresh) {
    if (clk_hz == 0u || tcem_ns == 0u) {
        return PSRAM_TIMING_ERR_ZERO;
    }
    /* whole CLK cycles that fit in tCEM: rounding down keeps CE# low <= tCEM */
    uint64_t cycles = ((uint64_t)tcem_ns * clk_hz) / NS_PER_S;
    uint64_t reserved = PSRAM_TIMING_READ_REFRESH_OVERHEAD + PSRAM_TIMING_REFRESH_BYTE_MARGIN;
    /* REFRESH = 0 would disable the refresh altogether, so at least 1 must fit */
    if (cycles < reserved + 1u) {
        return PSRAM_TIMING_ERR_RANGE;
    }
    uint64_t value = cycles - reserved;
    if (value > 0xFFFFFFFFull) {
        return PSRAM_TIMING_ERR_RANGE;
    }
    *refresh = (uint32_t)value;
    return PSRAM_TIMING_OK;
}

psram_timing_status_t psram_timing_csht(uint32_t clk_hz, uint32_t tcph_ns, uint32_t *csht) {
    if (clk_hz == 0u) {
        return PSRAM_TIMING_ERR_ZERO;
    }
    /* round up: the high time must reach tCPH, never fall short of it */
    uint64_t cycles = ((uint64_t)tcph_ns * clk_hz + NS_PER_S - 1u) / NS_PER_S;
    if (cycles == 0u) {
        cycles = 1u;
    }
    if (cycles - 1u > PSRAM_OSPI_DCR1_CSHT_MAX) {
        return PSRAM_TIMING_ERR_RANGE;
    }
    *csht = (uint32_t)(cycles - 1u);
    return PSRAM_TIMING_OK;
}

psram_timing_status_t psram_timing_log2(uint32_t value, uint32_t *log2) {
    if (value == 0u) {
        return PSRAM_TIMING_ERR_ZERO;
    }
    if ((value & (value - 1u)) != 0u) {
        return PSRAM_TIMING_ERR_NOT_POW2;
    }
    uint32_t n = 0u;
    while ((value >> n) != 1u) {
        n++;
    }
    *log2 = n;
    return PSRAM_TIMING_OK;
}

/* RASR.SIZE encodes 2^(SIZE+1) bytes; the smallest region is 32 bytes. */
static psram_timing_status_t mpu_size_field(uint32_t size_bytes, uint32_t *field) {
    uint32_t n;
    psram_timing_status_t st = psram_timing_log2(size_bytes, &n);
    if (st != PSRAM_TIMING_OK) {
        return st;
    }
    if (n < 5u) {
        return PSRAM_TIMING_ERR_RANGE;
    }
    *field = n - 1u;
    return PSRAM_TIMING_OK;
}

psram_timing_status_t psram_timing_mpu_rasr_window(uint32_t size_bytes, uint32_t *rasr) {
    uint32_t size_field;
    psram_timing_status_t st = mpu_size_field(size_bytes, &size_field);
    if (st != PSRAM_TIMING_OK) {
        return st;
    }
    /*
     * TEX=000 C=1 B=0: Normal memory, write-through, no write-allocate,
     * non-shareable.  Why this one:
     *  - write-back (TEX=001 C=1 B=1) corrupted data on the reference board
     *    (memtest16 failures, docs/hardware.md#field-reports), and the one success report
     *    (koendv issue #1) came after making the region not bufferable;
     *  - write-through never leaves dirty lines, so aborting memory-mapped
     *    mode or a failing chip cannot lose data sitting in the cache;
     *  - reads stay cached, which the garbage collector's mark phase needs;
     *  - it is also the Cortex-M7 default attribute for 0x80000000-0x9FFFFFFF
     *    (docs/hardware.md#cortex-m7), so enabling the region changes cacheability only by
     *    removing write-allocate hazards, not by adding new ones;
     *  - S=0: a shareable cacheable region is treated as non-cacheable on M7.
     * TEX=001 C=1 B=0 is implementation-defined (hardware.md#cortex-m7) and is avoided.
     */
    *rasr = (0u << PSRAM_MPU_RASR_TEX_POS) | PSRAM_MPU_RASR_C |
            (PSRAM_MPU_AP_FULL << PSRAM_MPU_RASR_AP_POS) |
            (size_field << PSRAM_MPU_RASR_SIZE_POS) | PSRAM_MPU_RASR_ENABLE;
    return PSRAM_TIMING_OK;
}

psram_timing_status_t psram_timing_mpu_rasr_guard(uint32_t size_bytes, uint32_t *rasr) {
    uint32_t size_field;
    psram_timing_status_t st = mpu_size_field(size_bytes, &size_field);
    if (st != PSRAM_TIMING_OK) {
        return st;
    }
    /* Strongly-ordered, no access, execute-never: nothing (not even a
     * speculative read) may touch the window outside the enabled PSRAM part. */
    *rasr = PSRAM_MPU_RASR_XN | (PSRAM_MPU_AP_NO_ACCESS << PSRAM_MPU_RASR_AP_POS) |
            (size_field << PSRAM_MPU_RASR_SIZE_POS) | PSRAM_MPU_RASR_ENABLE;
    return PSRAM_TIMING_OK;
}

uint32_t psram_timing_mpu_rbar(uint32_t base, uint32_t region) {
    return (base & ~0x1Fu) | PSRAM_MPU_RBAR_VALID | (region & 0xFu);
}

uint32_t psram_timing_delay_loops(uint32_t us, uint32_t cpu_hz) {
    uint64_t loops = ((uint64_t)us * cpu_hz + 999999u) / 1000000u;
    if (loops > 0xFFFFFFFFull) {
        loops = 0xFFFFFFFFull;
    }
    return (uint32_t)loops;
}

uint32_t psram_timing_bus_limit(uint32_t clk_hz) {
    return (uint32_t)((uint64_t)clk_hz * 4u / 8u);
}

uint32_t psram_timing_bytes_per_s(uint32_t bytes, uint32_t cycles, uint32_t cpu_hz) {
    if (cycles == 0u) {
        return 0xFFFFFFFFu;
    }
    uint64_t rate = (uint64_t)bytes * cpu_hz / cycles;
    return rate > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)rate;
}
