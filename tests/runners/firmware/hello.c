/* Smallest firmware that proves it ran: print a line on USART1 and stop.
 * The message lives in .data so the image has a load address different from
 * its run address, as real firmware does. */
#include <stdint.h>

#define USART1_BASE 0x40011000u
#define USART_ISR (*(volatile uint32_t *)(USART1_BASE + 0x1Cu))
#define USART_TDR (*(volatile uint32_t *)(USART1_BASE + 0x28u))
#define USART_ISR_TXE (1u << 7)
#define USART_ISR_TC (1u << 6)

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;

char message[] = "hello from west flash\r\n";
static volatile uint32_t counter;

static void put(char c) {
    while (!(USART_ISR & USART_ISR_TXE)) {
    }
    USART_TDR = (uint8_t)c;
}

void Reset_Handler(void) {
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    for (const char *p = message; *p; p++) {
        put(*p);
    }
    while (!(USART_ISR & USART_ISR_TC)) {
    }
    /* A fault ends the simulator with a report (exit 3); tests use it as "done". */
    ((void (*)(void))0xFFFFFFF0u)();
    for (;;) {
        counter++;
    }
}

__attribute__((section(".isr_vector"), used))
const uintptr_t vectors[2] = {(uintptr_t)&_estack, (uintptr_t)Reset_Handler};
