/* Stores of one width into the PSRAM window, then a read-back, as a memory test does.
 *
 * The host configures OCTOSPI1 and the MPU, fills `params` (NOINIT, fixed
 * address) and runs the image; the results land in the same block. Steps:
 * enable the D-cache (invalidate all by set/way, then CCR.DC) when asked;
 * write `count` values of `width` bytes at base + misalign, one after the
 * other (mode 0) or each followed by a DSB so the store buffer drains it
 * alone (mode 1); DSB, clean and invalidate the range by address (as the
 * driver's memtest sync does); read everything back with the same width. */
#include "fw.h"

#define SCB_CCR REG(0xE000ED14)
#define DCISW REG(0xE000EF60)
#define DCCIMVAC REG(0xE000EF70)

struct params {
    uint32_t base, count, width, misalign, mode, dcache, seed;
    uint32_t done, errors, fail_addr, written_lo, written_hi, read_lo, read_hi;
};
__attribute__((section(".noinit"))) volatile struct params params;

static inline void dsb(void) { __asm volatile("dsb" ::: "memory"); }

static uint64_t value_at(uint32_t i) {
    /* no zero byte anywhere, so a zeroed byte always shows */
    uint64_t v = (uint64_t)(i * 0x9E3779B1u + params.seed) << 32 | (i * 0x85EBCA77u + 0x5Au);
    return v | 0x0101010101010101ull;
}

static void store(uint32_t addr, uint32_t width, uint64_t v) {
    switch (width) {
    case 1: *(volatile uint8_t *)addr = (uint8_t)v; break;
    case 2: *(volatile uint16_t *)addr = (uint16_t)v; break;
    case 4: *(volatile uint32_t *)addr = (uint32_t)v; break;
    default:
        if (addr & 7) {      /* STRD needs word alignment: two word stores */
            *(volatile uint32_t *)addr = (uint32_t)v;
            *(volatile uint32_t *)(addr + 4) = (uint32_t)(v >> 32);
        } else {
            *(volatile uint64_t *)addr = v;
        }
    }
}

static uint64_t load(uint32_t addr, uint32_t width) {
    switch (width) {
    case 1: return *(volatile uint8_t *)addr;
    case 2: return *(volatile uint16_t *)addr;
    case 4: return *(volatile uint32_t *)addr;
    default:
        return *(volatile uint32_t *)addr | (uint64_t)*(volatile uint32_t *)(addr + 4) << 32;
    }
}

int main(void) {
    uint32_t width = params.width, n = params.count;
    uint32_t start = params.base + params.misalign;
    uint64_t mask = width == 8 ? ~0ull : (1ull << (8 * width)) - 1;
    if (params.dcache) {
        for (uint32_t set = 0; set < 128; set++)
            for (uint32_t way = 0; way < 4; way++) DCISW = way << 30 | set << 5;
        dsb();
        SCB_CCR |= 1u << 16;
        dsb_isb();
    }
    for (uint32_t i = 0; i < n; i++) {
        store(start + i * width, width, value_at(i));
        if (params.mode == 1) dsb();
    }
    dsb();
    for (uint32_t a = params.base & ~31u; a < start + n * width; a += 32) DCCIMVAC = a;
    dsb();
    params.errors = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t want = value_at(i) & mask, got = load(start + i * width, width) & mask;
        if (got != want) {
            if (!params.errors) {
                params.fail_addr = start + i * width;
                params.written_lo = (uint32_t)want;
                params.written_hi = (uint32_t)(want >> 32);
                params.read_lo = (uint32_t)got;
                params.read_hi = (uint32_t)(got >> 32);
            }
            params.errors++;
        }
    }
    params.done = 1;
    return 0;
}
