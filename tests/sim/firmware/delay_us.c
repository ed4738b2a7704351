/* Busy-wait delays on the SysTick counter, as HAL/MicroPython microsecond delays do. */
#include "fw.h"

static void delay_cycles(uint32_t cycles) {      /* cycles < RVR */
    uint32_t start = SYST_CVR, waited = 0, last = start;
    while (waited < cycles) {
        uint32_t now = SYST_CVR;
        waited += (last >= now) ? last - now : last + 280000u - now;
        last = now;
    }
}

int main(void) {
    uart_init();
    SYST_RVR = 280000 - 1;
    SYST_CVR = 0;
    SYST_CSR = 5;                 /* core clock, no interrupt */
    puts_("start\r\n");
    for (int i = 0; i < 100; i++) delay_cycles(20 * 280);   /* 100 x 20 us */
    puts_("done\r\n");
    return 0;
}
