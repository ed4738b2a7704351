/* SysTick at 1 kHz from the 280 MHz core clock; main sleeps in WFI between ticks. */
#include "fw.h"

static volatile uint32_t ticks;

void SysTick_Handler(void) { ticks++; }

int main(void) {
    uart_init();
    SYST_RVR = 280000 - 1;
    SYST_CVR = 0;
    SYST_CSR = 7;           /* core clock, interrupt, enable */
    uint32_t wakeups = 0, seen = 0;
    uint32_t cvr_a = SYST_CVR;
    while (ticks < 50) {
        __asm volatile("wfi");
        wakeups++;
        if (ticks / 10 != seen / 10) {
            seen = ticks;
            puts_("tick ");
            putdec(ticks);
            puts_("\r\n");
        }
    }
    SYST_CSR = 0;
    puts_("systick done ticks=");
    putdec(ticks);
    puts_(" wakeups=");
    putdec(wakeups);
    puts_(" cvr=");
    puthex(cvr_a);
    puts_("\r\n");
    return 0;
}
