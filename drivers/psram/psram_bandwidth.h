/*
 * Read and write bandwidth of the memory-mapped PSRAM window, measured by the
 * CPU with the DWT cycle counter, next to what the bus could carry.
 */
#ifndef PSRAM_BANDWIDTH_H
#define PSRAM_BANDWIDTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Measured span and the piece timed at once: one 1 KiB PSRAM page, so a
 * piece never adds a CSBOUND split of its own, and short enough that masking
 * interrupts for it (tens of microseconds) loses no UART byte. */
#define PSRAM_BANDWIDTH_SPAN 65536u
#define PSRAM_BANDWIDTH_CHUNK 1024u

typedef struct {
    uint32_t read_bps;     /* bytes per second read through the window */
    uint32_t write_bps;    /* bytes per second written */
    uint32_t limit_bps;    /* what 4 lines at clk_hz carry: clk_hz / 2 */
    uint32_t clk_hz;       /* the OCTOSPI clock given */
    uint32_t cpu_hz;       /* the core clock CYCCNT counts */
    uint32_t span;         /* bytes read and bytes written */
    uint32_t read_cycles;  /* CPU cycles the reads took, summed over the pieces */
    uint32_t write_cycles; /* the same for the writes */
} psram_bandwidth_t;

/* Time 32-bit reads and then 32-bit writes over [base, base + span) (span a
 * multiple of PSRAM_BANDWIDTH_CHUNK, base word aligned).  The contents are
 * kept: each piece is copied to the stack and written back as it was, with
 * interrupts masked in between, so live data (the GC heap) survives.  Memory
 * a DMA may write at the same time must not be measured.  false for bad
 * arguments. */
bool psram_bandwidth_measure(volatile void *base, size_t span, uint32_t cpu_hz, uint32_t clk_hz,
                             psram_bandwidth_t *out);

#endif /* PSRAM_BANDWIDTH_H */
