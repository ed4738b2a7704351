/* Smallest firmware that proves it ran: print a line on USART1 and stop.
 * The message lives in .data so the image has a load address different from
 * its run address, as real firmware does. */
#include <stdint.h>

#define RCC_APB2ENR (*(volatile uint32_t *)(0x58024400u + 0x0F0u))
#define RCC_APB2ENR_USART1EN (1u << 4)
#define USART1_BASE 0x40011000u
#define USART_CR1 (*(volatile uint32_t *)(USART1_BASE + 0x00u))
#define USART_BRR (*(volatile uint32_t *)(USART1_BASE + 0x0Cu))
#define USART_CR1_UE (1u << 0)
#define USART_CR1_TE (1u << 3)
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
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    USART_BRR = 556u; /* 115200 baud from the 64 MHz HSI the chip starts on */
    USART_CR1 = USART_CR1_UE | USART_CR1_TE;
    for (const char *p = message; *p; p++) {
        put(*p);
    }
    while (!(USART_ISR & USART_ISR_TC)) {
    }
#ifdef END_WITH_FAULT
    /* Jump to an address with nothing behind it: the simulator reports a fault. */
    ((void (*)(void))0xFFFFFFF0u)();
#endif
#ifdef LOOP_FOREVER
    /* Keep running until the simulator is told to stop. */
    for (;;) {
        counter++;
    }
#endif
    /* Sleep with interrupts off: nothing can wake the core, so the simulator stops. */
    for (;;) {
        __asm__ volatile("cpsid i\n\twfi");
        counter++;
    }
}

__attribute__((section(".isr_vector"), used))
const uintptr_t vectors[2] = {(uintptr_t)&_estack, (uintptr_t)Reset_Handler};
