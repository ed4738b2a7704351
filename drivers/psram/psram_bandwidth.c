/*
 * Bandwidth of the memory-mapped PSRAM window (see psram_bandwidth.h).
 *
 * Both directions use 32-bit accesses: that is what the GC and MicroPython's
 * object code mostly do, and the width changes little on this bus -- with
 * the D-cache on, a read miss is a 32-byte line fill whatever the load width,
 * and the store buffer merges two word stores to Normal memory into one
 * 64-bit beat, the same AXI write a 64-bit store gives.  With the D-cache off
 * (the self-test image) every read is its own OCTOSPI command, which is what
 * such code gets.
 */
#include "psram_bandwidth.h"

#include "psram.h"
#include "psram_cpu.h"
#include "psram_regs.h"
#include "psram_timing.h"

/* Cortex-M7 L1 D-cache line (CCSIDR.LineSize on every M7: 8 words). */
#define PSRAM_BANDWIDTH_LINE 32u
#define PSRAM_BANDWIDTH_WORDS (PSRAM_BANDWIDTH_CHUNK / 4u)

/* the loads of the read loop must not be optimised away */
static volatile uint32_t psram_bandwidth_sink;

static void cyccnt_enable(void) {
    /* MicroPython may already run it (mp_hal_ticks_cpu); never restart it */
    if ((PSRAM_REG32(PSRAM_DEMCR) & PSRAM_DEMCR_TRCENA) == 0u) {
        PSRAM_REG32(PSRAM_DEMCR) |= PSRAM_DEMCR_TRCENA;
    }
    if ((PSRAM_REG32(PSRAM_DWT_CTRL) & PSRAM_DWT_CTRL_CYCCNTENA) == 0u) {
        PSRAM_REG32(PSRAM_DWT_LAR) = PSRAM_DWT_LAR_UNLOCK;
        PSRAM_REG32(PSRAM_DWT_CTRL) |= PSRAM_DWT_CTRL_CYCCNTENA;
    }
}

static uint32_t time_read(volatile uint32_t *p) {
    /* drop the lines so the loads below reach the chip, not the cache */
    psram_dcache_sync_range(p, PSRAM_BANDWIDTH_CHUNK);
    /* masked only so an interrupt handler's time is not counted as PSRAM time */
    uint32_t primask = psram_irq_save();
    psram_dsb();
    uint32_t t0 = PSRAM_REG32(PSRAM_DWT_CYCCNT);
    uint32_t sum = 0u;
    for (uint32_t i = 0; i < PSRAM_BANDWIDTH_WORDS; i++) {
        sum += p[i];
    }
    psram_dsb();
    uint32_t cycles = PSRAM_REG32(PSRAM_DWT_CYCCNT) - t0;
    psram_irq_restore(primask);
    psram_bandwidth_sink = sum;
    return cycles;
}

static uint32_t time_write(volatile uint32_t *p) {
    uint32_t saved[PSRAM_BANDWIDTH_WORDS];
    /* masked from the copy to the write-back: no handler may change these
     * words in between, so writing the copy back leaves live data as it was */
    uint32_t primask = psram_irq_save();
    for (uint32_t i = 0; i < PSRAM_BANDWIDTH_WORDS; i++) {
        saved[i] = p[i];
    }
    psram_dsb();
    uint32_t t0 = PSRAM_REG32(PSRAM_DWT_CYCCNT);
    for (uint32_t i = 0; i < PSRAM_BANDWIDTH_WORDS; i++) {
        p[i] = saved[i];
    }
    /* the driver maps the window write-through, so the stores are already on
     * their way and the clean finds nothing; under a write-back attribute it
     * is what sends the data to the chip, and belongs in the time.  The DSB
     * waits until the last write has left the core. */
    for (uint32_t a = 0; a < PSRAM_BANDWIDTH_CHUNK; a += PSRAM_BANDWIDTH_LINE) {
        PSRAM_REG32(PSRAM_SCB_DCCMVAC) = (uint32_t)(uintptr_t)p + a;
    }
    psram_dsb();
    uint32_t cycles = PSRAM_REG32(PSRAM_DWT_CYCCNT) - t0;
    psram_irq_restore(primask);
    return cycles;
}

bool psram_bandwidth_measure(volatile void *base, size_t span, uint32_t cpu_hz, uint32_t clk_hz,
                             psram_bandwidth_t *out) {
    if (span == 0u || span % PSRAM_BANDWIDTH_CHUNK != 0u || ((uintptr_t)base & 3u) != 0u || cpu_hz == 0u) {
        return false;
    }
    cyccnt_enable();
    volatile uint32_t *words = (volatile uint32_t *)base;
    uint32_t read_cycles = 0u, write_cycles = 0u;
    /* timed a piece at a time and summed: the untimed cache maintenance and
     * copies in between are not PSRAM bandwidth */
    for (size_t off = 0; off < span; off += PSRAM_BANDWIDTH_CHUNK) {
        read_cycles += time_read(words + off / 4u);
    }
    for (size_t off = 0; off < span; off += PSRAM_BANDWIDTH_CHUNK) {
        write_cycles += time_write(words + off / 4u);
    }
    out->span = (uint32_t)span;
    out->cpu_hz = cpu_hz;
    out->clk_hz = clk_hz;
    out->read_cycles = read_cycles;
    out->write_cycles = write_cycles;
    out->read_bps = psram_timing_bytes_per_s((uint32_t)span, read_cycles, cpu_hz);
    out->write_bps = psram_timing_bytes_per_s((uint32_t)span, write_cycles, cpu_hz);
    out->limit_bps = psram_timing_bus_limit(clk_hz);
    return true;
}
