/*
 * PSRAM memory test.  Order follows the usual bus-first strategy: data lines
 * (walking bits), then the write path (every store width and alignment), then
 * address lines (power-of-two offsets), then the array (patterns at every
 * width, address-in-address).  A failure in an earlier step explains most
 * later ones, so the first failure is the one reported.
 */
#include "psram_memtest.h"

typedef struct {
    volatile uint8_t *base;
    size_t size;
    psram_memtest_sync_fn sync;
    void *ctx;
    psram_memtest_result_t *res;
} memtest_t;

static void sync_range(memtest_t *t, uint32_t kind, size_t offset, size_t len) {
    if (t->sync != NULL) {
        t->sync(t->ctx, kind, t->base + offset, len);
    }
}

static uint32_t fail(memtest_t *t, uint32_t kind, uint32_t width, size_t offset,
                     uint32_t written, uint32_t read) {
    psram_memtest_result_t *r = t->res;
    r->kind = kind;
    r->width = width;
    r->offset = offset;
    r->address = (uintptr_t)(t->base + offset);
    r->written = written;
    r->read = read;
    return kind;
}

static volatile uint32_t *word_at(memtest_t *t, size_t offset) {
    return (volatile uint32_t *)(uintptr_t)(t->base + offset);
}

/* Data lines: on a few words spread over the array, each bit alone at 1, then
 * alone at 0.  A quad-SPI IO line carries bits n and n+4 of every byte, so a
 * stuck or shorted IO shows here as a single wrong bit pattern. */
static uint32_t test_walking(memtest_t *t, int ones) {
    const size_t samples[3] = {0u, t->size / 2u, t->size - 4u};
    uint32_t kind = ones ? PSRAM_MEMTEST_WALK_ONES : PSRAM_MEMTEST_WALK_ZEROS;
    t->res->tests_run++;
    for (unsigned s = 0; s < 3u; s++) {
        for (unsigned bit = 0; bit < 32u; bit++) {
            uint32_t value = ones ? (1u << bit) : ~(1u << bit);
            *word_at(t, samples[s]) = value;
            sync_range(t, kind, samples[s], 4u);
            uint32_t got = *word_at(t, samples[s]);
            if (got != value) {
                return fail(t, kind, 32u, samples[s], value, got);
            }
        }
    }
    return PSRAM_MEMTEST_NONE;
}

/* ---- store widths ----------------------------------------------------
 * Each case: a background of distinct non-zero bytes over 64 bytes around a
 * boundary, written with 64-bit stores and pushed to the chip through the
 * sync hook; then a read of the target (write-after-read: on a cacheable
 * window this allocates the line, so the store below hits it), one store,
 * a read of it (read-after-write: served by the store buffer or the cache),
 * the sync hook again, and every byte of the 64 read back from the chip.
 * A store must change exactly its own bytes. */

#define STORE_SPAN 64u  /* bytes checked per case: two cache lines either side of the boundary */

typedef struct __attribute__((packed)) {
    uint16_t v;
} memtest_u16_t;

typedef struct __attribute__((packed)) {
    uint32_t v;
} memtest_u32_t;

/* background byte i: 0x40..0x7F, never 0, different at every position */
static uint8_t store_background(size_t i) {
    return (uint8_t)(0x40u + (i & 0x3Fu));
}

/* stored byte k: 0xC1.., never equal to any background byte */
static uint8_t store_value(size_t k) {
    return (uint8_t)(0xC1u + k);
}

static uint64_t load_width(volatile uint8_t *p, uint32_t bytes) {
    switch (bytes) {
        case 1u: return *p;
        case 2u: return ((volatile memtest_u16_t *)(uintptr_t)p)->v;
        case 4u: return ((volatile memtest_u32_t *)(uintptr_t)p)->v;
        default: return *(volatile uint64_t *)(uintptr_t)p;   /* LDRD: word-aligned is enough */
    }
}

static void store_width(volatile uint8_t *p, uint32_t bytes, uint64_t value) {
    switch (bytes) {
        case 1u: *p = (uint8_t)value; break;
        case 2u: ((volatile memtest_u16_t *)(uintptr_t)p)->v = (uint16_t)value; break;
        case 4u: ((volatile memtest_u32_t *)(uintptr_t)p)->v = (uint32_t)value; break;
        default: *(volatile uint64_t *)(uintptr_t)p = value; break;   /* STRD */
    }
}

