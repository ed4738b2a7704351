// PSRAM state shared between the boot hooks and the psram module.
#ifndef H7PSRAM_BOOT_H
#define H7PSRAM_BOOT_H

#include <stdbool.h>
#include "py/mpprint.h"
#include "psram.h"
#include "psram_memtest.h"

typedef struct {
    psram_status_t status;          // what psram_init() returned
    psram_info_t info;              // ID, clocks and register values it chose
    psram_memtest_result_t memtest; // last memtest (boot or psram.memtest())
    bool memtest_ran;
    bool mapped;                    // window at PSRAM_BASE readable/writable
    bool in_heap;                   // the GC heap uses the PSRAM
} h7psram_state_t;

extern h7psram_state_t h7psram_state;

// One line per fact, as printed at boot ("spiram eid ...", "spiram memtest pass").
void h7psram_print_id(const mp_print_t *print);
void h7psram_print_memtest(const mp_print_t *print, const psram_memtest_result_t *r);
void h7psram_print_failure(const mp_print_t *print);

// Quick or full memtest of the whole window; destroys its contents.
uint32_t h7psram_run_memtest(bool quick, psram_memtest_result_t *r);

#endif // H7PSRAM_BOOT_H
