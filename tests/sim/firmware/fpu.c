/* Floating-point state of thread code survives interrupts whose handlers use S0-S15. */
#include "fw.h"

static volatile uint32_t ticks;

void SysTick_Handler(void) {
    ticks++;
    /* Overwrite the caller-saved FP registers: only the exception frame can restore them. */
    __asm volatile(
        "vmov s0, %0\n vmov s1, %0\n vmov s2, %0\n vmov s3, %0\n"
        "vmov s4, %0\n vmov s5, %0\n vmov s6, %0\n vmov s7, %0\n"
        "vmov s8, %0\n vmov s9, %0\n vmov s10, %0\n vmov s11, %0\n"
        "vmov s12, %0\n vmov s13, %0\n vmov s14, %0\n vmov s15, %0\n"
        "vmsr fpscr, %0\n"
        :: "r"(0x7FC00001u) : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10",
           "s11", "s12", "s13", "s14", "s15");
}

__attribute__((noipa)) static double harmonic(uint32_t n) {
    double acc = 0.0, x = 1.0;
    for (uint32_t i = 1; i <= n; i++) {
        acc += 1.0 / x;
        x += 1.0;
    }
    return acc;
}

int main(void) {
    uart_init();
    double quiet = harmonic(20000);
    SYST_RVR = 997;                       /* an interrupt every ~1000 instructions */
    SYST_CVR = 0;
    SYST_CSR = 7;
    double busy = harmonic(20000);
    SYST_CSR = 0;
    union { double d; uint32_t w[2]; } a = {quiet}, b = {busy};
    puts_(a.w[0] == b.w[0] && a.w[1] == b.w[1] ? "fpu ok" : "fpu bad");
    puts_(" ticks ");
    putdec(ticks);
    puts_(" value ");
    puthex(a.w[1]);
    puthex(a.w[0]);
    puts_("\r\n");
    return 0;
}