/* First byte of `got` (little endian, `bytes` long, at region offset `at`)
 * that differs from what the region should hold; fails with it. */
static uint32_t check_bytes(memtest_t *t, uint32_t kind, size_t region, size_t at, uint32_t bytes,
                            uint64_t got, size_t stored_at, uint32_t stored) {
    for (uint32_t k = 0; k < bytes; k++) {
        size_t i = at + k;
        uint8_t want = (i >= stored_at && i < stored_at + stored) ? store_value(i - stored_at)
                                                                  : store_background(i);
        uint8_t have = (uint8_t)(got >> (8u * k));
        if (have != want) {
            return fail(t, kind, 8u, region + i, want, have);
        }
    }
    return PSRAM_MEMTEST_NONE;
}

static uint32_t store_case(memtest_t *t, uint32_t kind, size_t region, size_t at, uint32_t bytes) {
    volatile uint8_t *p = t->base + region;
    for (size_t i = 0; i < STORE_SPAN; i += 8u) {
        uint64_t dw = 0;
        for (uint32_t k = 0; k < 8u; k++) {
            dw |= (uint64_t)store_background(i + k) << (8u * k);
        }
        store_width(p + i, 8u, dw);
    }
    sync_range(t, kind, region, STORE_SPAN);
    uint32_t k = check_bytes(t, kind, region, at, bytes, load_width(p + at, bytes), at, 0u);
    if (k != PSRAM_MEMTEST_NONE) {
        return k;
    }
    uint64_t value = 0;
    for (uint32_t b = 0; b < bytes; b++) {
        value |= (uint64_t)store_value(b) << (8u * b);
    }
    store_width(p + at, bytes, value);
    k = check_bytes(t, kind, region, at, bytes, load_width(p + at, bytes), at, bytes);
    if (k != PSRAM_MEMTEST_NONE) {
        return k;
    }
    sync_range(t, kind, region, STORE_SPAN);
    for (size_t i = 0; i < STORE_SPAN; i++) {
        k = check_bytes(t, kind, region, i, 1u, p[i], at, bytes);
        if (k != PSRAM_MEMTEST_NONE) {
            return k;
        }
    }
    return PSRAM_MEMTEST_NONE;
}

/* Aligned 64-bit stores first: if a whole double word cannot be stored the
 * fault is not about narrow writes.  Then 32, 16 and 8 bits at all eight
 * offsets of the double word below the boundary (every byte lane, every way
 * of straddling the boundary), and last a 64-bit store at a word-aligned
 * address across two double words (STRD needs word alignment only), which
 * reaches the bus as two narrower writes. */
static uint32_t test_store_widths(memtest_t *t) {
    static const struct { uint32_t kind, bytes, first, step; } steps[5] = {
        {PSRAM_MEMTEST_STORE64, 8u, STORE_SPAN / 2u - 8u, 8u},
        {PSRAM_MEMTEST_STORE32, 4u, STORE_SPAN / 2u - 8u, 1u},
        {PSRAM_MEMTEST_STORE16, 2u, STORE_SPAN / 2u - 8u, 1u},
        {PSRAM_MEMTEST_STORE8, 1u, STORE_SPAN / 2u - 8u, 1u},
        {PSRAM_MEMTEST_STORE64, 8u, STORE_SPAN / 2u - 4u, 8u},
    };
    /* the middle of the array is a 1 KiB page boundary (and a cache line
     * boundary); 64 bytes further on is a cache line boundary inside a page */
    size_t boundaries[2] = {t->size / 2u, t->size / 2u + STORE_SPAN};
    unsigned n_boundaries = t->size >= 4u * STORE_SPAN ? 2u : 1u;
    for (unsigned s = 0; s < 5u; s++) {
        t->res->tests_run++;
        for (unsigned b = 0; b < n_boundaries; b++) {
            size_t region = boundaries[b] - STORE_SPAN / 2u;
            for (size_t at = steps[s].first; at < STORE_SPAN / 2u; at += steps[s].step) {
                uint32_t k = store_case(t, steps[s].kind, region, at, steps[s].bytes);
                if (k != PSRAM_MEMTEST_NONE) {
                    return k;
                }
            }
        }
    }
    return PSRAM_MEMTEST_NONE;
}

