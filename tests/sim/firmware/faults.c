/* Recoverable faults: the handlers report CFSR/BFAR and skip the faulting instruction.
 * Built with -DDIE_SPIN (HardFault handler spins) or -DDIE_LOCKUP (HardFault handler faults)
 * it is the image of firmware that dies. */
#include "fw.h"

#define UNMAPPED 0x60000000u    /* FMC bank 1: nothing mapped in the simulator */

static void report(const char *what, uint32_t *frame) {
    puts_(what);
    puts_(" cfsr=");
    puthex(SCB_CFSR);
    puts_(" hfsr=");
    puthex(SCB_HFSR);
    puts_(" bfar=");
    puthex(SCB_BFAR);
    puts_(" pc=");
    puthex(frame[6]);
    puts_("\r\n");
    SCB_CFSR = SCB_CFSR;            /* write-one-to-clear */
    SCB_HFSR = SCB_HFSR;
    uint16_t insn = *(uint16_t *)frame[6];
    frame[6] += ((insn >> 11) >= 0x1D) ? 4 : 2;   /* step over the instruction */
}

#define HANDLER(name, text) \
    void name##_C(uint32_t *frame) { report(text, frame); } \
    __attribute__((naked)) void name(void) { \
        __asm volatile("tst lr, #4\n ite eq\n mrseq r0, msp\n mrsne r0, psp\n b " #name "_C"); }

#if defined(DIE_SPIN)
void HardFault_Handler(void) { puts_("hardfault, halting\r\n"); for (;;) {} }
#elif defined(DIE_LOCKUP)
void HardFault_Handler(void) { REG(UNMAPPED + 4) = 1; for (;;) {} }
#else
HANDLER(HardFault_Handler, "hardfault")
#endif
HANDLER(BusFault_Handler, "busfault")
HANDLER(UsageFault_Handler, "usagefault")

__attribute__((noinline)) void poke_unmapped(void) { REG(UNMAPPED) = 0x1234; }

int main(void) {
    uart_init();
#if defined(DIE_SPIN) || defined(DIE_LOCKUP)
    puts_("about to die\r\n");
    poke_unmapped();
    puts_("still alive?\r\n");
    return 0;
#else
    volatile uint32_t v = REG(UNMAPPED);          /* HardFault (BusFault not enabled) */
    (void)v;
    puts_("survived read\r\n");
    SCB_SHCSR |= (1u << 17) | (1u << 18);         /* BUSFAULTENA, USGFAULTENA */
    poke_unmapped();                               /* BusFault */
    puts_("survived write\r\n");
    __asm volatile("udf #7");                     /* UsageFault UNDEFINSTR */
    puts_("survived udf\r\n");
    return 0;
#endif
}
