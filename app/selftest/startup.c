/*
 * Start-up code of the self-test image: vector table, reset handler, fault
 * handlers.  The reset handler enables the FPU before any C code runs because
 * the image is built with -mfloat-abi=hard and the compiler may use the FP
 * registers anywhere.
 */
#include <stdint.h>

#include "selftest_uart.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
/* entered from assembly only */
void selftest_c_start(void) __attribute__((noreturn));
void selftest_fault_report(const uint32_t *frame) __attribute__((noreturn));

/* Number of peripheral interrupts on the H7A3 (OCTOSPI2 is IRQ 150). */
#define SELFTEST_IRQ_COUNT 155u

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used))
const vector_t selftest_vectors[16u + SELFTEST_IRQ_COUNT] = {
    [0] = (vector_t)(uintptr_t)&_estack,
    [1] = Reset_Handler,
    [2] = Default_Handler,     /* NMI */
    [3] = HardFault_Handler,
    [4 ... 15] = Default_Handler,
    [16 ... 16u + SELFTEST_IRQ_COUNT - 1u] = Default_Handler,
};

__attribute__((naked, noreturn)) void Reset_Handler(void) {
    /* CPACR: full access to CP10/CP11 (the FPU), then barriers so the next
     * instruction already sees it */
    __asm volatile (
        "ldr r0, =0xE000ED88\n"
        "ldr r1, [r0]\n"
        "orr r1, r1, #(0xF << 20)\n"
        "str r1, [r0]\n"
        "dsb\n"
        "isb\n"
        "ldr r0, =_estack\n"
        "msr msp, r0\n"
        "b selftest_c_start\n"
    );
}

__attribute__((noreturn, used)) void selftest_c_start(void) {
    const uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0u;
    }
    (void)main();
    for (;;) {
        __asm volatile ("wfi");
    }
}

static void idle_forever(void) {
    for (;;) {
        __asm volatile ("wfi");
    }
}

/* frame: r0 r1 r2 r3 r12 lr pc xpsr as stacked by the exception entry */
__attribute__((used, noreturn)) void selftest_fault_report(const uint32_t *frame) {
    uint32_t cfsr = *(volatile uint32_t *)0xE000ED28u;
    uint32_t bfar = *(volatile uint32_t *)0xE000ED38u;
    selftest_uart_puts("hardfault pc 0x");
    selftest_uart_hex(frame[6], 8);
    selftest_uart_puts(" lr 0x");
    selftest_uart_hex(frame[5], 8);
    selftest_uart_puts(" cfsr 0x");
    selftest_uart_hex(cfsr, 8);
    selftest_uart_puts(" bfar 0x");
    selftest_uart_hex(bfar, 8);
    selftest_uart_puts("\r\n");
    selftest_uart_flush();
    idle_forever();
    for (;;) {
    }
}

__attribute__((naked)) void HardFault_Handler(void) {
    /* pick the stack the frame was pushed on (EXC_RETURN bit 2) */
    __asm volatile (
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "b selftest_fault_report\n"
    );
}

void Default_Handler(void) {
    uint32_t ipsr;
    __asm volatile ("mrs %0, ipsr" : "=r" (ipsr));
    selftest_uart_puts("unexpected exception ");
    selftest_uart_dec(ipsr & 0x1FFu);
    selftest_uart_puts("\r\n");
    selftest_uart_flush();
    idle_forever();
}
