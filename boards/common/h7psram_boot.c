// Board hooks of the reworked H7A3 boards: bring the PSRAM up right after the
// clocks, test it before MicroPython puts its heap there, and take it out of
// the heap (internal RAM only) when it is absent, answers with the wrong ID or
// fails the test. The result is printed once the REPL UART is up.

#include <string.h>

#include "py/mphal.h"
#include "py/mpprint.h"
#include "boardctrl.h"
#include "psram_board.h"
#include "h7psram_boot.h"

h7psram_state_t h7psram_state;

// Split heap: the linker script's table of extra GC areas, in .data so the
// PSRAM entry can be switched off here (MicroPython skips entries of size 0).
typedef struct {
    uint8_t *addr;
    uint32_t size;
} h7psram_gc_block_t;

#if H7PSRAM_HEAP_SPLIT
extern h7psram_gc_block_t _gc_blocks_table_start;
extern h7psram_gc_block_t _gc_blocks_table_end;

static bool in_window(uintptr_t addr) {
    return addr >= PSRAM_BASE && addr < PSRAM_BASE + PSRAM_SIZE;
}
#else
extern uint8_t _heap_start, _heap_end;   // the PSRAM window
extern uint8_t _ebss, _ram_end;          // AXI SRAM left after .bss
#endif

// Between memtest write and read phases: push the written lines out and drop
// them, so the reads come from the chip and not from the D-cache. The driver's
// own maintenance (by address, or by set/way for ranges larger than the cache).
static void memtest_sync(void *ctx, uint32_t kind, volatile void *base, size_t len) {
    (void)ctx;
    (void)kind;
    psram_dcache_sync_range(base, len);
}

uint32_t h7psram_run_memtest(bool quick, psram_memtest_result_t *r) {
    uint32_t kind = psram_memtest_run((volatile void *)PSRAM_BASE, PSRAM_SIZE,
        quick ? PSRAM_MEMTEST_QUICK : PSRAM_MEMTEST_FULL, memtest_sync, NULL, r);
    h7psram_state.memtest = *r;
    h7psram_state.memtest_ran = true;
    return kind;
}

static void drop_psram_from_heap(void) {
    h7psram_state.in_heap = false;
    #if H7PSRAM_HEAP_SPLIT
    for (h7psram_gc_block_t *b = &_gc_blocks_table_start; b < &_gc_blocks_table_end; b++) {
        if (in_window((uintptr_t)b->addr)) {
            b->size = 0;
        }
    }
    #endif
}

void h7psram_board_early_init(void) {
    memset(&h7psram_state, 0, sizeof(h7psram_state));
    h7psram_state.status = psram_init(&h7psram_state.info);
    if (h7psram_state.status != PSRAM_OK) {
        drop_psram_from_heap();
        return;
    }
    h7psram_state.mapped = true;
    psram_memtest_result_t r;
    if (h7psram_run_memtest(true, &r) != PSRAM_MEMTEST_NONE) {
        drop_psram_from_heap();
        return;
    }
    h7psram_state.in_heap = true;
}

void h7psram_print_id(const mp_print_t *print) {
    mp_printf(print, "spiram eid");
    for (size_t i = 0; i < sizeof(h7psram_state.info.id); i++) {
        mp_printf(print, " %02x", h7psram_state.info.id[i]);
    }
    mp_printf(print, "\n");
}

void h7psram_print_memtest(const mp_print_t *print, const psram_memtest_result_t *r) {
    if (r->kind == PSRAM_MEMTEST_NONE) {
        mp_printf(print, "spiram memtest pass\n");
        return;
    }
    // Values printed with as many hex digits as the failing access was wide
    // (MicroPython's printf has no '*' width).
    const char *fmt = "spiram %s fail, address 0x%08x written 0x%08x read 0x%08x\n";
    if (r->width == 8u) {
        fmt = "spiram %s fail, address 0x%08x written 0x%02x read 0x%02x\n";
    } else if (r->width == 16u) {
        fmt = "spiram %s fail, address 0x%08x written 0x%04x read 0x%04x\n";
    }
    mp_printf(print, fmt, psram_memtest_name(r->kind), (unsigned)r->address,
        (unsigned)r->written, (unsigned)r->read);
}

void h7psram_print_failure(const mp_print_t *print) {
    const uint8_t *id = h7psram_state.info.id;
    switch (h7psram_state.status) {
        case PSRAM_OK:
            break;
        case PSRAM_ERR_NOT_FOUND:
            mp_printf(print, "spiram not found, id");
            for (size_t i = 0; i < sizeof(h7psram_state.info.id); i++) {
                mp_printf(print, " %02x", id[i]);
            }
            mp_printf(print, "\n");
            break;
        case PSRAM_ERR_WRONG_MFID:
        case PSRAM_ERR_BAD_KGD:
            mp_printf(print, "spiram wrong id, mfid 0x%02x kgd 0x%02x\n", id[0], id[1]);
            break;
        default:
            mp_printf(print, "spiram init failed, %s\n", psram_status_name(h7psram_state.status));
            break;
    }
}

void h7psram_board_before_soft_reset_loop(boardctrl_state_t *state) {
    boardctrl_before_soft_reset_loop(state);
    // Runs once per hard reset, after the REPL UART is attached and before
    // the heap is set up: the boot lines users know from the original rework.
    if (h7psram_state.status != PSRAM_OK) {
        h7psram_print_failure(&mp_plat_print);
        return;
    }
    h7psram_print_id(&mp_plat_print);
    h7psram_print_memtest(&mp_plat_print, &h7psram_state.memtest);
}

#if !H7PSRAM_HEAP_SPLIT
// Single-heap build: the heap is the PSRAM window, or internal RAM when the
// PSRAM could not be used.
void *h7psram_gc_heap_base(void) {
    return h7psram_state.in_heap ? (void *)&_heap_start : (void *)&_ebss;
}

void *h7psram_gc_heap_limit(void) {
    return h7psram_state.in_heap ? (void *)&_heap_end : (void *)&_ram_end;
}
#endif
