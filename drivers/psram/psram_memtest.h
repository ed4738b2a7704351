/*
 * Memory test for the PSRAM window (or any buffer: the host tests run it on
 * ordinary memory).  No output here: the caller formats the result.
 */
#ifndef PSRAM_MEMTEST_H
#define PSRAM_MEMTEST_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    PSRAM_MEMTEST_QUICK = 0, /* data lines, store widths, address lines, patterns on a sample: boot time */
    PSRAM_MEMTEST_FULL = 1,  /* the quick steps, then 8/16/32-bit patterns and address-in-address over all of it */
} psram_memtest_mode_t;

typedef enum {
    PSRAM_MEMTEST_NONE = 0,   /* passed */
    PSRAM_MEMTEST_WALK_ONES,  /* a single 1 walked across a 32-bit word (data lines) */
    PSRAM_MEMTEST_WALK_ZEROS, /* a single 0 walked across a 32-bit word */
    PSRAM_MEMTEST_ADDR_LINES, /* power-of-two offsets: stuck or shorted address lines */
    PSRAM_MEMTEST_PATTERN8,   /* 0xA5 / 0x5A bytes */
    PSRAM_MEMTEST_PATTERN16,  /* 0x5A5A / 0xA5A5 half-words */
    PSRAM_MEMTEST_PATTERN32,  /* 0xA5A5A5A5 / 0x5A5A5A5A words */
    PSRAM_MEMTEST_ADDR_IN_ADDR, /* every word holds its own address, then its complement */
    PSRAM_MEMTEST_BAD_ARGS,   /* base/size unusable (size not a power of two >= 64, misaligned base) */
    /* Store widths: one store of 8/16/32/64 bits at every alignment, around a
     * 1 KiB page boundary and a 32-byte cache line boundary, must change its
     * own bytes and no other (a write narrower than the bus beat that clobbers
     * the rest of its double word fails here).  Failures are reported per
     * byte: width 8, the address of the first wrong byte, the byte it should
     * hold and the byte read. */
    PSRAM_MEMTEST_STORE8,
    PSRAM_MEMTEST_STORE16,
    PSRAM_MEMTEST_STORE32,
    PSRAM_MEMTEST_STORE64,
} psram_memtest_kind_t;

typedef struct {
    uint32_t kind;      /* psram_memtest_kind_t of the first failure, NONE on pass */
    uint32_t width;     /* width in bits of the compared value: 8, 16 or 32 (8 for the store tests) */
    uintptr_t address;  /* absolute address of the failing access */
    size_t offset;      /* same, relative to the tested base */
    uint32_t written;   /* value expected there */
    uint32_t read;      /* value found */
    uint32_t tests_run; /* number of test steps that ran (including the failing one) */
} psram_memtest_result_t;

/* Called after every write phase and before the matching read phase, with the
 * test kind and the range just written: the target drains/invalidates its
 * cache there so the reads come from the chip; the host tests corrupt the
 * buffer there to check what gets reported. */
typedef void (*psram_memtest_sync_fn)(void *ctx, uint32_t kind, volatile void *base, size_t len);

/* Samples the quick mode runs the pattern tests on: the first and last
 * PSRAM_MEMTEST_QUICK_SPAN bytes and the span straddling the middle. */
#define PSRAM_MEMTEST_QUICK_SPAN 4096u

/* Returns 0 on pass, else the failing kind (also in result->kind). */
uint32_t psram_memtest_run(volatile void *base, size_t size, uint32_t mode,
                           psram_memtest_sync_fn sync, void *ctx,
                           psram_memtest_result_t *result);

/* Short name of a test kind for messages ("memtest16", "addrtest", ...). */
const char *psram_memtest_name(uint32_t kind);

#endif /* PSRAM_MEMTEST_H */
