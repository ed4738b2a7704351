/* Interrupts landing inside IT blocks: the IT state in the stacked xPSR must come back on return. */
#include "fw.h"

static volatile uint32_t ticks;
void SysTick_Handler(void) { ticks++; }

__attribute__((noipa)) static uint32_t mix(uint32_t n) {
    uint32_t a = 1, b = 2;
    for (uint32_t i = 0; i < n; i++) {
        /* four conditional instructions under one ITETE: any lost IT state changes the sum */
        __asm volatile(
            "tst %2, #1\n"
            "itete ne\n"
            "addne %0, %0, %2\n"
            "eoreq %0, %0, %2\n"
            "addne %1, %1, %0\n"
            "subeq %1, %1, #3\n"
            : "+r"(a), "+r"(b) : "r"(i) : "cc");
    }
    return a ^ (b << 1);
}

int main(void) {
    uart_init();
    uint32_t quiet = mix(4000);
    SYST_RVR = 6;                          /* an interrupt every few instructions */
    SYST_CVR = 0;
    SYST_CSR = 7;
    uint32_t busy = mix(4000);
    SYST_CSR = 0;
    puts_(quiet == busy ? "it ok" : "it bad");
    puts_(" ticks>500=");
    putdec(ticks > 500);
    puts_("\r\n");
    return 0;
}
