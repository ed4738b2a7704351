/* The wait idiom of MicroPython's DMA and other drivers: mask, test the flag, sleep with
 * interrupts masked (WFI still wakes on a pending one), unmask so the handler runs, repeat.
 * Once with `msr primask` restoring the saved state, once with `cpsie i`. */
#include "fw.h"

static volatile uint32_t ticks;

void SysTick_Handler(void) { ticks++; }

static uint32_t wait_msr(uint32_t until) {
    uint32_t loops = 0;
    for (;;) {
        uint32_t state;
        __asm volatile("mrs %0, primask\n cpsid i" : "=r"(state) :: "memory");
        if (ticks >= until) {
            __asm volatile("msr primask, %0" :: "r"(state) : "memory");
            return loops;
        }
        __asm volatile("wfi\n msr primask, %0" :: "r"(state) : "memory");
        loops++;
    }
}

static uint32_t wait_cpsie(uint32_t until) {
    uint32_t loops = 0;
    for (;;) {
        __asm volatile("cpsid i" ::: "memory");
        if (ticks >= until) {
            __asm volatile("cpsie i" ::: "memory");
            return loops;
        }
        __asm volatile("wfi\n cpsie i" ::: "memory");
        loops++;
    }
}

int main(void) {
    uart_init();
    SYST_RVR = 280000 - 1;
    SYST_CVR = 0;
    SYST_CSR = 7;           /* core clock, interrupt, enable */
    uint32_t a = wait_msr(10);
    uint32_t b = wait_cpsie(20);
    SYST_CSR = 0;
    puts_("masked wfi ticks=");
    putdec(ticks);
    puts_(" msr loops=");
    putdec(a);
    puts_(" cpsie loops=");
    putdec(b);
    puts_("\r\n");
    return 0;
}
