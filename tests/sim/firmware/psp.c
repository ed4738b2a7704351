/* Thread mode on the process stack (CONTROL.SPSEL = 1): interrupts stack on PSP and return to it. */
#include "fw.h"

static uint32_t process_stack[256] __attribute__((aligned(8)));
static volatile uint32_t ticks, exc_return_seen, msp_in_handler;

void SysTick_Handler(void) {
    uint32_t lr, msp;
    __asm volatile("mov %0, lr" : "=r"(lr));
    __asm volatile("mrs %0, msp" : "=r"(msp));
    exc_return_seen = lr;
    msp_in_handler = msp;
    ticks++;
}

__attribute__((noipa)) static float work(uint32_t n) {
    float acc = 0.0f;
    for (uint32_t i = 0; i < n; i++) acc += 0.5f;
    return acc;
}

int main(void) {
    uart_init();
    uint32_t top = (uint32_t)&process_stack[256];
    __asm volatile("msr psp, %0\n mov r0, #2\n msr control, r0\n isb" :: "r"(top) : "r0", "memory");
    uint32_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    SYST_RVR = 2000;
    SYST_CVR = 0;
    SYST_CSR = 7;
    float f = work(20000);
    SYST_CSR = 0;
    uint32_t sp_after, control;
    __asm volatile("mov %0, sp" : "=r"(sp_after));
    __asm volatile("mrs %0, control" : "=r"(control));
    int on_psp = sp > (uint32_t)process_stack && sp <= top;
    puts_(on_psp && sp_after == sp && f == 10000.0f ? "psp ok" : "psp bad");
    puts_(" exc_return=");
    puthex(exc_return_seen);
    puts_(" control=");
    puthex(control);
    puts_(" ticks>10=");
    putdec(ticks > 10);
    puts_(" msp_top=");
    putdec(msp_in_handler > 0x2001D000u);
    puts_("\r\n");
    return 0;
}