/* Address lines: a marker at offset 0 and at every power-of-two word offset.
 * Raising one offset's value must not change any other: if it does, those two
 * addresses alias (a stuck or shorted address line). */
static uint32_t test_address_lines(memtest_t *t) {
    const uint32_t pattern = 0xAAAAAAAAu, anti = 0x55555555u;
    t->res->tests_run++;
    *word_at(t, 0) = pattern;
    for (size_t off = 4u; off < t->size; off <<= 1) {
        *word_at(t, off) = pattern;
    }
    sync_range(t, PSRAM_MEMTEST_ADDR_LINES, 0, t->size);
    /* stuck-high: writing the base must not disturb any power-of-two cell */
    *word_at(t, 0) = anti;
    sync_range(t, PSRAM_MEMTEST_ADDR_LINES, 0, 4u);
    for (size_t off = 4u; off < t->size; off <<= 1) {
        uint32_t got = *word_at(t, off);
        if (got != pattern) {
            return fail(t, PSRAM_MEMTEST_ADDR_LINES, 32u, off, pattern, got);
        }
    }
    *word_at(t, 0) = pattern;
    /* stuck-low and shorted pairs: one cell at a time set to the anti-pattern */
    for (size_t hot = 4u; hot < t->size; hot <<= 1) {
        *word_at(t, hot) = anti;
        sync_range(t, PSRAM_MEMTEST_ADDR_LINES, 0, t->size);
        uint32_t got = *word_at(t, 0);
        if (got != pattern) {
            return fail(t, PSRAM_MEMTEST_ADDR_LINES, 32u, 0, pattern, got);
        }
        for (size_t off = 4u; off < t->size; off <<= 1) {
            if (off == hot) {
                continue;
            }
            got = *word_at(t, off);
            if (got != pattern) {
                return fail(t, PSRAM_MEMTEST_ADDR_LINES, 32u, off, pattern, got);
            }
        }
        *word_at(t, hot) = pattern;
    }
    return PSRAM_MEMTEST_NONE;
}

/* One pattern at one width over [offset, offset+len): write all, then read. */
static uint32_t pattern_pass(memtest_t *t, size_t offset, size_t len, uint32_t width, uint32_t value) {
    uint32_t kind = width == 8u ? PSRAM_MEMTEST_PATTERN8
                  : width == 16u ? PSRAM_MEMTEST_PATTERN16 : PSRAM_MEMTEST_PATTERN32;
    volatile uint8_t *p = t->base + offset;
    size_t step = width / 8u;
    for (size_t i = 0; i < len; i += step) {
        if (width == 8u) {
            p[i] = (uint8_t)value;
        } else if (width == 16u) {
            *(volatile uint16_t *)(uintptr_t)(p + i) = (uint16_t)value;
        } else {
            *(volatile uint32_t *)(uintptr_t)(p + i) = value;
        }
    }
    sync_range(t, kind, offset, len);
    for (size_t i = 0; i < len; i += step) {
        uint32_t got = width == 8u ? p[i]
                     : width == 16u ? *(volatile uint16_t *)(uintptr_t)(p + i) : *(volatile uint32_t *)(uintptr_t)(p + i);
        if (got != value) {
            return fail(t, kind, width, offset + i, value, got);
        }
    }
    return PSRAM_MEMTEST_NONE;
}

static uint32_t test_patterns(memtest_t *t, size_t offset, size_t len) {
    /* 32, 16, then 8 bits, each with a value and its complement so every
     * bit is seen at 0 and at 1 */
    static const struct { uint32_t width, value; } steps[6] = {
        {32u, 0xA5A5A5A5u}, {32u, 0x5A5A5A5Au},
        {16u, 0x5A5Au}, {16u, 0xA5A5u},
        {8u, 0xA5u}, {8u, 0x5Au},
    };
    for (unsigned i = 0; i < 6u; i++) {
        t->res->tests_run++;
        uint32_t k = pattern_pass(t, offset, len, steps[i].width, steps[i].value);
        if (k != PSRAM_MEMTEST_NONE) {
            return k;
        }
    }
    return PSRAM_MEMTEST_NONE;
}

