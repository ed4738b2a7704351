/* Preemption by priority, no preemption at equal/lower priority, BASEPRI and PRIMASK masking. */
#include "fw.h"

static volatile char log_[32];
static volatile uint32_t n_log;
static void mark(char c) { log_[n_log++] = c; }

void IRQ50_Handler(void) {              /* low priority 0xC0 */
    mark('a');
    NVIC_STIR = 51;                      /* higher priority: preempts here */
    dsb_isb();
    mark('b');
}

void IRQ51_Handler(void) {              /* high priority 0x40 */
    mark('H');
}

void IRQ52_Handler(void) {              /* priority 0x40, pends 50 which must wait */
    mark('x');
    NVIC_STIR = 50;
    dsb_isb();
    mark('y');
}

int main(void) {
    uart_init();
    NVIC_IPR(50) = 0xC0;
    NVIC_IPR(51) = 0x40;
    NVIC_IPR(52) = 0x40;
    NVIC_ISER(1) = (1u << 18) | (1u << 19) | (1u << 20);
    NVIC_STIR = 50;                      /* expect a H b */
    dsb_isb();
    mark('|');
    NVIC_STIR = 52;                      /* expect x y a H b */
    dsb_isb();
    mark('|');
    __asm volatile("msr basepri, %0" :: "r"(0x80u));
    NVIC_STIR = 50;                      /* masked by BASEPRI */
    dsb_isb();
    mark('m');
    NVIC_STIR = 51;                      /* 0x40 < 0x80: runs */
    dsb_isb();
    mark('n');
    __asm volatile("msr basepri, %0" :: "r"(0u));
    for (volatile int i = 0; i < 10000; i++) {}   /* 50 is taken within the delay */
    mark('|');
    __asm volatile("cpsid i");
    NVIC_STIR = 51;
    dsb_isb();
    mark('p');
    __asm volatile("cpsie i");
    for (volatile int i = 0; i < 10000; i++) {}
    mark('|');
    log_[n_log] = 0;
    puts_("nest ");
    puts_((const char *)log_);
    puts_("\r\n");
    return 0;
}
