/*
 * Cortex-M7 barriers and interrupt masking shared by the driver's files.
 * Inline assembly rather than CMSIS so the driver builds without any vendor
 * header (the self-test image has none).
 */
#ifndef PSRAM_CPU_H
#define PSRAM_CPU_H

#include <stdint.h>

static inline void psram_dsb(void) {
    __asm volatile ("dsb 0xF" ::: "memory");
}

static inline void psram_isb(void) {
    __asm volatile ("isb 0xF" ::: "memory");
}

static inline uint32_t psram_irq_save(void) {
    uint32_t primask;
    __asm volatile ("mrs %0, primask\n\tcpsid i" : "=r" (primask) :: "memory");
    return primask;
}

static inline void psram_irq_restore(uint32_t primask) {
    __asm volatile ("msr primask, %0" :: "r" (primask) : "memory");
}

#endif /* PSRAM_CPU_H */