/* Every word holds its own offset (then the complement): an aliased address
 * shows up as a word holding another word's offset. */
static uint32_t test_addr_in_addr(memtest_t *t) {
    for (int invert = 0; invert < 2; invert++) {
        t->res->tests_run++;
        uint32_t mask = invert ? 0xFFFFFFFFu : 0u;
        for (size_t off = 0; off < t->size; off += 4u) {
            *word_at(t, off) = (uint32_t)off ^ mask;
        }
        sync_range(t, PSRAM_MEMTEST_ADDR_IN_ADDR, 0, t->size);
        for (size_t off = 0; off < t->size; off += 4u) {
            uint32_t want = (uint32_t)off ^ mask;
            uint32_t got = *word_at(t, off);
            if (got != want) {
                return fail(t, PSRAM_MEMTEST_ADDR_IN_ADDR, 32u, off, want, got);
            }
        }
    }
    return PSRAM_MEMTEST_NONE;
}

uint32_t psram_memtest_run(volatile void *base, size_t size, uint32_t mode,
                           psram_memtest_sync_fn sync, void *ctx,
                           psram_memtest_result_t *result) {
    memtest_t t = {(volatile uint8_t *)base, size, sync, ctx, result};
    result->kind = PSRAM_MEMTEST_NONE;
    result->width = 0u;
    result->address = 0u;
    result->offset = 0u;
    result->written = 0u;
    result->read = 0u;
    result->tests_run = 0u;
    if (base == NULL || ((uintptr_t)base & 3u) != 0u || size < 64u || (size & (size - 1u)) != 0u) {
        return fail(&t, PSRAM_MEMTEST_BAD_ARGS, 0u, 0u, 0u, 0u);
    }
    uint32_t k = test_walking(&t, 1);
    if (k == PSRAM_MEMTEST_NONE) {
        k = test_walking(&t, 0);
    }
    if (k == PSRAM_MEMTEST_NONE) {
        k = test_store_widths(&t);
    }
    if (k == PSRAM_MEMTEST_NONE) {
        k = test_address_lines(&t);
    }
    if (k != PSRAM_MEMTEST_NONE) {
        return k;
    }
    /* patterns on the first, middle and last spans; the middle span straddles
     * the half-way point, so it also crosses a page boundary.  The full mode
     * runs these first as well: a configuration fault (page wrap, lost
     * refresh) shows up here after a few KiB instead of after 8 MiB. */
    size_t span = size / 4u < PSRAM_MEMTEST_QUICK_SPAN ? size / 4u : PSRAM_MEMTEST_QUICK_SPAN;
    const size_t starts[3] = {0u, size / 2u - span / 2u, size - span};
    for (unsigned i = 0; i < 3u && k == PSRAM_MEMTEST_NONE; i++) {
        k = test_patterns(&t, starts[i], span);
    }
    if (k != PSRAM_MEMTEST_NONE || mode != PSRAM_MEMTEST_FULL) {
        return k;
    }
    k = test_patterns(&t, 0, size);
    if (k == PSRAM_MEMTEST_NONE) {
        k = test_addr_in_addr(&t);
    }
    return k;
}

const char *psram_memtest_name(uint32_t kind) {
    switch (kind) {
        case PSRAM_MEMTEST_NONE: return "memtest";
        case PSRAM_MEMTEST_WALK_ONES: return "walkones";
        case PSRAM_MEMTEST_WALK_ZEROS: return "walkzeros";
        case PSRAM_MEMTEST_ADDR_LINES: return "addrlines";
        case PSRAM_MEMTEST_PATTERN8: return "memtest8";
        case PSRAM_MEMTEST_PATTERN16: return "memtest16";
        case PSRAM_MEMTEST_PATTERN32: return "memtest32";
        case PSRAM_MEMTEST_ADDR_IN_ADDR: return "addrtest";
        case PSRAM_MEMTEST_BAD_ARGS: return "memtest arguments";
        case PSRAM_MEMTEST_STORE8: return "store8";
        case PSRAM_MEMTEST_STORE16: return "store16";
        case PSRAM_MEMTEST_STORE32: return "store32";
        case PSRAM_MEMTEST_STORE64: return "store64";
    }
    return "memtest";
}
